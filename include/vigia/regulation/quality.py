"""Data-quality gates of the regulation pipelines (great-expectations suites, in code).

Two gates, each a function the DAG calls; both return a :class:`GateResult` and never raise for
bad data by themselves, so the caller can record every report first:

    result = gate_source(spec, start, cutoff)          # before build_features
    result.record(warehouse, run_info)                 # dq_results, passed or failed
    result.raise_for_failure()                         # DataQualityError naming table/column/rule
    bad_ids = result.quarantined_ids                   # guias to leave out of the batch

    result = gate_training(features, cutoff)           # on build_features' output
    result.record(warehouse, run_info); result.raise_for_failure()
    train = result.clean                               # quarantined rows removed, counted

**gate_source** (suites ``regulation_source_*``; row-level rules quarantine up to ``tolerance``
of the rows, more fails the gate):

* contract: the four tables with their columns and types (:mod:`vigia.regulation.source`) -> fails.
* ``guias`` since ``start``: codes not in ``procedimentos`` (column
  ``codigo_procedimento_fora_do_catalogo``), beneficiaries not in ``beneficiarios``
  (``id_beneficiario_fora_do_cadastro``), ``id_guia`` unique, ``decisao`` in ('autorizado',
  'negado') or NULL, ``tipo_guia`` in the four types, ``data_decisao >= data_solicitacao``, and no
  ``data_solicitacao`` / ``data_decisao`` in the future (after ``now``) -> quarantined.
* ``eventos`` (counted in SQL, never loaded): none dated on/after the run's cutoff (the issue's "no
  events after the cutoff"; ``eventos_after_cutoff="warn"`` only reports them, for backfills on a
  live source: build_features never reads them), none in the future, codes and beneficiaries
  outside the catalogue/cadastro within ``tolerance`` of the events.
* ``beneficiarios``: unique ids, sexo 'M'/'F', the three tipos, no birth or adesão in the future,
  adesão not before birth. ``procedimentos``: unique codes, sexo_permitido 'M'/'F'/NULL,
  idade_minima <= idade_maxima, carência >= 0, periodicidade >= 1, valores >= 0, nível >= 1.

The row-level rules of ``guias`` and ``beneficiarios`` (the large tables) are evaluated in SQL:
counts per rule plus a bounded sample of offending rows, with great-expectations judging the
per-rule summary (:mod:`vigia.regulation.quality_rules`); :func:`guias_suite` and
:func:`beneficiarios_suite` still define those rules and name them in the messages, which are the
same as when GX validated every row. ``procedimentos`` (small) is validated row by row.

**gate_training** (suites ``regulation_training`` row-level and ``regulation_training_balance``):

* labels present: ``decisao`` in ('autorizado', 'negado') and ``autorizado`` in (0, 1);
* ``data_decisao`` present and ``>= data_solicitacao``;
* nothing after the cutoff: ``data_solicitacao < cutoff`` and ``data_decisao < cutoff`` (a label
  decided after the cutoff was not known then); no dates in the future;
* known procedure and beneficiary (catalogue attributes and sex present);
* ``id_guia`` unique;
* then, on the clean rows, **class balance**: the share of 'autorizado' within
  [:data:`MIN_AUTHORISED_SHARE`, :data:`MAX_AUTHORISED_SHARE`] = [0.50, 0.97] (the seed's data had
  68% authorised, the Ymir deployment 90%; outside these bounds a label or extraction problem is
  likelier than a policy change), and **enough rows per class**: at least
  :data:`MIN_ROWS_PER_CLASS` (100) of each, so 10 stratified folds hold >= 10 of each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from vigia.dq import DataQualityError, Report, Suite, quarantine, validate

DEFAULT_TOLERANCE = 0.01
MIN_AUTHORISED_SHARE = 0.50
MAX_AUTHORISED_SHARE = 0.97
MIN_ROWS_PER_CLASS = 100
DECISOES = ("autorizado", "negado")
TIPOS_GUIA = ("consulta", "sadt", "internacao", "odontologia")
TIPOS_BENEFICIARIO = ("titular", "dependente", "agregado")
UNKNOWN_CODE = "codigo_procedimento_fora_do_catalogo"
UNKNOWN_BENEFICIARY = "beneficiario_fora_do_cadastro"


@dataclass
class GateResult:
    """The outcome of one gate: its reports, the clean rows and the quarantined ones (with dq_reason)."""

    name: str
    reports: list[Report]
    clean: pd.DataFrame
    quarantined: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.reports)

    @property
    def quarantined_ids(self) -> list:
        if "id_guia" not in self.quarantined.columns:
            return []
        return self.quarantined["id_guia"].tolist()

    def message(self) -> str:
        return "\n".join(r.message() for r in self.reports if not r.success) or \
            f"DQ gate '{self.name}' passed ({len(self.clean)} rows kept, {len(self.quarantined)} quarantined)"

    def raise_for_failure(self) -> None:
        """Raise the first failed report's :class:`DataQualityError` (its message names every failure)."""
        failed = [r for r in self.reports if not r.success]
        if failed:
            for other in failed[1:]:
                failed[0].notes.append(other.message())
            raise DataQualityError(failed[0])

    def record(self, warehouse, run) -> None:
        """One ``dq_results`` row per report (``run`` is a vigia.dq.results.RunInfo)."""
        from vigia.dq.results import record

        for r in self.reports:
            record(warehouse, r, run, quarantined=len(self.quarantined) if r is self.reports[0] else 0)

    def quarantine_rows(self, run_id: str) -> pd.DataFrame:
        """Rows for ``dq_quarantine`` (run_id, suite, dq_reason, row_json); ids already pseudonymised."""
        cols = ["run_id", "suite", "dq_reason", "row_json"]
        if self.quarantined.empty:
            return pd.DataFrame(columns=cols)
        payload = self.quarantined.drop(columns=[quarantine.REASON_COLUMN])
        return pd.DataFrame({
            "run_id": run_id,
            "suite": self.reports[0].suite,
            "dq_reason": self.quarantined[quarantine.REASON_COLUMN].to_numpy(),
            "row_json": [json.dumps(r, ensure_ascii=False, default=str) for r in payload.to_dict("records")],
        })[cols]

    def summary(self) -> dict:
        """Small, JSON-friendly (for XCom)."""
        return {"gate": self.name, "success": self.success, "rows": len(self.clean) + len(self.quarantined),
                "kept": len(self.clean), "quarantined": len(self.quarantined),
                "suites": [r.suite for r in self.reports]}


