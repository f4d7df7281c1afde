"""Repository scanners for the security tests: secrets, and eval/exec in project code.

* **Private keys**: PEM headers ``-----BEGIN ... PRIVATE KEY-----``.
* **Passwords in connection URIs**: ``scheme://user:password@host``, unless the password is
  a placeholder: only ``*``, ``<...>``, ``${VAR}``/``$VAR``, ``{name}``/``%(name)s``
  (templates), or a word that says it is one (password, senha, secret, changeme, example,
  placeholder, xxx...).
* **Fernet keys and Airflow secrets**: a 44-character URL-safe base64 value on a line that
  mentions Fernet, and literal values assigned to ``*FERNET_KEY``, ``*JWT_SECRET``,
  ``*SECRET_KEY`` or ``*_PASSWORD`` settings in configuration files (env files, YAML,
  Dockerfiles, shell, Makefile). Values taken from the environment (``${VAR:?...}``,
  ``$VAR``) and values that say they are placeholders (``change-me-...``) pass.
* ``ALLOWED`` lists the visibly fake test values that may stay, each with its reason.
* **eval/exec**: calls of ``eval``/``exec`` (builtins or methods such as ``DataFrame.eval``)
  in Python files, found with the ``ast`` module so strings and comments do not count.

Files: everything git tracks or would track (``git ls-files -co --exclude-standard``), so a
new file is covered the moment it exists; binary files and files over 2 MB are skipped.
"""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")
URI_PASSWORD = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@'\"`]+:([^\s@'\"`/]+)@[^\s'\"`]+")
FERNET_VALUE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])")
SECRET_SETTING = re.compile(
    r"(?<![\w${])([A-Z0-9_]*(FERNET_KEY|JWT_SECRET|SECRET_KEY|_PASSWORD))\s*[:=]\s*['\"]?([^\s'\"#]+)")
# a value containing one of these says it is no real secret
PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "example", "placeholder", "redacted", "your-", "your_")
# short generic words used as stand-ins in docs (user:password@host)
PLACEHOLDER_SHORT = ("password", "passwd", "senha", "secret", "xxx", "dummy", "pass", "pw")
# test values that are visibly fake, with the reason they may stay
ALLOWED = {
    ("tests/unit/test_sql_and_connections.py", "s%40cret"): "the URI parser's percent-decoding test ('s@cret')",
}
CONFIG_SUFFIXES = {".env", ".yaml", ".yml", ".sh", ".cfg", ".ini", ".toml", ".conf", ".example", ".properties"}
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.text[:160]}"


def is_placeholder(value: str) -> bool:
    """Stars, a template (``<...>``, ``${VAR...}``, ``$VAR``, ``{name}``, ``%(name)s``) or a value that says so."""
    v = value.strip()
    if not v or set(v) <= {"*", "."}:
        return True
    if v.startswith("$") or re.fullmatch(r"<[^>]*>|\{[A-Za-z_][A-Za-z0-9_.]*\}|%\([a-z_]+\)s", v):
        return True
    low = v.lower()
    return any(w in low for w in PLACEHOLDER_WORDS) or (low in PLACEHOLDER_SHORT)


def _is_config(path: Path) -> bool:
    name = path.name.lower()
    if path.suffix == ".py":
        return False
    return (path.suffix.lower() in CONFIG_SUFFIXES or name.startswith(".env") or name.startswith("dockerfile")
            or name in {"makefile", "run"} or "compose" in name)


def project_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    return [root / f for f in sorted(set(out)) if (root / f).is_file()]


def _text(path: Path) -> str | None:
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def scan_secrets(files: list[Path], root: Path) -> list[Finding]:
    findings = []
    for path in files:
        text = _text(path)
        if text is None:
            continue
        rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for n, line in enumerate(text.splitlines(), 1):
            if PRIVATE_KEY.search(line):
                findings.append(Finding(rel, n, "private key", line.strip()))
            for m in URI_PASSWORD.finditer(line):
                if not is_placeholder(m.group(1)) and (rel, m.group(1)) not in ALLOWED:
                    findings.append(Finding(rel, n, "password in a connection URI", m.group(0)))
            if "fernet" in line.lower() and FERNET_VALUE.search(line):
                findings.append(Finding(rel, n, "Fernet key", line.strip()))
            for m in SECRET_SETTING.finditer(line) if _is_config(path) else ():
                if not is_placeholder(m.group(3)):
                    findings.append(Finding(rel, n, f"literal value for {m.group(1)}", line.strip()))
    return findings


def scan_eval_exec(files: list[Path], root: Path) -> list[Finding]:
    findings = []
    for path in files:
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in ("eval", "exec"):
                findings.append(Finding(str(path.relative_to(root)), node.lineno, f"{name}() call",
                                        ast.get_source_segment(path.read_text(encoding="utf-8"), node) or name))
    return findings
