"""Point-in-time features of prior-authorisation requests (guias), one row per guia.

:func:`build_features` runs ``include/sql/regulation/features.sql`` on the ``regulation_source``
(DuckDB or PostgreSQL: the same SQL) and pseudonymises the beneficiary id before returning; the raw
id never leaves this function. The SQL joins each requested guia with its beneficiary's events of
the year before (hash join on the beneficiary, filter on integer day numbers) and counts them per
guia with conditional sums, e.g. ``exames_mes = #(events on days d-30 .. d-1)``; a second join on
(beneficiary, procedure) gives the last earlier event of the same procedure, a third the earlier
guias. Choice: this replaced running window sums read at four markers per guia (C(d) - C(d-N)),
whose three sorts of markers + events took 21 of 22 s on a 200k-guia / 2M-event sample; the joins
take ~3 s there with identical output, stay one portable SQL text, and cost O(sum over
beneficiaries of guias x events in a year) (see the SQL file's header and docs/benchmarks.md).

Point-in-time rule, for a guia requested at timestamp ``ts`` on day ``d``:

* eventos count only when ``data_realizacao < d``. An event on the request's own day is not
  counted: events carry a date, not a time, so nobody can tell whether it came before the request.
* other guias count only when ``data_solicitacao < ts``: two requests on the same day see each
  other in their order; two at the very same timestamp do not see each other.
* windows: ``_mes`` = 30 days, ``_semestre`` = 182 days, ``_ano`` = 365 days before ``d``, i.e.
  events on days ``d-N .. d-1``; guias on days ``d-N .. d-1`` plus the earlier ones of day ``d``.
* ``dias_desde_mesmo_procedimento`` = ``d`` minus the day of the latest event of the same procedure
  before ``d`` (whole history, no window; NULL if none), so it is always >= 1.
* ``idade`` = whole years between data_nascimento and the request's date (one less before the
  birthday in the request's year); ``dias_de_adesao`` = ``d - data_adesao`` in days.
* ``mesma_complexidade_*`` counts events whose procedure has the requested procedure's
  ``nivel_complexidade`` (events of codes missing from the catalogue have no level and never count;
  a guia whose code is missing gets 0).
* ``id_guia`` must be unique (the DQ gates check it): rows are matched back by it.

Output dtypes are the same from both engines: timestamps ``datetime64[us]``; integer columns
``int64`` (``float64`` if the source leaves one NULL, e.g. a guia whose beneficiary is unknown);
catalogue limits and ``dias_desde_mesmo_procedimento`` ``float64`` (NaN = no limit / never);
``valor``/``valor_moderacao`` ``float64``; ``especial``/``pericia_inicial`` ``bool``; text columns
``str``. ``autorizado`` is 1/0 (``float64`` NaN for pending guias).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from vigia.connections import ConnectionSpec

log = logging.getLogger(__name__)

SQL_NAME = "regulation/features.sql"
PSEUDONYM_KIND = "beneficiario"
WINDOWS = {"mes": 30, "semestre": 182, "ano": 365}

KEY_COLUMNS = ["id_guia", "beneficiario", "data_solicitacao", "data_decisao", "decisao", "autorizado"]
ATTRIBUTES = [
    "sexo", "idade", "tipo_beneficiario", "tipo_guia", "id_prestador", "codigo_procedimento", "grupo",
    "periodicidade_dias", "idade_minima", "idade_maxima", "sexo_permitido", "carencia_dias", "valor",
    "valor_moderacao", "nivel_complexidade", "ordem", "especial", "pericia_inicial", "dias_de_adesao",
    "dias_desde_mesmo_procedimento",
]
# the seed's 12 expert history features (Apêndice A, 16-27)
HISTORY_FEATURES = [f"{what}_{window}" for what in ("exames", "mesmo_procedimento", "mesma_complexidade", "guias")
                    for window in WINDOWS]
FEATURE_COLUMNS = ATTRIBUTES + HISTORY_FEATURES
OUTPUT_COLUMNS = KEY_COLUMNS + FEATURE_COLUMNS

TEXT_COLUMNS = ["decisao", "sexo", "tipo_beneficiario", "tipo_guia", "id_prestador", "codigo_procedimento",
                "grupo", "sexo_permitido"]
FLOAT_COLUMNS = ["periodicidade_dias", "idade_minima", "idade_maxima", "dias_desde_mesmo_procedimento",
                 "valor", "valor_moderacao"]
INT_COLUMNS = ["autorizado", "idade", "carencia_dias", "nivel_complexidade", "ordem", "dias_de_adesao",
               *HISTORY_FEATURES]
BOOL_COLUMNS = ["especial", "pericia_inicial"]


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError(f"build_features: window bound {value} must be a date (midnight), not a time of day")
        return value.date()
    return value


def query_params(start: date, end: date, only_pending: bool) -> dict:
    """Bind values of ``features.sql``: the window [start, end) and the history that can reach it."""
    return {"inicio": start, "fim": end, "historia_inicio": start - timedelta(days=366),
            "only_pending": bool(only_pending)}


def normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """The same dtypes whichever engine produced ``raw`` (columns as in features.sql, lower-case)."""
    df = raw.copy()
    df.columns = [str(c).lower() for c in df.columns]
    for col in ("data_solicitacao", "data_decisao"):
        df[col] = naive_timestamps(df[col])
    for col in TEXT_COLUMNS:
        df[col] = df[col].astype("str").where(df[col].notna(), np.nan) if len(df) else df[col].astype("str")
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    for col in INT_COLUMNS:
        values = pd.to_numeric(df[col], errors="coerce")
        df[col] = values.astype("int64") if values.notna().all() else values.astype("float64")
    for col in BOOL_COLUMNS:
        if df[col].notna().all():
            df[col] = df[col].astype(bool)
    if pd.api.types.is_numeric_dtype(df["id_guia"]):
        df["id_guia"] = df["id_guia"].astype("int64")
    else:
        df["id_guia"] = df["id_guia"].astype("str")
    return df


def naive_timestamps(values: pd.Series) -> pd.Series:
    """``datetime64[us]`` without time zone; a TIMESTAMP WITH TIME ZONE keeps its wall-clock time in
    the session's zone (what the database returned), so both column kinds compare alike."""
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)
    return ts.astype("datetime64[us]")


