"""The production topology under test: real processes, PostgreSQL, Redis, Celery, REST.

A session fixture starts ``.ci/topology.sh up`` (api-server, scheduler, dag-processor,
triggerer, two Celery workers) on test-only database names, ports, Redis database and
folder, so it never touches a user's ``make topology-up``. The ``warehouse`` connection of
every component goes through a TCP proxy the tests control (``tests/topology/proxy.py``).
Tests drive Airflow as a client would: a JWT from ``/auth/token``, then ``/api/v2``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URI, ROOT
from tests.topology.proxy import TcpProxy

TOPOLOGY_SH = ROOT / ".ci" / "topology.sh"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

# Every DAG in dags/ and what the topology tests trigger it with (small sample sizes).
GLOSA_SAMPLE = ["--segments", "30", "--rows", "6000", "--end-month", "2026-10", "--months", "2", "--seed", "3"]
SUS_SAMPLE = ["--municipalities", "80", "--sia-rows", "4000", "--end-month", "2026-10", "--months", "13"]
GLOSA_CONF = {"competencia": "2026-10", "max_batches": 5}
SUS_CONF = {"competencia": "2026-10", "build_missing_history": True, "top_fact_sheets": 2}
REGULATION_SAMPLE = ["--beneficiaries", "800", "--requests", "5000", "--end", "2026-11-01", "--seed", "4"]
# 2026-10-31 12:00 UTC = 09:00 in São Paulo: the daily interval is 2026-10-30 (local)
REGULATION_LOGICAL_DATE = "2026-10-31T12:00:00+00:00"
GLOSA_TABLES = ("glosa_clusters", "glosa_cluster_profiles", "glosa_segment_runs")


def pytest_configure(config):
    config.addinivalue_line("markers", "topology: needs the local production topology (PostgreSQL, Redis, "
                                       "Celery workers); started once per session by tests/topology/conftest.py")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/topology/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.topology)


# --- REST client ------------------------------------------------------------------------
class Api:
    """The Airflow REST API as a real client uses it: a JWT from /auth/token, then /api/v2."""

    def __init__(self, base_url: str, username: str, password: str):
        import httpx

        self.base = base_url
        token = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password},
                           timeout=30)
        token.raise_for_status()
        self.http = httpx.Client(base_url=f"{base_url}/api/v2", timeout=60,
                                 headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    def get(self, path: str, **params):
        r = self.http.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict):
        r = self.http.post(path, json=body)
        assert r.status_code in (200, 201), f"POST {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def patch(self, path: str, body: dict):
        r = self.http.patch(path, json=body)
        assert r.status_code == 200, f"PATCH {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    # --- what a user does in the UI -----------------------------------------------------
    def unpause(self, dag_id: str) -> None:
        self.patch(f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict, logical_date: str | None = None) -> str:
        """Press Trigger with these Params (no logical date unless given, as the UI's form)."""
        run = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf})
        return run["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)
        states = [(t["task_id"], t["map_index"], t["state"]) for t in self.task_instances(dag_id, run_id)]
        raise AssertionError(f"{dag_id} run {run_id} not finished after {timeout} s: {states}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)["task_instances"]

    def states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        return {(t["task_id"], t["map_index"]): t["state"] for t in self.task_instances(dag_id, run_id)}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        r = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                          params={"full_content": True, "map_index": map_index},
                          headers={"Accept": "application/json"})
        r.raise_for_status()
        return json.dumps(r.json(), ensure_ascii=False)


# --- the topology -----------------------------------------------------------------------
@dataclass
class Topology:
    dir: Path
    env: dict
    api_port: int
    metadata_db: str
    warehouse_db: str
    data_dir: Path
    proxy: TcpProxy
    _api: Api | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def sh(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(TOPOLOGY_SH), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
        if check and proc.returncode != 0:
            raise AssertionError(f"topology.sh {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}\n"
                                 f"{self.tail_logs()}")
        return proc

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for log in sorted((self.dir / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)

    @property
    def api(self) -> Api:
        if self._api is None:
            password = json.loads((self.dir / "simple_auth_manager_passwords.json").read_text())["admin"]
            self._api = Api(self.base_url, "admin", password)
        return self._api

    def pid(self, component: str) -> int:
        return int((self.dir / "pids" / f"{component}.pid").read_text())

    @property
    def warehouse_uri(self) -> str:
        """PostgreSQL directly, not through the proxy: what the tests read with."""
        return f"{PG_ADMIN_URI.rsplit('/', 1)[0]}/{self.warehouse_db}"

    def warehouse(self):
        from vigia.connections import ConnectionSpec
        from vigia.warehouse import open_warehouse

        return open_warehouse(ConnectionSpec.from_uri("warehouse", self.warehouse_uri))

    def scalar(self, sql: str, params: dict | None = None):
        return self.warehouse().query(sql, params or {}).iloc[0, 0]

    def wait_healthy(self, timeout: float = 120) -> None:
        """Scheduler, dag-processor and triggerer heartbeating, as /monitor/health reports them."""
        deadline = time.monotonic() + timeout
        health = {}
        while time.monotonic() < deadline:
            health = self.api.get("/monitor/health")
            if all(health.get(c, {}).get("status") == "healthy"
                   for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")):
                return
            time.sleep(2)
        raise AssertionError(f"topology not healthy after {timeout} s: {health}\n{self.tail_logs()}")


def _free_port_block(n: int = 4) -> int:
    """A port p with p..p+n-1 all free (api-server, two worker log servers, triggerer log server)."""
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports")


def _free_redis_db():
    import redis

    for db in range(15, 7, -1):  # the high databases, leaving 0-7 to people and make topology-up (5)
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        if client.dbsize() == 0:
            return db, client
    raise RuntimeError("no empty Redis database among 8-15")


def _pg_admin():
    import psycopg2

    con = psycopg2.connect(PG_ADMIN_URI)
    con.autocommit = True
    return con


def _sample(data_dir: Path, source: str, args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "vigia.sample_data", source, *args], check=True, capture_output=True,
                   text=True, env={**os.environ, "VIGIA_DATA_DIR": str(data_dir)})


@pytest.fixture(scope="session")
def topology(tmp_path_factory):
    try:
        admin = _pg_admin()
        redis_db, redis_client = _free_redis_db()
    except Exception as exc:  # the topology needs both: say so instead of skipping silently
        pytest.fail(f"the topology tests need PostgreSQL at {PG_ADMIN_URI} and Redis at "
                    f"{REDIS_HOST}:{REDIS_PORT} (.ci/run starts them): {exc}")
    base = tmp_path_factory.mktemp("topology")
    suffix = uuid.uuid4().hex[:8]
    meta, wh = f"vigia_topo_{suffix}_airflow", f"vigia_topo_{suffix}_warehouse"
    data_dir = base / "data"
    _sample(data_dir, "glosa", GLOSA_SAMPLE)
    _sample(data_dir, "sus", SUS_SAMPLE)
    _sample(data_dir, "regulation", REGULATION_SAMPLE)
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.open()
    port = _free_port_block()
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("AIRFLOW", "VIGIA_", "_AIRFLOW"))}
    env = {
        **inherited,
        "VIGIA_TOPOLOGY_DIR": str(base / "topology"),
        "VIGIA_TOPOLOGY_PG": PG_ADMIN_URI.rsplit("/", 1)[0],
        "VIGIA_TOPOLOGY_METADATA_DB": meta,
        "VIGIA_TOPOLOGY_WAREHOUSE_DB": wh,
        "VIGIA_TOPOLOGY_API_PORT": str(port),
        "VIGIA_TOPOLOGY_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        "VIGIA_TOPOLOGY_WAREHOUSE_URI": f"{PG_ADMIN_URI.rsplit('/', 1)[0].replace('127.0.0.1:5432', f'127.0.0.1:{proxy.port}')}/{wh}",
        "VIGIA_TOPOLOGY_DATA_DIR": str(data_dir),
        # only the runs the tests trigger, and faults detected in seconds rather than minutes
        "VIGIA_TOPOLOGY_SCHEDULE": "False",
        "VIGIA_TOPOLOGY_FAST_FAULTS": "True",
    }
    topo = Topology(base / "topology", env, port, meta, wh, data_dir, proxy)
    try:
        topo.sh("up", timeout=400)
        topo.wait_healthy()
        yield topo
    finally:
        down = topo.sh("down", check=False, timeout=200)
        if os.environ.get("VIGIA_TOPOLOGY_KEEP_LOGS"):
            shutil.copytree(topo.dir / "logs", os.environ["VIGIA_TOPOLOGY_KEEP_LOGS"], dirs_exist_ok=True)
        proxy.close()
        redis_client.flushdb()
        with admin.cursor() as cur:
            for db in (meta, wh):
                cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="session")
