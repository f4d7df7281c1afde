"""What each section of the Vigia page shows, read from the warehouse (no HTML here).

Every section copes with a warehouse that does not have its table yet (``status``
``missing``, with a message saying which DAG writes it) and with a table that has no
rows for the month asked (``empty``). Queries are ``include/sql/ui/*.sql``; the
filters a user types (competência, hospital, UF) are bind variables.

* **Glosa** (``glosa_cluster_profiles``): the ``top`` cluster profiles of the latest
  competência (or the one asked), in ``rank_overall`` order (by ``total_glosa``,
  descending), and the month's totals over *all* its profiles: number of profiles,
  hospitals, cells and Σ ``total_glosa``.
* **SUS** (``sus_provider_ranking``): the ``top`` establishments by ``rank`` (estimated
  excess value), Σ ``excesso_valor`` over the whole ranking, and a link to each fact
  sheet that exists under ``<reports>/sus/<YYYY-MM>/``. Filtered by a target (``alvo``),
  the establishments come from ``sus_provider_excess`` by their excess on that target,
  with their overall rank, and the totals are the target's.
* **Regulation** (``regulation_model_runs`` + the champion's model card files): one row
  per retraining run, newest first: candidates, the version promoted (if any) with its
  holdout kappa and F1, the champion after the run.
* **Rules** (``rule_activations``): the latest interval's activations per rule x outcome,
  the most decisive first; totals: requests (Σ ``decisoes``, '(nenhuma regra)' included),
  requests a rule settled, firings and distinct rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from vigia.ui import model_card
from vigia.ui.reader import Session

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
UF = re.compile(r"^[A-Z]{2}$")
ALVO = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
SHEET_NAME = re.compile(r"^[A-Za-z0-9._-]+\.html$")
MAX_TOP = 1000


@dataclass
class Section:
    key: str
    title: str
    status: str = "ok"                  # ok | missing | empty
    message: str = ""
    competencia: date | None = None
    months: list = field(default_factory=list)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    totals: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def parse_month(value: str | None) -> date | None:
    """``YYYY-MM`` -> first day of the month; anything else is refused with what was expected."""
    if value in (None, ""):
        return None
    if not MONTH.match(value):
        raise ValueError(f"competencia must be written YYYY-MM (e.g. 2026-10); got {value!r}")
    return date(int(value[:4]), int(value[5:7]), 1)


def _as_date(value) -> date:
    return pd.Timestamp(value).date()


def _months(session: Session, sql_name: str) -> list[date]:
    return [_as_date(v) for v in session.query_file(sql_name)["competencia"]]


def _pick_month(months: list[date], asked: date | None) -> date | None:
    if asked is not None:
        return asked
    return months[0] if months else None


def glosa(session: Session, competencia: str | None = None, hospital: str | None = None,
          top: int = 10) -> Section:
    s = Section("glosa", "Glosas: perfis de cluster por valor")
    if not session.has("glosa_cluster_profiles"):
        s.status, s.message = "missing", "Nenhum resultado ainda: o DAG glosa_clustering não publicou."
        return s
    s.months = _months(session, "ui/glosa_months.sql")
    s.competencia = _pick_month(s.months, parse_month(competencia))
    if s.competencia is None or s.competencia not in s.months:
        s.status = "empty"
        s.message = (f"Sem perfis para a competência {s.competencia:%Y-%m}." if s.competencia
                     else "Nenhum resultado ainda: o DAG glosa_clustering não publicou.")
        return s
    binds = {"competencia": s.competencia, "hospital": hospital or None}
    s.rows = session.query_file("ui/glosa_top_profiles.sql", {**binds, "top": min(int(top), MAX_TOP)})
    s.totals = session.query_file("ui/glosa_totals.sql", binds).to_dict("records")[0]
    s.extra["hospital"] = hospital or None
    s.extra["hospitals"] = session.query_file("ui/glosa_hospitals.sql", {"competencia": s.competencia})[
        "hospital"].tolist()
    if s.rows.empty:
        s.status = "empty"
        s.message = f"Sem perfis para o hospital {hospital!r} em {s.competencia:%Y-%m}."
    return s


def sheet_href(path, reports_dir: Path | None) -> str | None:
    """The page's link to a fact sheet, when the file exists under ``<reports>/sus/<YYYY-MM>/``."""
    if not isinstance(path, str) or not path or reports_dir is None:
        return None
    p = Path(path)
    month, name = p.parent.name, p.name
    if not MONTH.match(month) or not SHEET_NAME.match(name):
        return None
    return f"sus/folhas/{month}/{name}" if (Path(reports_dir) / "sus" / month / name).is_file() else None


