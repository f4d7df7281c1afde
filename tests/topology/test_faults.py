"""Faults the production topology must survive, each provoked for real on the running processes.

Every run here is glosa_clustering over the same sample month as the clean run
(``glosa_clean_run``), so "none duplicated, none lost" is checked by comparing the
warehouse partition with the clean run's: row counts per table and the month's money.
The topology runs with short heartbeat/orphan timeouts (``VIGIA_TOPOLOGY_FAST_FAULTS``);
the DAGs' own retries (2, 30 s base delay, exponential backoff) do the rest.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.topology.conftest import GLOSA_CONF, glosa_counts

DAG = "glosa_clustering"
WORKERS = ("worker-1", "worker-2")


# --- helpers ----------------------------------------------------------------------------
def _procs() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, cmdline) of every process we can read."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        out[int(d.name)] = (int(fields[1]), int(fields[2]), cmd)
    return out


def worker_running(topology, ti_id: str) -> str | None:
    """Which Celery worker's process group holds the supervisor of this task instance."""
    groups = {topology.pid(w): w for w in WORKERS}
    for _pid, (_ppid, pgid, cmd) in _procs().items():
        if f"airflow supervisor: {ti_id}" in cmd and pgid in groups:
            return groups[pgid]
    return None


def kill_worker(topology, worker: str) -> list[int]:
    """SIGKILL the worker's process group and every process under it (task processes run in
    their own groups): a worker machine that dies, nothing left to finish or clean up."""
    root = topology.pid(worker)
    procs = _procs()
    doomed, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _pgid, _cmd) in procs.items():
            if ppid == parent and pid not in doomed:
                doomed.add(pid)
                frontier.append(pid)
    os.killpg(root, signal.SIGKILL)
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return sorted(doomed)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def tries(api, run_id: str) -> dict[tuple[str, int], int]:
    return {(t["task_id"], t["map_index"]): t["try_number"] for t in api.task_instances(DAG, run_id)}


def assert_same_partition_as_clean_run(topology, clean, run_id: str) -> None:
    assert glosa_counts(topology) == {**clean.counts, "run_ids": [run_id]}


def worker_log_tries(topology, worker: str, run_id: str, task_id: str, map_index: int) -> list[int]:
    """The try numbers of one task instance that a worker's log says it executed."""
    text = (topology.dir / "logs" / f"{worker}.log").read_text(errors="replace")
    pattern = (rf"task_id='{task_id}', dag_id='{DAG}', run_id='{re.escape(run_id)}', try_number=(\d+), "
               rf"dag_version_id=UUID\('[^']+'\), map_index={map_index},")
    return sorted({int(n) for n in re.findall(pattern, text)})


# --- the faults ---------------------------------------------------------------------------
def test_killed_worker_mid_mapped_task_retries_on_the_other_worker(dags_ready, glosa_clean_run):
    topology, api = dags_ready, dags_ready.api
    run_id = api.trigger(DAG, GLOSA_CONF)

    def a_running_batch():
        for ti in api.task_instances(DAG, run_id):
            if ti["task_id"] == "cluster_batch" and ti["state"] == "running":
                worker = worker_running(topology, ti["id"])
                if worker:
                    return ti["map_index"], worker
        return None

    map_index, victim = wait_for(a_running_batch, 300, "a cluster_batch task running on a worker", 0.3)
    survivor = next(w for w in WORKERS if w != victim)
    try:
        kill_worker(topology, victim)
        run = api.wait_run(DAG, run_id, timeout=600)
        states = api.states(DAG, run_id)
        assert run["state"] == "success", states
        assert tries(api, run_id)[("cluster_batch", map_index)] >= 2       # the killed try was retried
        assert 1 in worker_log_tries(topology, victim, run_id, "cluster_batch", map_index)
        assert max(worker_log_tries(topology, survivor, run_id, "cluster_batch", map_index)) >= 2
        assert_same_partition_as_clean_run(topology, glosa_clean_run, run_id)
    finally:
        topology.sh("up", victim)


def test_scheduler_stopped_and_restarted_during_a_run(dags_ready, glosa_clean_run):
    topology, api = dags_ready, dags_ready.api
    run_id = api.trigger(DAG, GLOSA_CONF)
    wait_for(lambda: any(t["state"] in ("running", "success") for t in api.task_instances(DAG, run_id)),
             300, "the run's first task to start")
    try:
        topology.sh("down", "scheduler")
        assert api.run(DAG, run_id)["state"] == "running"
        time.sleep(15)                      # tasks already queued go on; nothing new is scheduled
    finally:
        topology.sh("up", "scheduler")
    run = api.wait_run(DAG, run_id, timeout=600)
    assert run["state"] == "success", api.states(DAG, run_id)
    assert_same_partition_as_clean_run(topology, glosa_clean_run, run_id)