def _gx():
    import great_expectations as gx

    return gx.expectations


def _ts(value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, datetime.min.time())


# --- training batch ------------------------------------------------------------------------------
def training_suite(cutoff: datetime, now: datetime, tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    """Row-level rules on build_features' output (plus the two helper columns gate_training adds)."""
    from vigia.regulation.features import OUTPUT_COLUMNS

    def build():
        e = _gx()
        mostly = 1.0 - tolerance
        limit = min(cutoff, now)
        out = [e.ExpectColumnToExist(column=c) for c in OUTPUT_COLUMNS]
        out += [
            e.ExpectColumnValuesToNotBeNull(column="decisao", mostly=mostly),
            e.ExpectColumnValuesToBeInSet(column="decisao", value_set=list(DECISOES), mostly=mostly),
            e.ExpectColumnValuesToNotBeNull(column="autorizado", mostly=mostly),
            e.ExpectColumnValuesToNotBeNull(column="data_decisao", mostly=mostly),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="data_decisao", column_B="data_solicitacao",
                                                      or_equal=True, ignore_row_if="either_value_is_missing",
                                                      mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_solicitacao", max_value=limit, strict_max=True,
                                            mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_decisao", max_value=limit, strict_max=True,
                                            mostly=mostly),
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_CODE, mostly=mostly),
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_BENEFICIARY, mostly=mostly),
            e.ExpectColumnValuesToBeUnique(column="id_guia", mostly=mostly),
        ]
        return out

    return Suite("regulation_training", build, "training batch: labels, dates, cutoff, known codes")


