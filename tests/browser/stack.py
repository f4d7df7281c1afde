"""A real Airflow for the browser test: api-server, scheduler, dag-processor and triggerer.

LocalExecutor on a SQLite metadata DB in a temporary AIRFLOW_HOME, SimpleAuthManager with
one ``admin`` user whose password is generated here and written to the passwords file
(``simple_auth_manager_all_admins`` stays False, so the UI asks for a login). Scheduled
runs are off (``[scheduler] use_job_schedule = False``): only the runs the test triggers
happen. Every port is a free one, so it can run beside other Airflows on the machine.
Each component runs in its own process group, stopped by its own pid at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

AIRFLOW = str(Path(sys.executable).parent / "airflow")
COMPONENTS = {
    "api-server": ["api-server", "--port", "{port}", "--host", "127.0.0.1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AirflowStack:
    home: Path
    data_dir: Path
    root: Path
    extra_env: dict = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    user: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    procs: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        passwords = self.home / "passwords.json"
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "VIGIA_DATA_DIR": str(self.data_dir),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "GX_ANALYTICS_ENABLED": "False",
            **self.extra_env,
        }
        return env

    def start(self, timeout: float = 180) -> "AirflowStack":
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({self.user: self.password}))
        (self.home / "passwords.json").chmod(0o600)
        self._env = self.env()
        subprocess.run([AIRFLOW, "db", "migrate"], env=self._env, check=True, capture_output=True, text=True,
                       cwd=self.root, timeout=300)
        for name, args in COMPONENTS.items():
            log = open(self.home / f"{name}.log", "w")
            cmd = [AIRFLOW, *[a.format(port=self.port) for a in args]]
            self.procs[name] = subprocess.Popen(cmd, env=self._env, stdout=log, stderr=subprocess.STDOUT,
                                                cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                    health = json.load(r)
                if health.get("scheduler", {}).get("status") == "healthy" and \
                        health.get("dag_processor", {}).get("status") == "healthy":
                    return self
            except OSError:
                pass
            time.sleep(2)
        raise TimeoutError(f"Airflow did not become healthy in {timeout}s; logs in {self.home}")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{tail}")

    def token(self) -> str:
        req = urllib.request.Request(f"{self.url}/auth/token", method="POST",
                                     data=json.dumps({"username": self.user, "password": self.password}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["access_token"]

    def api(self, path: str, token: str, method: str = "GET", body: dict | None = None, tries: int = 4) -> dict:
        """A REST API call; a timeout on a busy machine (2 shared cores) is retried, an HTTP error is not."""
        for attempt in range(tries):
            req = urllib.request.Request(f"{self.url}/api/v2{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return json.load(r)
            except urllib.error.HTTPError:
                raise
            except (TimeoutError, urllib.error.URLError):
                if attempt == tries - 1:
                    raise
                self.check_alive()
                time.sleep(2)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