def sus(session: Session, competencia: str | None = None, uf: str | None = None, top: int = 10,
        reports_dir: Path | None = None, alvo: str | None = None) -> Section:
    s = Section("sus", "SUS: ranking de auditoria (InfoSAS)")
    if uf and not UF.match(uf):
        raise ValueError(f"uf must be two capital letters (e.g. SP); got {uf!r}")
    if alvo and not ALVO.match(alvo):
        raise ValueError(f"alvo must be a target id such as SIA-020201 (letters, digits, '-', '_', '.'); got {alvo!r}")
    if not session.has("sus_provider_ranking"):
        s.status, s.message = "missing", "Nenhum resultado ainda: o DAG sus_anomaly_scoring não publicou."
        return s
    s.months = _months(session, "ui/sus_months.sql")
    s.competencia = _pick_month(s.months, parse_month(competencia))
    if s.competencia is None or s.competencia not in s.months:
        s.status = "empty"
        s.message = (f"Sem ranking para a competência {s.competencia:%Y-%m}." if s.competencia
                     else "Nenhum resultado ainda: o DAG sus_anomaly_scoring não publicou.")
        return s
    binds = {"competencia": s.competencia, "uf": uf or None}
    s.extra["uf"], s.extra["alvo"] = uf or None, alvo or None
    s.extra["alvos"] = _targets(session, binds) if session.has("sus_provider_excess") else []
    if alvo:
        if not session.has("sus_provider_excess"):
            s.status = "empty"
            s.message = "Sem excesso por alvo neste warehouse: o DAG sus_anomaly_scoring ainda não publicou sus_provider_excess."
            return s
        binds["alvo"] = alvo
        s.rows = session.query_file("ui/sus_top_ranking_alvo.sql", {**binds, "top": min(int(top), MAX_TOP)})
        s.totals = session.query_file("ui/sus_totals_alvo.sql", binds).to_dict("records")[0]
    else:
        s.rows = session.query_file("ui/sus_top_ranking.sql", {**binds, "top": min(int(top), MAX_TOP)})
        s.totals = session.query_file("ui/sus_totals.sql", binds).to_dict("records")[0]
    s.rows["folha_href"] = [sheet_href(p, reports_dir) for p in s.rows["folha_de_fatos"]]
    if s.rows.empty:
        where = " ".join(filter(None, [f"da UF {uf}" if uf else "", f"com o alvo {alvo}" if alvo else ""]))
        s.status, s.message = "empty", f"Sem estabelecimentos {where} em {s.competencia:%Y-%m}."
    return s


def _targets(session: Session, binds: dict) -> list[tuple[str, str]]:
    """(alvo, label) of the month's targets, the costliest first; the label adds the target's name
    from the packaged table (``vigia.sus.targets``) when it lists the target."""
    from vigia.sus import targets

    table = targets.load()
    names = dict(zip(table["alvo"], table["nome"]))
    got = session.query_file("ui/sus_targets.sql", binds)
    return [(a, f"{a} {names[a]}" if a in names else a) for a in got["alvo"].astype(str)]


def regulation(session: Session, models_dir: Path | None = None, top: int = 10) -> Section:
    s = Section("regulacao", "Regulação: modelo campeão e histórico")
    s.extra["card"] = model_card.load(models_dir)
    if not session.has("regulation_model_runs"):
        s.status = "missing"
        s.message = "Nenhum modelo ainda: o DAG regulation_model_retraining não publicou."
        return s
    s.rows = session.query_file("ui/regulation_model_runs.sql", {"top": min(int(top), MAX_TOP)})
    s.totals = session.query_file("ui/regulation_model_runs_totals.sql").to_dict("records")[0]
    if s.rows.empty:
        s.status, s.message = "empty", "Nenhum modelo ainda: regulation_model_runs está vazia."
    return s


def rules(session: Session, top: int = 10) -> Section:
    s = Section("regras", "Regras: ativações do último intervalo")
    if not session.has("rule_activations"):
        s.status, s.message = "missing", "Nenhuma decisão ainda: o DAG regulation_decisions não publicou."
        return s
    s.rows = session.query_file("ui/rule_activations.sql", {"top": min(int(top), MAX_TOP)})
    s.totals = session.query_file("ui/rule_activations_totals.sql").to_dict("records")[0]
    if s.rows.empty:
        s.status, s.message = "empty", "Nenhuma decisão ainda: rule_activations está vazia."
    return s