def balance_suite(min_share: float = MIN_AUTHORISED_SHARE, max_share: float = MAX_AUTHORISED_SHARE,
                  min_rows: int = MIN_ROWS_PER_CLASS) -> Suite:
    """Table-level rules on the per-class summary (one row per decisao: linhas, share)."""
    def build():
        e = _gx()
        return [
            e.ExpectColumnDistinctValuesToEqualSet(column="decisao", value_set=list(DECISOES)),
            e.ExpectColumnValuesToBeBetween(column="linhas", min_value=min_rows),
            e.ExpectColumnValuesToBeBetween(column="share_autorizado", min_value=min_share, max_value=max_share),
        ]

    return Suite("regulation_training_balance", build,
                 f"class balance: share autorizado in [{min_share}, {max_share}], >= {min_rows} rows per class")


def class_summary(clean: pd.DataFrame) -> pd.DataFrame:
    """One row per class present (decisao, linhas) and the batch's share of 'autorizado' on every row."""
    counts = clean["decisao"].value_counts()
    total = int(counts.sum())
    share = float(counts.get("autorizado", 0)) / total if total else 0.0
    rows = [{"decisao": d, "linhas": int(counts.get(d, 0))} for d in DECISOES]
    rows += [{"decisao": str(d), "linhas": int(n)} for d, n in counts.items() if d not in DECISOES]
    return pd.DataFrame(rows).assign(share_autorizado=share)


def gate_training(frame: pd.DataFrame, cutoff: date | datetime, *, now: datetime | None = None,
                  tolerance: float = DEFAULT_TOLERANCE, min_share: float = MIN_AUTHORISED_SHARE,
                  max_share: float = MAX_AUTHORISED_SHARE, min_rows: int = MIN_ROWS_PER_CLASS) -> GateResult:
    """Validate a training batch (build_features' output) against ``cutoff`` (exclusive).

    Row-level failures within ``tolerance`` are quarantined (``result.quarantined``, with dq_reason);
    beyond it the report fails. The balance suite then runs on the clean rows. Classes absent from
    the batch count as 0 rows, so a batch with only 'autorizado' fails with linhas 0 for 'negado'.
    """
    cutoff_ts, now_ts = _ts(cutoff), (now or datetime.now()).replace(tzinfo=None)
    checked = frame.reset_index(drop=True).copy()
    unknown_code = checked["grupo"].isna() if "grupo" in checked else pd.Series(False, index=checked.index)
    unknown_ben = checked["sexo"].isna() if "sexo" in checked else pd.Series(False, index=checked.index)
    checked[UNKNOWN_CODE] = checked["codigo_procedimento"].where(unknown_code) \
        if "codigo_procedimento" in checked else None
    checked[UNKNOWN_BENEFICIARY] = checked["beneficiario"].where(unknown_ben) if "beneficiario" in checked else None
    report = validate(checked, training_suite(cutoff_ts, now_ts, tolerance))
    report.notes.append(f"training batch of {len(frame)} guias, cutoff {cutoff_ts:%Y-%m-%d %H:%M}")
    if report.success:
        clean, bad = quarantine.split(checked, report)
    else:
        clean, bad = checked, checked.iloc[0:0].assign(**{quarantine.REASON_COLUMN: pd.Series(dtype="object")})
    clean = clean.drop(columns=[UNKNOWN_CODE, UNKNOWN_BENEFICIARY])
    reports = [report]
    if report.success:
        balance = validate(class_summary(clean), balance_suite(min_share, max_share, min_rows))
        balance.notes.append(f"classes after quarantine: {class_summary(clean)[['decisao', 'linhas']].to_dict('records')}")
        reports.append(balance)
    return GateResult("regulation_training", reports, clean, bad)


