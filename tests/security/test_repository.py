"""No secret in the repository; no eval/exec in include/, dags/, plugins/ (scanners in scanning.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.security.scanning import project_files, scan_eval_exec, scan_secrets

CODE_DIRS = ("include", "dags", "plugins")


def test_no_secrets_in_the_repository():
    files = project_files(ROOT)
    assert len(files) > 50
    findings = scan_secrets(files, ROOT)
    assert not findings, "secrets in the repository:\n" + "\n".join(map(str, findings))


def test_no_eval_or_exec_in_project_code():
    files = [f for f in project_files(ROOT) if f.relative_to(ROOT).parts[0] in CODE_DIRS]
    assert any(f.suffix == ".py" for f in files)
    findings = scan_eval_exec(files, ROOT)
    assert not findings, "eval/exec in project code:\n" + "\n".join(map(str, findings))


def test_the_scanners_find_what_they_look_for(tmp_path: Path):
    """Planted examples, so the two tests above can fail."""
    key = "-----BEGIN " + "RSA PRIVATE KEY-----"                      # split: this file must pass the scan
    planted = {
        "key.pem": key + "\nMIIEow...\n",
        "conn.env": "AIRFLOW_CONN_WAREHOUSE=postgresql://vigia:" + "S3nh4Forte!2026" + "@db:5432/vigia\n",
        "fernet.yaml": "fernet_key: " + "x" * 43 + "=\n",
        "jwt.env": "AIRFLOW__API_AUTH__JWT_SECRET=" + "d8f7a6s5d4f3g2h1j0k9\n",
        "pw.yaml": "POSTGRES_PASSWORD: " + "hunter2hunter2\n",
        "ok.env": "AIRFLOW_CONN_WAREHOUSE=postgresql://vigia:***@db:5432/vigia\n"
                  "URI=postgresql://vigia:${VIGIA_WAREHOUSE_PASSWORD}@db/vigia\n"
                  "AIRFLOW__CORE__FERNET_KEY=${AIRFLOW__CORE__FERNET_KEY}\nAIRFLOW__API__SECRET_KEY=\n"
                  "EXAMPLE=postgresql://user:password@host:5432/db\n"
                  "AIRFLOW_DB_PASSWORD=change-me-metadata-db-password\n"
                  "POSTGRES_PASSWORD=${WAREHOUSE_PASSWORD:?set WAREHOUSE_PASSWORD in .env}\n",
        "code.py": "import pandas as pd\nx = eval('1 + 1')\npd.DataFrame().eval('a + b')\ns = 'eval(1)'  # eval(\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text)
    found = scan_secrets([tmp_path / n for n in planted if n != "code.py"], tmp_path)
    kinds = {(f.path, f.kind) for f in found}
    assert ("key.pem", "private key") in kinds
    assert ("conn.env", "password in a connection URI") in kinds
    assert ("fernet.yaml", "Fernet key") in kinds
    assert any(p == "jwt.env" and "JWT_SECRET" in k for p, k in kinds)
    assert any(p == "pw.yaml" and "POSTGRES_PASSWORD" in k for p, k in kinds)
    assert not [f for f in found if f.path == "ok.env"], found
    calls = scan_eval_exec([tmp_path / "code.py"], tmp_path)
    assert [(f.line, f.kind) for f in calls] == [(2, "eval() call"), (3, "eval() call")]
