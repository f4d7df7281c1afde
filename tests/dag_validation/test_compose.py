"""docker-compose.yaml: validated by the compose client itself, with the committed .env.example.

No Docker engine runs on these machines; `docker compose config` (or Debian's
`docker-compose config`) only parses, interpolates and validates the file, which is what
these tests need. The structural checks read the file as YAML and need no client.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {"postgres", "redis", "warehouse", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "airflow-worker"}
AIRFLOW_SERVICES = {s for s in SERVICES if s.startswith("airflow-")}
SECRET_KEYS = re.compile(r"PASSWORD$|SECRET|FERNET|_KEY$|^AIRFLOW_CONN_|SQL_ALCHEMY_CONN|RESULT_BACKEND")


def compose_client() -> list[str] | None:
    """`docker compose` (v2 plugin) if the docker client has it, else Debian's docker-compose."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def compose(*args: str, env_file=ENV_EXAMPLE) -> subprocess.CompletedProcess:
    client = compose_client()
    if client is None:
        pytest.skip("no compose client (docker compose plugin or `apt-get install docker-compose`)")
    return subprocess.run([*client, "--env-file", str(env_file), "-f", str(COMPOSE), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def rendered() -> dict:
    proc = compose("config")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def env_example() -> dict:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_compose_file_validates_with_the_example_env_and_lists_every_service(rendered):
    assert SERVICES <= set(rendered["services"])


def test_services_use_the_image_built_from_the_dockerfile(rendered):
    for name in AIRFLOW_SERVICES:
        service = rendered["services"][name]
        build = service["build"]
        context = build if isinstance(build, str) else build["context"]
        assert str(ROOT) == context.rstrip("/"), (name, build)
        assert service["image"] == "vigia-airflow:3.3.2"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "pip install --no-cache-dir -r /requirements.txt" in dockerfile
    for name, service in rendered["services"].items():
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in service.get("environment", {}), name


def test_worker_is_scalable_and_code_folders_are_mounted(rendered):
    worker = rendered["services"]["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker     # N copies can run side by side
    assert worker["command"] in ("celery worker", ["celery", "worker"])
    for name in AIRFLOW_SERVICES:
        targets = {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in rendered["services"][name]["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include",
                "/opt/airflow/data"} <= targets, name


def test_secrets_and_connections_come_from_the_env_file(rendered):
    example = env_example()
    env = rendered["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__FERNET_KEY"] == example["AIRFLOW_FERNET_KEY"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == example["AIRFLOW_JWT_SECRET"]
    assert env["AIRFLOW_CONN_WAREHOUSE"] == example["AIRFLOW_CONN_WAREHOUSE"]
    assert env["AIRFLOW_CONN_PSEUDONYM_KEY"] == example["AIRFLOW_CONN_PSEUDONYM_KEY"].strip("'")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] in ("false", False)
    init = rendered["services"]["airflow-init"]["environment"]
    assert init["_AIRFLOW_WWW_USER_PASSWORD"] == example["_AIRFLOW_WWW_USER_PASSWORD"]
    assert rendered["services"]["warehouse"]["environment"]["VIGIA_BI_PASSWORD"] == example["VIGIA_BI_PASSWORD"]
    assert all(v.startswith("change-me") or "change-me" in v or k in ("AIRFLOW_UID", "WAREHOUSE_PORT",
               "WAREHOUSE_DB", "WAREHOUSE_USER", "_AIRFLOW_WWW_USER_USERNAME")
               for k, v in example.items()), "the example holds placeholders only"


def test_no_secret_literal_in_the_compose_file(raw):
    """Every secret-looking setting is an interpolated ${VAR}, never a value written in the file."""
    checked = 0
    blocks = [raw["x-airflow-common"]["environment"]] + [s.get("environment", {}) for s in raw["services"].values()]
    for env in blocks:
        for key, value in env.items():
            if key == "<<" or not SECRET_KEYS.search(key):
                continue
            checked += 1
            assert "${" in str(value), f"{key} holds a literal; it must come from .env"
            assert not re.search(r"://[^:/@]+:(?!\$\{)[^@]+@", str(value)), f"{key} embeds a password literal"
    assert checked >= 10
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text().split()


def test_missing_secret_is_refused(tmp_path):
    partial = tmp_path / "partial.env"
    partial.write_text("\n".join(line for line in ENV_EXAMPLE.read_text().splitlines()
                                 if not line.startswith("AIRFLOW_FERNET_KEY=")) + "\n")
    proc = compose("config", env_file=partial)
    assert proc.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in proc.stderr


def test_warehouse_init_uses_the_shared_bi_role_file(rendered):
    volumes = rendered["services"]["warehouse"]["volumes"]
    sources = {(v["source"] if isinstance(v, dict) else v.split(":")[0]) for v in volumes}
    assert str(ROOT / "include/sql/admin/warehouse_bi_role.sql") in sources
    assert str(ROOT / "include/sql/admin/init_warehouse.sh") in sources