# --- source --------------------------------------------------------------------------------------
def guias_suite(cutoff: datetime, now: datetime, tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    def build():
        e = _gx()
        mostly = 1.0 - tolerance
        return [
            e.ExpectColumnValuesToBeNull(column=UNKNOWN_CODE, mostly=mostly),
            e.ExpectColumnValuesToBeNull(column="id_beneficiario_fora_do_cadastro", mostly=mostly),
            e.ExpectColumnValuesToBeUnique(column="id_guia", mostly=mostly),
            e.ExpectColumnValuesToBeInSet(column="decisao", value_set=list(DECISOES), mostly=mostly),
            e.ExpectColumnValuesToBeInSet(column="tipo_guia", value_set=list(TIPOS_GUIA), mostly=mostly),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="data_decisao", column_B="data_solicitacao",
                                                      or_equal=True, ignore_row_if="either_value_is_missing",
                                                      mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_solicitacao", max_value=now, mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_decisao", max_value=now, mostly=mostly),
        ]

    return Suite("regulation_source_guias", build, "guias: known codes and beneficiaries, labels, dates")


def eventos_suite(counts: dict, tolerance: float, after_cutoff: str) -> Suite:
    allowed = int(np.floor(tolerance * counts.get("eventos", 0)))

    def build():
        e = _gx()
        out = [e.ExpectColumnValuesToBeBetween(column="eventos_no_futuro", max_value=0),
               e.ExpectColumnValuesToBeBetween(column="eventos_codigo_fora_do_catalogo", max_value=allowed),
               e.ExpectColumnValuesToBeBetween(column="eventos_beneficiario_fora_do_cadastro", max_value=allowed)]
        if after_cutoff == "fail":
            out.insert(0, e.ExpectColumnValuesToBeBetween(column="eventos_apos_corte", max_value=0))
        return out

    return Suite("regulation_source_eventos", build, "eventos: none after the cutoff or in the future, known codes")


def beneficiarios_suite(today: date, tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    def build():
        e = _gx()
        mostly = 1.0 - tolerance
        limit = _ts(today)
        return [
            e.ExpectColumnValuesToBeUnique(column="id_beneficiario"),
            e.ExpectColumnValuesToBeInSet(column="sexo", value_set=["M", "F"], mostly=mostly),
            e.ExpectColumnValuesToBeInSet(column="tipo_beneficiario", value_set=list(TIPOS_BENEFICIARIO),
                                          mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_nascimento", max_value=limit, mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="data_adesao", max_value=limit, mostly=mostly),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="data_adesao", column_B="data_nascimento",
                                                      or_equal=True, mostly=mostly),
        ]

    return Suite("regulation_source_beneficiarios", build, "beneficiarios: ids, sex, type, dates")


def procedimentos_suite() -> Suite:
    def build():
        e = _gx()
        return [
            e.ExpectColumnValuesToBeUnique(column="codigo_procedimento"),
            e.ExpectColumnValuesToNotBeNull(column="codigo_procedimento"),
            e.ExpectColumnValuesToBeInSet(column="sexo_permitido", value_set=["M", "F"]),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="idade_maxima", column_B="idade_minima",
                                                      or_equal=True, ignore_row_if="either_value_is_missing"),
            e.ExpectColumnValuesToBeBetween(column="carencia_dias", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="periodicidade_dias", min_value=1),
            e.ExpectColumnValuesToBeBetween(column="valor", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="valor_moderacao", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="nivel_complexidade", min_value=1),
            e.ExpectColumnValuesToNotBeNull(column="especial"),
            e.ExpectColumnValuesToNotBeNull(column="pericia_inicial"),
        ]

    return Suite("regulation_source_procedimentos", build, "procedimentos: unique codes, coherent limits")


