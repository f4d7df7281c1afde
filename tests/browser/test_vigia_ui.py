"""As a user sees it: log in, the DAG list, each DAG's docs/owner/tags/Params, trigger
``glosa_clustering`` through the form with Params, wait for success, then the Vigia page's
numbers against the warehouse. Screenshots of every step: tests/artifacts/browser/.

Real Airflow (tests/browser/stack.py): api-server, scheduler, dag-processor, triggerer,
LocalExecutor, SimpleAuthManager with a generated admin password (login required).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import duckdb
import pytest

from tests.browser.stack import AirflowStack
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
SAMPLE = ["--segments", "60", "--rows", "4000", "--months", "2", "--seed", "3"]   # 2 hospitals
RUN_TIMEOUT = 240


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_airflow")
    data = base / "data"
    subprocess.run([sys.executable, "-m", "vigia.sample_data", "glosa", *SAMPLE], check=True,
                   env={**os.environ, "VIGIA_DATA_DIR": str(data)}, capture_output=True, text=True)
    s = AirflowStack(home=base / "home", data_dir=data, root=ROOT)
    try:
        yield s.start()
    finally:
        s.stop()


class Shots:
    def __init__(self, page):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
        self.page, self.n = page, 0

    def __call__(self, name: str):
        self.n += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.n:02d}_{name}.png"), full_page=True)


def login(page, stack, shot):
    page.goto(f"{stack.url}/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))                  # not logged in: the login form
    page.fill("input[name=username]", stack.user)
    page.fill("input[name=password]", stack.password)
    shot("login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.url}/")
    assert any(c["name"] == "_token" for c in page.context.cookies())


def plain(markdown: str) -> str:
    """The first sentence-like line of a doc_md, without Markdown marks, as the UI renders it."""
    for line in markdown.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return re.sub(r"[*`]", "", line)
    return ""


def check_dag_page(page, stack, token, dag_id, shot):
    details = stack.api(f"/dags/{dag_id}/details", token)
    page.goto(f"{stack.url}/dags/{dag_id}")
    header = page.locator("body")
    page.locator("button[aria-label='Dag Docs']").wait_for()
    shot(f"{dag_id}_page")
    for owner in details["owners"]:
        header.get_by_text(owner, exact=True).first.wait_for(timeout=10_000)
    tags = sorted(t["name"] for t in details["tags"])
    assert tags, f"{dag_id} has no tags"
    header.get_by_role("link", name=tags[0], exact=True).first.wait_for(timeout=10_000)
    hidden = [t for t in tags if not header.get_by_role("link", name=t, exact=True).first.is_visible()]
    if hidden:  # the header shows the first tags and "+N more"
        header.get_by_text(f"+{len(hidden)} more", exact=True).first.wait_for(timeout=5_000)

    page.locator("button[aria-label='Dag Docs']").click()
    docs = page.get_by_role("dialog")
    snippet = " ".join(plain(details["doc_md"]).split()[:8])
    assert snippet, f"{dag_id} has no doc_md"
    docs.get_by_text(snippet, exact=False).first.wait_for()
    shot(f"{dag_id}_docs")
    page.keyboard.press("Escape")
    docs.wait_for(state="hidden")

    page.locator("button[aria-label='Trigger Dag']").click()
    form = page.get_by_role("dialog")
    form.get_by_text("Run Parameters").first.wait_for()
    text = form.inner_text()
    for name, param in details["params"].items():
        schema = param.get("schema", {})
        title = schema.get("title") or name
        description = param.get("description") or schema.get("description")
        assert title in text, f"{dag_id}: Param {name} ({title}) not in the trigger form"
        assert description and description in text, f"{dag_id}: Param {name}'s description not in the form"
    shot(f"{dag_id}_trigger_form")
    return form


def wait_for_run(stack, token, dag_id, shot_fn=None) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        stack.check_alive()
        runs = stack.api(f"/dags/{dag_id}/dagRuns", token)["dag_runs"]
        if runs and runs[0]["state"] in ("success", "failed"):
            return runs[0]
        time.sleep(3)
    raise TimeoutError(f"{dag_id} did not finish in {RUN_TIMEOUT}s; logs in {stack.home}")


def brl(text: str) -> float:
    m = re.fullmatch(r"R\$ (-?[\d.]+,\d{2})", text.strip())
    assert m, f"not a BRL amount: {text!r}"
    return float(m.group(1).replace(".", "").replace(",", "."))


def test_login_dags_trigger_glosa_and_vigia_page(stack, browser_context):
    page = browser_context.new_page()
    shot = Shots(page)
    token = stack.token()
    login(page, stack, shot)

    # the DAG list
    page.goto(f"{stack.url}/dags")
    dags = stack.api("/dags", token)["dags"]
    dag_ids = sorted(d["dag_id"] for d in dags)
    assert {"glosa_clustering", "sus_anomaly_scoring"} <= set(dag_ids)
    for dag_id in dag_ids:
        page.get_by_role("link", name=dag_id, exact=True).first.wait_for()
    shot("dag_list")

    # every DAG: docs, owner, tags, Params with descriptions in the trigger form
    for dag_id in dag_ids:
        check_dag_page(page, stack, token, dag_id, shot)
        page.keyboard.press("Escape")

    # trigger glosa_clustering through the form, with two Params
    source = stack.data_dir / "sources" / "glosa.duckdb"
    with duckdb.connect(str(source), read_only=True) as con:
        hospitals = [h for (h,) in con.execute("SELECT DISTINCT hospital FROM tasy.tb_glosa_apriori_recente "
                                               "ORDER BY hospital").fetchall()]
    assert len(hospitals) >= 2
    hospital = hospitals[-1]
    form = check_dag_page(page, stack, token, "glosa_clustering", lambda name: None)
    form.locator("input[name=element_hospital]").fill(hospital)
    form.locator("input[name=element_max_batches]").fill("3")
    shot("glosa_trigger_filled")
    form.get_by_role("button", name="Trigger", exact=True).click()
    form.wait_for(state="hidden")

    run = wait_for_run(stack, token, "glosa_clustering")
    page.goto(f"{stack.url}/dags/glosa_clustering/runs/{run['dag_run_id']}")
    page.wait_for_load_state("networkidle")
    shot("glosa_run_finished")
    assert run["state"] == "success", f"glosa_clustering run {run['dag_run_id']} {run['state']}; logs in {stack.home}"
    assert run["conf"]["hospital"] == hospital and int(run["conf"]["max_batches"]) == 3
    tis = stack.api(f"/dags/glosa_clustering/dagRuns/{run['dag_run_id']}/taskInstances", token)["task_instances"]
    mapped = sorted(t["map_index"] for t in tis if t["task_id"] == "cluster_batch")
    assert mapped == [0, 1, 2]                                           # max_batches=3 bounded the mapping
    assert {t["state"] for t in tis} == {"success"}

    # the warehouse, read directly
    with duckdb.connect(str(stack.data_dir / "warehouse.duckdb"), read_only=True) as con:
        (month,) = con.execute("SELECT MAX(competencia) FROM glosa_cluster_profiles").fetchone()
        total, n = con.execute("SELECT ROUND(SUM(total_glosa), 2), COUNT(*) FROM glosa_cluster_profiles "
                               "WHERE competencia = ?", [month]).fetchone()
        top = con.execute("SELECT hospital, convenio, ROUND(total_glosa, 2) FROM glosa_cluster_profiles "
                          "WHERE competencia = ? ORDER BY rank_overall LIMIT 10", [month]).fetchall()
        in_warehouse = [h for (h,) in con.execute("SELECT DISTINCT hospital FROM glosa_clusters").fetchall()]
    assert in_warehouse == [hospital]                                   # the Param reached the query

    # the Vigia page, from the navigation
    page.goto(f"{stack.url}/")
    page.get_by_role("link", name="Vigia").click()
    page.wait_for_url(re.compile(r".*/plugin/vigia$"))
    frame = page.frame_locator("iframe")
    frame.locator("#glosa-total").wait_for()
    shot("vigia_page")
    assert frame.locator("#glosa-competencia").inner_text() == f"{month:%Y-%m}"
    assert brl(frame.locator("#glosa-total").inner_text()) == total
    assert int(frame.locator("#glosa-n-perfis").inner_text().replace(".", "")) == n
    rows = frame.locator("#glosa-perfis tbody tr")
    shown = [(rows.nth(i).locator("td").nth(1).inner_text(), rows.nth(i).locator("td").nth(2).inner_text(),
              brl(rows.nth(i).locator("td").nth(6).inner_text())) for i in range(rows.count())]
    assert shown == [tuple(r) for r in top]
    frame.locator("#sus").get_by_text("não publicou").wait_for()        # no SUS run: said so, no error

    # the full report behind the link
    frame.locator("#glosa-completo").click()
    frame.get_by_role("link", name="voltar").wait_for()               # the report page has loaded
    frame.locator("#glosa-perfis").wait_for()
    assert frame.locator("#glosa-perfis tbody tr").count() == n
    shot("vigia_glosa_full_report")