def build_features(source: ConnectionSpec, start: date, end: date, *, only_pending: bool = False,
                   check_contract: bool = True) -> pd.DataFrame:
    """One row per guia with ``data_solicitacao`` in [start, end): decided ones, or only pending ones.

    Columns: :data:`KEY_COLUMNS` (``beneficiario`` is the pseudonymised id_beneficiario) then
    :data:`FEATURE_COLUMNS`, ordered by data_solicitacao, id_guia. The source is checked against
    the contract first (:func:`vigia.regulation.source.check`), so a missing or mistyped column is
    reported by table and column name.
    """
    from vigia.regulation import source as contract
    from vigia.sources import read_query

    start, end = _as_date(start), _as_date(end)
    if end <= start:
        raise ValueError(f"build_features: empty window [{start}, {end}); end must be after start")
    if check_contract:
        contract.check(source)
    raw = read_query(source, SQL_NAME, query_params(start, end, only_pending))
    df = normalise(raw)
    df["beneficiario"] = pseudonymise_ids(df.pop("id_beneficiario"))
    log.info("regulation features: %d %s guias in [%s, %s) from %s", len(df),
             "pending" if only_pending else "decided", start, end, source.describe())
    return df[OUTPUT_COLUMNS]


def pseudonymise_ids(ids: pd.Series) -> pd.Series:
    """The beneficiary pseudonym (vigia.pseudonym, kind ``beneficiario``) of every raw id, as text.
    NULL ids stay NULL."""
    from vigia import pseudonym

    return pseudonym.pseudonymise(ids.astype("string"), PSEUDONYM_KIND)