def dags_ready(topology):
    """Every DAG parsed by the dag-processor and unpaused, as a user does before triggering."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        listed = {d["dag_id"] for d in topology.api.get("/dags", limit=100)["dags"]}
        if set(TOPOLOGY_DAGS) <= listed:
            break
        time.sleep(2)
    else:
        pytest.fail(f"DAGs not parsed after 180 s: {sorted(listed)}\n{topology.tail_logs()}")
    for dag_id in TOPOLOGY_DAGS:
        topology.api.unpause(dag_id)
    return topology


def glosa_counts(topo: Topology, month: str = "2026-10-01") -> dict:
    """Rows per glosa table in the month's partition, and the partition's money (a checksum)."""
    wh = topo.warehouse()
    out = {t: int(wh.query(f"SELECT COUNT(*) AS n FROM {t} WHERE competencia = :m", {"m": month})["n"].iloc[0])
           for t in GLOSA_TABLES}
    out["glosa_atual_sum"] = round(float(wh.query(
        "SELECT SUM(glosa_atual) AS s FROM glosa_clusters WHERE competencia = :m", {"m": month})["s"].iloc[0]), 2)
    out["run_ids"] = sorted(wh.query("SELECT DISTINCT run_id FROM glosa_clusters WHERE competencia = :m",
                                     {"m": month})["run_id"])
    return out


@dataclass
class CleanRun:
    run_id: str
    counts: dict
    task_instances: list


@pytest.fixture(scope="session")
def glosa_clean_run(dags_ready) -> CleanRun:
    """One clean glosa_clustering run over the sample: the counts every fault test compares with."""
    api = dags_ready.api
    run_id = api.trigger("glosa_clustering", GLOSA_CONF)
    run = api.wait_run("glosa_clustering", run_id, timeout=600)
    tis = api.task_instances("glosa_clustering", run_id)
    assert run["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]
    return CleanRun(run_id, glosa_counts(dags_ready), tis)


# The DAGs the topology tests trigger (tests/topology/test_dags.py has one case each). A DAG joins
# once its `airflow dags test` integration test exists and passes; test_dags.py fails when one
# with an integration test has no case here.
TOPOLOGY_DAGS = ["glosa_clustering", "regulation_decisions", "regulation_model_retraining", "sus_anomaly_scoring"]
DAG_FILES = sorted(p.stem for p in (ROOT / "dags").glob("*.py") if not p.name.startswith("_"))
