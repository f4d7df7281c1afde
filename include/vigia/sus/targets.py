"""Mining targets (alvos de mineração): which SUS production each score looks at.

The table lives in ``include/vigia/sus/alvos.csv`` and is versioned (column
``versao``; a change to a target's definition bumps its version, and the
warehouse keeps the version each result was computed with). A target is:

* ``alvo``: id; ``nome``: what auditors read;
* ``sistema``: ``SIA`` (ambulatorial) or ``SIH`` (hospitalar);
* ``procedimentos``: SIGTAP codes separated by ``;``, each a full 10-digit
  procedure or a prefix at group (2 digits), subgroup (4) or forma de
  organização (6) level (SIGTAP codes read GG SS FF PPP D);
* ``idade_min`` / ``idade_max``: optional age range, inclusive;
* ``medida``: ``quantidade``, ``valor`` or ``ambos``.

The default set is built at forma de organização level, so no two targets
overlap and excess can be summed across targets (the seed's final
methodology). :func:`load` enforces that (:func:`check_no_overlap`) for any table, the
default or a team's own: two nested codes, in two targets or in one, would count the same
production twice.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DEFAULT_PATH = Path(__file__).with_name("alvos.csv")
SYSTEMS = {"SIA", "SIH"}
MEASURES = {"quantidade", "valor", "ambos"}
PREFIX_LENGTHS = {2: "grupo", 4: "subgrupo", 6: "forma", 10: "procedimento"}
COLUMNS = ["alvo", "versao", "nome", "sistema", "procedimentos", "idade_min", "idade_max", "medida"]


def measures(table: pd.DataFrame) -> dict[str, str]:
    """alvo -> medida (``quantidade``, ``valor`` or ``ambos``) of a loaded targets table: which
    oscillation scores (count, value) each target gets (:func:`vigia.sus.scoring.measured`)."""
    return dict(zip(table["alvo"], table["medida"]))


class TargetError(ValueError):
    """A target definition that cannot be used; names the file, row and field."""


def load(path: Path | str = DEFAULT_PATH, allow_overlap: bool = False) -> pd.DataFrame:
    """Read and validate the targets table; overlapping targets raise :class:`TargetError` unless
    ``allow_overlap`` (for tools that inspect a table, never for the cubes)."""
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise TargetError(f"{path}: missing column(s) {missing}; expected {COLUMNS}")
    problems = []
    for i, row in df.iterrows():
        where = f"{path}, row {i + 2} (alvo {row['alvo'] or '?'})"
        if not row["alvo"]:
            problems.append(f"{where}: alvo is empty")
        if row["sistema"] not in SYSTEMS:
            problems.append(f"{where}: sistema '{row['sistema']}' must be one of {sorted(SYSTEMS)}")
        if row["medida"] not in MEASURES:
            problems.append(f"{where}: medida '{row['medida']}' must be one of {sorted(MEASURES)}")
        if not row["versao"].isdigit():
            problems.append(f"{where}: versao '{row['versao']}' must be a whole number")
        codes = [c.strip() for c in row["procedimentos"].split(";") if c.strip()]
        if not codes:
            problems.append(f"{where}: procedimentos is empty")
        for code in codes:
            if not code.isdigit() or len(code) not in PREFIX_LENGTHS:
                problems.append(f"{where}: procedimento '{code}' must be 2, 4, 6 or 10 digits (SIGTAP)")
        for field in ("idade_min", "idade_max"):
            if row[field] and not row[field].isdigit():
                problems.append(f"{where}: {field} '{row[field]}' must be a whole number of years or empty")
        if row["idade_min"].isdigit() and row["idade_max"].isdigit() and int(row["idade_min"]) > int(row["idade_max"]):
            problems.append(f"{where}: idade_min {row['idade_min']} is above idade_max {row['idade_max']}")
    dupes = df["alvo"][df["alvo"].duplicated()].tolist()
    if dupes:
        problems.append(f"{path}: alvo id(s) {dupes} appear more than once")
    if problems:
        raise TargetError("invalid targets table:\n  " + "\n  ".join(problems))
    df["versao"] = df["versao"].astype(int)
    for field in ("idade_min", "idade_max"):
        df[field] = pd.to_numeric(df[field].replace("", None)).astype("Int64")
    if not allow_overlap:
        check_no_overlap(df, path)
    return df


def expand_codes(targets: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, code prefix): alvo, versao, sistema, prefixo, comprimento, idade_min, idade_max.

    The cube SQL joins production to targets with one equality join per prefix length.
    """
    rows = []
    for t in targets.itertuples(index=False):
        for code in (c.strip() for c in t.procedimentos.split(";") if c.strip()):
            rows.append({"alvo": t.alvo, "versao": t.versao, "sistema": t.sistema, "prefixo": code,
                         "comprimento": len(code), "idade_min": t.idade_min, "idade_max": t.idade_max})
    out = pd.DataFrame(rows)
    for field in ("idade_min", "idade_max"):
        out[field] = out[field].astype("Int64")
    return out


def _ages_overlap(a, b) -> bool:
    lo = max(a.idade_min if pd.notna(a.idade_min) else -1, b.idade_min if pd.notna(b.idade_min) else -1)
    hi = min(a.idade_max if pd.notna(a.idade_max) else 10**6, b.idade_max if pd.notna(b.idade_max) else 10**6)
    return lo <= hi


def overlaps(targets: pd.DataFrame) -> list[str]:
    """Pairs of codes that can count the same production: same system, nested (or equal) codes, ages
    overlap; in two targets, or twice in one target (its production would be counted twice)."""
    codes = list(expand_codes(targets).itertuples(index=False))
    found = []
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if a.sistema != b.sistema:
                continue
            nested = a.prefixo.startswith(b.prefixo) or b.prefixo.startswith(a.prefixo)
            if nested and _ages_overlap(a, b):
                found.append(f"{a.alvo} ({a.prefixo}) overlaps {b.alvo} ({b.prefixo})")
    return found


def check_no_overlap(targets: pd.DataFrame, path: Path | str | None = None) -> None:
    """Raise when targets overlap: production would be counted twice, and excess could not be summed."""
    found = overlaps(targets)
    if found:
        where = f"{path}: " if path else ""
        raise TargetError(f"{where}targets overlap, so production would be counted twice and excess cannot be "
                          "summed across targets:\n  " + "\n  ".join(found))