def test_warehouse_refusing_connections_for_30_s_is_retried_with_backoff(dags_ready, glosa_clean_run):
    topology, api = dags_ready, dags_ready.api
    proxy = topology.proxy
    run_id = api.trigger(DAG, GLOSA_CONF)
    # the extract reads the source, not the warehouse: the outage hits the gates and publish
    wait_for(lambda: api.states(DAG, run_id).get(("extract", -1)) == "success", 300, "extract to succeed")
    proxy.close()
    try:
        failed = wait_for(lambda: [k for k, s in api.states(DAG, run_id).items() if s == "up_for_retry"],
                          120, "a task failing on the closed warehouse")
        time.sleep(30)
    finally:
        proxy.open()
    run = api.wait_run(DAG, run_id, timeout=600)
    assert run["state"] == "success", api.states(DAG, run_id)
    after = tries(api, run_id)
    assert all(after[key] >= 2 for key in failed), after
    log = api.task_log(DAG, run_id, failed[0][0], 1, failed[0][1])
    # the first try failed on the warehouse connection itself (the driver's error), not on something else
    assert "OperationalError" in log and ("Connection refused" in log or "closed the connection" in log), log[-3000:]
    assert_same_partition_as_clean_run(topology, glosa_clean_run, run_id)   # no partial partition


def test_failed_dq_gate_stops_before_publishing_and_shows_in_the_api(dags_ready, glosa_clean_run):
    import duckdb

    topology, api = dags_ready, dags_ready.api
    before = glosa_counts(topology)
    source = topology.data_dir / "sources" / "glosa.duckdb"
    with duckdb.connect(str(source)) as con:   # a contract break: three glosas with negative money
        rowids = [r[0] for r in con.execute(
            "SELECT rowid FROM tasy.tb_glosa_apriori_recente WHERE mes_recebimento >= DATE '2026-10-01' "
            "AND mes_recebimento < DATE '2026-11-01' AND valor_glosa > 0 ORDER BY rowid LIMIT 3").fetchall()]
        con.execute("UPDATE tasy.tb_glosa_apriori_recente SET valor_glosa = -valor_glosa "
                    f"WHERE rowid IN ({', '.join(map(str, rowids))})")
    try:
        run_id = api.trigger(DAG, {**GLOSA_CONF, "quarantine_tolerance": 0})
        run = api.wait_run(DAG, run_id, timeout=300)
    finally:
        with duckdb.connect(str(source)) as con:
            con.execute("UPDATE tasy.tb_glosa_apriori_recente SET valor_glosa = -valor_glosa "
                        f"WHERE rowid IN ({', '.join(map(str, rowids))})")
    assert len(rowids) == 3
    states = api.states(DAG, run_id)
    assert run["state"] == "failed"
    assert states[("dq_extract", -1)] == "failed"
    assert states[("publish", -1)] == "upstream_failed"
    assert tries(api, run_id)[("dq_extract", -1)] == 1                     # a DQ failure is not retried
    log = api.task_log(DAG, run_id, "dq_extract", 1)
    assert "DQ gate 'glosa_extract' failed" in log
    assert "VALOR_GLOSA" in log and "expect_column_values_to_be_between" in log
    assert glosa_counts(topology) == before                                # previous partition untouched
    dq = topology.warehouse().query("SELECT suite, success FROM dq_results WHERE run_id = :r", {"r": run_id})
    assert dq.values.tolist() == [["glosa_extract", False]]


def test_same_interval_triggered_twice_at_once_runs_one_after_the_other(dags_ready, glosa_clean_run):
    topology, api = dags_ready, dags_ready.api
    first = api.trigger(DAG, GLOSA_CONF)
    second = api.trigger(DAG, GLOSA_CONF)
    runs = [api.wait_run(DAG, r, timeout=900) for r in (first, second)]
    assert [r["state"] for r in runs] == ["success", "success"]
    # max_active_runs=1: the second started after the first ended
    ordered = sorted(runs, key=lambda r: r["start_date"])
    assert ordered[1]["start_date"] >= ordered[0]["end_date"], runs
    # the partition holds exactly one run's rows: the last one to publish
    assert_same_partition_as_clean_run(topology, glosa_clean_run, ordered[1]["dag_run_id"])


@pytest.fixture(autouse=True)
def _topology_is_whole_again(dags_ready):
    """Each fault test starts with every component running and the warehouse reachable."""
    assert dags_ready.proxy.is_open
    dags_ready.sh("up")  # restarts anything a previous test left down
    dags_ready.wait_healthy()
    yield