def _dates(df: pd.DataFrame, cols) -> pd.DataFrame:
    from vigia.regulation.features import naive_timestamps

    for c in cols:
        df[c] = naive_timestamps(df[c])
    return df


def gate_source(spec, start: date, cutoff: date | datetime, *, now: datetime | None = None,
                tolerance: float = DEFAULT_TOLERANCE, eventos_after_cutoff: str = "fail") -> GateResult:
    """Check the regulation source before features are built for guias requested since ``start``.

    Raises :class:`vigia.regulation.source.RegulationContractError` when a table or column is
    missing or mistyped (nothing else can be checked then). ``result.clean`` / ``result.quarantined``
    are the guias extract's rows (beneficiary ids pseudonymised); ``result.quarantined_ids`` are the
    guias to leave out of the batch.
    """
    from vigia.regulation import quality_rules as rules
    from vigia.regulation import source as contract
    from vigia.regulation.features import pseudonymise_ids
    from vigia.sources import read_query

    if eventos_after_cutoff not in ("fail", "warn"):
        raise ValueError("eventos_after_cutoff must be 'fail' or 'warn'")
    contract.check(spec)
    cutoff_ts, now_ts = _ts(cutoff), (now or datetime.now()).replace(tzinfo=None)
    where = f"source '{spec.conn_id}' ({spec.describe()})"

    def read(name, params=None):
        df = read_query(spec, f"regulation/{name}.sql", params or {})
        df.columns = [c.lower() for c in df.columns]
        return df

    guias = _dates(read("quality_guias", {"inicio": start}), ["data_solicitacao", "data_decisao"])
    for col in ("id_beneficiario", "id_beneficiario_fora_do_cadastro"):
        guias[col] = pseudonymise_ids(guias[col]).where(guias[col].notna(), None)
    g_report = rules.evaluate(read, "guias", guias_suite(cutoff_ts, now_ts, tolerance), rules.GUIAS_RULES,
                              {"inicio": start, "agora": now_ts}, tolerance, pseudonymise_ids)
    g_report.notes.append(f"table guias of {where}, requested since {start}")
    clean, bad = quarantine.split(guias, g_report) if g_report.success else \
        (guias, guias.iloc[0:0].assign(**{quarantine.REASON_COLUMN: pd.Series(dtype="object")}))

    counts = read("quality_eventos", {"corte": cutoff_ts, "hoje": now_ts.date()}).iloc[0]
    counts = {k: int(v) if pd.notna(v) else 0 for k, v in counts.items()}
    e_report = validate(pd.DataFrame([counts]), eventos_suite(counts, tolerance, eventos_after_cutoff))
    examples = read("quality_eventos_exemplos", {"corte": cutoff_ts, "hoje": now_ts.date()})
    e_report.notes.append(f"table eventos of {where}: {counts['eventos']} eventos, cutoff {cutoff_ts:%Y-%m-%d %H:%M}")
    for regra, rows in examples.groupby("regra", sort=True):
        sample = [f"{r.codigo_procedimento}@{pd.Timestamp(r.data_realizacao).date()}" for r in rows.itertuples()]
        e_report.notes.append(f"{regra}: {counts.get(regra, 0)} evento(s), e.g. {sample}")

    b_report = rules.evaluate(read, "beneficiarios", beneficiarios_suite(now_ts.date(), tolerance),
                              rules.BENEFICIARIOS_RULES, {"hoje": _ts(now_ts.date())}, tolerance, pseudonymise_ids)
    b_report.notes.append(f"table beneficiarios of {where}")
    procs = read("quality_procedimentos")
    p_report = validate(procs, procedimentos_suite())
    p_report.notes.append(f"table procedimentos of {where}")
    return GateResult("regulation_source", [g_report, e_report, b_report, p_report], clean, bad)
