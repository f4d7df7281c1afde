"""Real Airflow for integration tests: a migrated SQLite metadata DB and `airflow dags test` runs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {**os.environ, "AIRFLOW_HOME": str(home)}
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, text=True)
    return home


@dataclass
class DagRun:
    returncode: int
    output: str
    home: Path

    def task_states(self, dag_id: str) -> list[tuple]:
        """(task_id, map_index, state) of the latest run of ``dag_id``, from the metadata DB."""
        with sqlite3.connect(self.home / "airflow.db") as con:
            run_id = con.execute("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                                 (dag_id,)).fetchone()[0]
            return con.execute(
                "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? "
                "ORDER BY task_id, map_index", (dag_id, run_id)).fetchall()


@pytest.fixture
def run_dag(airflow_home, data_dir):
    """Run ``airflow dags test`` in a subprocess, as a user would, with extra env (connections)."""

    def run(dag_id: str, logical_date: str, conf: dict | None = None, env: dict | None = None) -> DagRun:
        cmd = [AIRFLOW, "dags", "test", dag_id, logical_date]
        if conf:
            cmd += ["-c", json.dumps(conf)]
        full_env = {**os.environ, "AIRFLOW_HOME": str(airflow_home), "VIGIA_DATA_DIR": str(data_dir),
                    **(env or {})}
        proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, cwd=ROOT, timeout=900)
        return DagRun(proc.returncode, proc.stdout + proc.stderr, airflow_home)

    return run


def sample(data_dir: Path, *args: str, env: dict | None = None, source: str = "glosa") -> None:
    subprocess.run([sys.executable, "-m", "vigia.sample_data", source, *args],
                   env={**os.environ, "VIGIA_DATA_DIR": str(data_dir), **(env or {})}, check=True,
                   capture_output=True, text=True)
