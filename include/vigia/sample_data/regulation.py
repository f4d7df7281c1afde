"""Sample ``regulation_source``: beneficiaries, a procedure catalogue, requests (guias) and performed
procedures (eventos), with a hidden decision policy and documented label noise.

Shape (``generate(out, beneficiaries, requests, end, seed)``, everything derived from ``seed``):

* **beneficiarios**: ages 0-95 (25% under 18), sex 50/50, titular/dependente/agregado; 80% joined
  the plan 2-20 years before ``end``, 20% in the last 20 months (so carência matters).
* **procedimentos**: :func:`catalogue` (module :mod:`vigia.sample_data.regulation_catalogue`), 32
  TUSS-like procedures. It holds what the sample rulesets
  need: total cholesterol ``40301630`` (periodicity 30 days), appendectomy ``31003079`` (once in a
  lifetime, written ``periodicidade_dias = 36500``), obstetric procedures restricted to sex 'F',
  orthodontics (grupo ``odontologia-ortodontia``, ages 7-18), procedures with carência (30-300 days),
  and ``especial`` / ``pericia_inicial`` procedures a human reviews.
* **eventos**: about ``events_per_beneficiary`` performed procedures per beneficiary over the
  :data:`HISTORY_DAYS` before ``end`` (never before the adesão, never on/after ``end``); half of a
  beneficiary's events repeat their one "chronic" procedure, so same-procedure history is common.
  Events are the performed history and are generated independently of guias.
* **guias**: ``requests`` requests with ``data_solicitacao`` in the :data:`REQUEST_DAYS` (~13 months)
  before ``end``, business hours, none before the beneficiary's adesão. :data:`FOLLOW_UP_SHARE` of
  them repeat a procedure the beneficiary performed 1..2x-its-periodicity days earlier (so
  periodicity violations occur naturally). Requests of the last :data:`PENDING_DAYS` days before
  ``end`` are pending (``decisao`` and ``data_decisao`` NULL). ``texto_anexo`` is NULL for ~55%; it
  sometimes holds the keywords 'urgência', 'oncológico', 'judicial'. ``cid`` (ICD-10, optional
  extension column) is filled for ~half of the guias.

**The hidden policy** (:func:`policy`; first rule that applies decides, reason in ``motivo``). All
history is point-in-time: only events with ``data_realizacao`` strictly before the request's date.

1. ``sexo``: ``sexo_permitido`` set and different from the beneficiary's sex -> negado.
2. ``idade``: age at the request (whole years) below ``idade_minima`` or above ``idade_maxima`` -> negado.
3. ``carencia``: ``dias_de_adesao < carencia_dias`` -> negado, unless the attachment says 'urgência'.
4. ``periodicidade``: an event of the same procedure less than ``periodicidade_dias`` days before
   the request (``dias_desde_mesmo_procedimento < periodicidade_dias``) -> negado.
5. ``repeticao``: exams (grupo ``exames-*``) performed 3 or more times in the 182 days before the
   request (``mesmo_procedimento_semestre >= 3``) -> negado (repeated exams).
6. ``revisao``: ``especial`` or ``pericia_inicial`` procedures always go to a human reviewer, who
   authorises them only when the attachment carries a justification keyword ('urgência',
   'oncológico', 'judicial'; see :data:`JUSTIFICATION_KEYWORDS`), else denies them.
7. ``padrao``: everything else -> autorizado.

Then :data:`LABEL_NOISE_RATE` (5%) of the decided guias, drawn uniformly at random, get the opposite
label (regulators are inconsistent). The policy's decision, the reason and whether the label was
flipped are written next to the DuckDB file as ``<name>_truth.parquet`` (id_guia, motivo,
decisao_politica, ruido); the four source tables never contain them.

What a model can learn: rules 1-5 and 7 are functions of build_features' columns; rule 6 and the
'urgência' exception of rule 3 depend on ``texto_anexo``, which the features do not carry, so on
those guias (about :data:`REVIEW_SHARE_APPROX` of them) even a perfect model guesses. Against the
noisy labels, the best possible scores are therefore a little below ``1 - LABEL_NOISE_RATE``:
:data:`CEILING_FROM_FEATURES` (the policy applied to the features, reviewed procedures guessed
'autorizado', their majority) and :data:`CEILING_WITH_ATTACHMENT` (the exact policy), measured on the
default sample (5,000 beneficiaries, 50,000 guias, seed 7; docs/regulation_source.md). A learner's
floors derive from them, e.g. accuracy >= CEILING_FROM_FEATURES["accuracy"] - margin.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from vigia import paths, sql as sqlfiles
from vigia.sample_data.regulation_catalogue import (  # noqa: F401 (re-exported: the module's API)
    ANEXO_KEYWORD, ANEXO_PLAIN, CATALOGUE_COLUMNS, CHRONIC, CID_BY_GROUP, JUSTIFICATION_KEYWORDS,
    ONCE_IN_A_LIFETIME, PROCEDURES, catalogue,
)

LABEL_NOISE_RATE = 0.05       # share of decided labels flipped after the policy
PENDING_DAYS = 3              # guias of the last 3 days before ``end`` are still pending
REQUEST_DAYS = 396            # ~13 months of guias before ``end``
HISTORY_DAYS = REQUEST_DAYS + 2 * 365  # events cover the guias' window plus two years before it
FOLLOW_UP_SHARE = 0.30        # guias that repeat a procedure the beneficiary performed before
RECENT_JOINERS = 0.20         # beneficiaries who joined in the last 20 months
REPETITION_LIMIT = 3          # rule 5: exams performed this many times in 182 days -> negado
REVIEW_SHARE_APPROX = 0.05    # especial/pericia_inicial share of guias (by catalogue weights)
TABLES = ("beneficiarios", "procedimentos", "guias", "eventos")
# best scores against the noisy labels, measured on the default sample (see the module docstring)
CEILING_FROM_FEATURES = {"accuracy": 0.942, "kappa": 0.868}
CEILING_WITH_ATTACHMENT = {"accuracy": 0.951, "kappa": 0.889}

# --- the hidden policy -------------------------------------------------------------------------
def has_justification(texto: pd.Series) -> np.ndarray:
    """True where the attachment holds one of :data:`JUSTIFICATION_KEYWORDS` (case-insensitive)."""
    lowered = texto.astype("string").str.lower()
    hit = np.zeros(len(texto), dtype=bool)
    for word in JUSTIFICATION_KEYWORDS:
        hit |= lowered.str.contains(word, regex=False).fillna(False).to_numpy(bool)
    return hit


def policy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The hidden decision of every row, before noise: (decisao, motivo) arrays.

    ``frame`` needs build_features' columns sexo, sexo_permitido, idade, idade_minima, idade_maxima,
    dias_de_adesao, carencia_dias, dias_desde_mesmo_procedimento, periodicidade_dias, grupo,
    mesmo_procedimento_semestre, especial, pericia_inicial, plus the guia's ``texto_anexo``.
    Rules in order (first match decides): sexo, idade, carencia, periodicidade, repeticao, revisao, padrao.
    """
    def num(col):
        return pd.to_numeric(frame[col], errors="coerce").to_numpy(float)

    idade = num("idade")
    justified = has_justification(frame["texto_anexo"])
    urgent = frame["texto_anexo"].astype("string").str.lower().str.contains("urgência", regex=False) \
        .fillna(False).to_numpy(bool)
    allowed_sex = frame["sexo_permitido"].astype("string")
    rules = [
        ("sexo", (allowed_sex.notna() & (allowed_sex != frame["sexo"].astype("string"))).fillna(False)
         .to_numpy(bool)),
        ("idade", (idade < np.nan_to_num(num("idade_minima"), nan=-1))
         | (idade > np.nan_to_num(num("idade_maxima"), nan=1e9))),
        ("carencia", (num("dias_de_adesao") < num("carencia_dias")) & ~urgent),
        ("periodicidade", num("dias_desde_mesmo_procedimento") < num("periodicidade_dias")),
        ("repeticao", frame["grupo"].astype("string").str.startswith("exames-").fillna(False).to_numpy(bool)
         & (num("mesmo_procedimento_semestre") >= REPETITION_LIMIT)),
    ]
    reviewed = (frame["especial"].astype(bool) | frame["pericia_inicial"].astype(bool)).to_numpy(bool)
    motivo = np.full(len(frame), "padrao", dtype=object)
    decisao = np.full(len(frame), "autorizado", dtype=object)
    decided = np.zeros(len(frame), dtype=bool)
    for name, hit in rules:
        now = hit & ~decided
        motivo[now] = name
        decisao[now] = "negado"
        decided |= now
    now = reviewed & ~decided
    motivo[now] = "revisao"
    decisao[now & ~justified] = "negado"
    return decisao, motivo


# --- generation --------------------------------------------------------------------------------
def _days(d) -> int:
    return (pd.Timestamp(d) - pd.Timestamp("1970-01-01")).days


def _to_dates(days: np.ndarray) -> np.ndarray:
    return (np.asarray(days, dtype="int64")).astype("datetime64[D]")


def _whole_years(birth: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Age in whole years at ``at`` (both datetime64[D]): year difference, minus one before the birthday."""
    b = pd.DatetimeIndex(birth)
    a = pd.DatetimeIndex(at)
    before = (a.month < b.month) | ((a.month == b.month) & (a.day < b.day))
    return (a.year - b.year - before.astype(int)).to_numpy()


def _beneficiaries(n: int, end_day: int, rng: np.random.Generator) -> pd.DataFrame:
    group = rng.choice(3, size=n, p=[0.25, 0.60, 0.15])
    age_days = np.where(group == 0, rng.uniform(0, 18, n), np.where(group == 1, rng.uniform(18, 65, n),
                                                                     rng.uniform(65, 95, n))) * 365.25
    birth = end_day - np.maximum(age_days.astype(int), 30)
    recent = rng.random(n) < RECENT_JOINERS
    joined_ago = np.where(recent, rng.integers(1, 610, n), rng.integers(730, 7300, n))
    adesao = np.minimum(np.maximum(end_day - joined_ago, birth), end_day - 1)
    adult = group > 0
    tipo = np.where(adult, rng.choice(["titular", "dependente", "agregado"], size=n, p=[0.65, 0.25, 0.10]),
                    np.where(rng.random(n) < 0.9, "dependente", "agregado"))
    return pd.DataFrame({
        "id_beneficiario": np.char.add("B", np.char.zfill(np.arange(1, n + 1).astype(str), 9)),
        "sexo": np.where(rng.random(n) < 0.5, "F", "M"),
        "data_nascimento": _to_dates(birth),
        "tipo_beneficiario": tipo,
        "data_adesao": _to_dates(adesao),
    })


def _valid_for(cat: pd.DataFrame, proc: np.ndarray, sexo: np.ndarray, idade: np.ndarray) -> np.ndarray:
    """Whether each procedure index suits the person (sex and age limits of the catalogue)."""
    sex = cat["sexo_permitido"].to_numpy(object)[proc]
    lo = cat["idade_minima"].astype("float").fillna(-1).to_numpy()[proc]
    hi = cat["idade_maxima"].astype("float").fillna(1e9).to_numpy()[proc]
    return ((pd.isna(sex)) | (sex == sexo)) & (idade >= lo) & (idade <= hi)


def _events(ben: pd.DataFrame, activity: np.ndarray, per_ben: float, end_day: int, cat: pd.DataFrame,
            rng: np.random.Generator) -> pd.DataFrame:
    n_ben = len(ben)
    counts = rng.poisson(per_ben * activity)
    owner = np.repeat(np.arange(n_ben), counts)
    total = len(owner)
    adesao = ben["data_adesao"].to_numpy("datetime64[D]").astype("int64")
    lo = np.maximum(end_day - HISTORY_DAYS, adesao)[owner]
    span = np.maximum(end_day - lo, 1)
    day = lo + (rng.random(total) * span).astype("int64")
    weights = cat["peso"].to_numpy(float)
    proc = rng.choice(len(cat), size=total, p=weights / weights.sum())
    chronic_idx = cat.index[cat["codigo_procedimento"].isin(CHRONIC)].to_numpy()
    favourite = chronic_idx[rng.integers(0, len(chronic_idx), n_ben)]
    use_fav = rng.random(total) < 0.5
    proc = np.where(use_fav, favourite[owner], proc)
    sexo = ben["sexo"].to_numpy(object)[owner]
    birth = ben["data_nascimento"].to_numpy("datetime64[D]").astype("int64")[owner]
    idade = ((day - birth) / 365.25).astype(int)
    ok = _valid_for(cat, proc, sexo, idade)
    proc = np.where(ok, proc, int(cat.index[cat["codigo_procedimento"] == "40304361"][0]))
    valor = cat["valor"].to_numpy(float)[proc] * rng.lognormal(0, 0.1, total)
    return pd.DataFrame({
        "id_beneficiario": ben["id_beneficiario"].to_numpy(object)[owner],
        "codigo_procedimento": cat["codigo_procedimento"].to_numpy(object)[proc],
        "data_realizacao": _to_dates(day),
        "valor": np.round(valor, 2),
    })


def _requests(ben: pd.DataFrame, activity: np.ndarray, events: pd.DataFrame, n: int, end_day: int,
              cat: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """(beneficiary index, procedure index, day) of every request."""
    start_day = end_day - REQUEST_DAYS
    code_index = pd.Series(np.arange(len(cat)), index=cat["codigo_procedimento"])
    # follow-ups: repeat an event's procedure some days later
    n_follow = int(n * FOLLOW_UP_SHARE)
    ev_day = events["data_realizacao"].to_numpy("datetime64[D]").astype("int64")
    recent = np.flatnonzero(ev_day >= start_day - 120)
    pick = rng.choice(recent, size=min(len(recent), int(n_follow * 1.5)), replace=False) if len(recent) else \
        np.array([], dtype=int)
    f_proc = code_index.loc[events["codigo_procedimento"].to_numpy(object)[pick]].to_numpy()
    period = cat["periodicidade_dias"].astype("float").fillna(60).clip(upper=365).to_numpy()[f_proc]
    f_day = ev_day[pick] + 1 + (rng.random(len(pick)) * np.maximum(2 * period, 2)).astype("int64")
    keep = (f_day >= start_day) & (f_day < end_day)
    ben_index = pd.Series(np.arange(len(ben)), index=ben["id_beneficiario"])
    f_ben = ben_index.loc[events["id_beneficiario"].to_numpy(object)[pick][keep]].to_numpy()
    f_proc, f_day = f_proc[keep][:n_follow], f_day[keep][:n_follow]
    f_ben = f_ben[:n_follow]
    # fresh requests
    n_new = n - len(f_proc)
    b = rng.choice(len(ben), size=n_new, p=activity / activity.sum())
    weights = cat["peso"].to_numpy(float)
    p = rng.choice(len(cat), size=n_new, p=weights / weights.sum())
    adesao = ben["data_adesao"].to_numpy("datetime64[D]").astype("int64")[b]
    lo = np.minimum(np.maximum(start_day, adesao), end_day - 1)
    d = lo + (rng.random(n_new) * (end_day - lo)).astype("int64")
    return pd.DataFrame({"ben": np.concatenate([f_ben, b]), "proc": np.concatenate([f_proc, p]),
                         "day": np.concatenate([f_day, d])})


def _history(con, guias: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per guia: days since the last same-procedure event strictly before its date, and how many in 182 days.

    A join and an aggregate (deliberately not the feature SQL's window functions, so tests can
    compare two independent formulations).
    """
    g = pd.DataFrame({"id_guia": guias["id_guia"], "id_beneficiario": guias["id_beneficiario"],
                      "codigo_procedimento": guias["codigo_procedimento"],
                      "dia": guias["dia"].to_numpy("datetime64[D]").astype("int64")})
    e = pd.DataFrame({"id_beneficiario": events["id_beneficiario"],
                      "codigo_procedimento": events["codigo_procedimento"],
                      "dia": events["data_realizacao"].to_numpy("datetime64[D]").astype("int64")})
    con.register("_g", g)
    con.register("_e", e)
    try:
        return con.execute("""
            SELECT g.id_guia,
                   g.dia - max(e.dia) AS dias_desde_mesmo_procedimento,
                   count(e.dia) FILTER (WHERE e.dia >= g.dia - 182) AS mesmo_procedimento_semestre
            FROM _g g
            LEFT JOIN _e e ON e.id_beneficiario = g.id_beneficiario
                          AND e.codigo_procedimento = g.codigo_procedimento
                          AND e.dia < g.dia
            GROUP BY g.id_guia, g.dia
        """).df()
    finally:
        con.unregister("_g")
        con.unregister("_e")


def _attachments(reviewed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(reviewed)
    plain = np.array(ANEXO_PLAIN, dtype=object)[rng.integers(0, len(ANEXO_PLAIN), n)]
    keyword = np.array(ANEXO_KEYWORD, dtype=object)[rng.integers(0, len(ANEXO_KEYWORD), n)]
    u = rng.random(n)
    # reviewed procedures: 60% carry a justification; others: 55% no attachment, 6% a keyword
    text = np.where(reviewed, np.where(u < 0.60, keyword, plain),
                    np.where(u < 0.55, None, np.where(u < 0.61, keyword, plain)))
    return text


def generate(out: Path, beneficiaries: int, requests: int, end: date | None = None, seed: int = 7,
             events_per_beneficiary: float = 20.0) -> dict[str, int]:
    """Write the four tables into the DuckDB file ``out`` (replaced) and the truth next to it.

    ``end`` (default today) is exclusive: guias and eventos all fall before it. Returns row counts.
    """
    import duckdb

    end = end or date.today()
    out = Path(out)
    rng = np.random.default_rng(seed)
    end_day = _days(end)
    cat = catalogue()
    ben = _beneficiaries(beneficiaries, end_day, rng)
    activity = rng.gamma(2.0, 0.5, beneficiaries)
    events = _events(ben, activity, events_per_beneficiary, end_day, cat, rng)
    req = _requests(ben, activity, events, requests, end_day, cat, rng)

    seconds = 7 * 3600 + (rng.random(len(req)) * 13 * 3600).astype("int64")
    ts = req["day"].to_numpy().astype("datetime64[D]").astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    order = np.argsort(ts, kind="stable")
    req, ts = req.iloc[order].reset_index(drop=True), ts[order]
    proc = req["proc"].to_numpy()
    b = req["ben"].to_numpy()
    n = len(req)
    reviewed = (cat["especial"] | cat["pericia_inicial"]).to_numpy()[proc]
    texto = _attachments(reviewed, rng)
    grupos = cat["grupo"].to_numpy(object)[proc]
    cid = _fast_cid(grupos, rng)
    oncologico = pd.Series(texto, dtype="string").str.contains("oncológico", regex=False).fillna(False).to_numpy(bool)
    cid = np.where(oncologico, "C50.9", np.where(rng.random(n) < 0.5, None, cid))
    providers = np.char.add("PR", np.char.zfill((rng.zipf(1.6, n) % 300 + 1).astype(str), 4))
    guias = pd.DataFrame({
        "id_guia": np.arange(1, n + 1, dtype="int64"),
        "id_beneficiario": ben["id_beneficiario"].to_numpy(object)[b],
        "data_solicitacao": ts,
        "codigo_procedimento": cat["codigo_procedimento"].to_numpy(object)[proc],
        "tipo_guia": cat["tipo_guia"].to_numpy(object)[proc],
        "id_prestador": providers,
        "texto_anexo": texto,
    })

    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (out, out.with_name(out.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    try:
        guias["dia"] = req["day"].to_numpy().astype("datetime64[D]")
        hist = _history(con, guias, events).set_index("id_guia").reindex(guias["id_guia"])
        birth = ben["data_nascimento"].to_numpy("datetime64[D]")[b]
        adesao = ben["data_adesao"].to_numpy("datetime64[D]")[b]
        day = guias["dia"].to_numpy("datetime64[D]")
        frame = pd.DataFrame({
            "sexo": ben["sexo"].to_numpy(object)[b],
            "idade": _whole_years(birth, day),
            "dias_de_adesao": (day - adesao).astype("int64"),
            "dias_desde_mesmo_procedimento": hist["dias_desde_mesmo_procedimento"].to_numpy(),
            "mesmo_procedimento_semestre": hist["mesmo_procedimento_semestre"].to_numpy(),
            "texto_anexo": texto,
        })
        for col in ("sexo_permitido", "idade_minima", "idade_maxima", "carencia_dias", "periodicidade_dias",
                    "grupo", "especial", "pericia_inicial"):
            frame[col] = cat[col].to_numpy(object)[proc]
        decisao, motivo = policy(frame)
        pending = day >= np.datetime64(end - timedelta(days=PENDING_DAYS), "D")
        flip = (rng.random(n) < LABEL_NOISE_RATE) & ~pending
        label = np.where(flip, np.where(decisao == "autorizado", "negado", "autorizado"), decisao)
        delay_s = np.where(motivo == "revisao", rng.integers(86_400, 7 * 86_400, n),
                           rng.exponential(6 * 3600, n).astype("int64"))
        decided_at = np.minimum(ts + delay_s.astype("timedelta64[s]"),
                                np.datetime64(datetime.combine(end, datetime.min.time())) - np.timedelta64(60, "s"))
        guias["decisao"] = np.where(pending, None, label)
        guias["data_decisao"] = pd.Series(decided_at).where(~pending)
        guias["cid"] = cid
        guias = guias.drop(columns=["dia"])
        procedimentos = cat.drop(columns=["tipo_guia", "peso"])
        con.execute(sqlfiles.load("regulation/source.sql"))
        for name, df in (("beneficiarios", ben), ("procedimentos", procedimentos), ("guias", guias),
                         ("eventos", events)):
            con.register("_rows", df)
            cols = ", ".join(df.columns)
            con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _rows")
            con.unregister("_rows")
    finally:
        con.close()
    truth = pd.DataFrame({"id_guia": guias["id_guia"], "motivo": motivo, "decisao_politica": decisao,
                          "ruido": flip})
    truth.to_parquet(truth_path(out), index=False)
    return {"beneficiarios": len(ben), "procedimentos": len(procedimentos), "guias": len(guias),
            "eventos": len(events)}


def _fast_cid(grupos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(grupos), dtype=object)
    for g, codes in CID_BY_GROUP.items():
        where = grupos == g
        out[where] = np.array(codes, dtype=object)[rng.integers(0, len(codes), int(where.sum()))]
    return out


def truth_path(out: Path) -> Path:
    """Where the policy's decision, reason and noise flag of every guia are written."""
    out = Path(out)
    return out.with_name(f"{out.stem}_truth.parquet")


def default_out() -> Path:
    return paths.data_dir() / "sources" / "regulation.duckdb"


def load_into(source: Path, target_uri: str) -> dict[str, int]:
    """Copy the four tables of a generated DuckDB file into another database (e.g. PostgreSQL)."""
    import duckdb

    from vigia.connections import ConnectionSpec
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("regulation_source", target_uri))
    counts = {}
    with duckdb.connect(str(source), read_only=True) as con:
        for table in TABLES:
            df = con.execute(f"SELECT * FROM {table}").df()
            for col in df.columns:
                if df[col].dtype == "float64" and col in ("periodicidade_dias", "idade_minima", "idade_maxima"):
                    df[col] = df[col].astype("Int64")
            counts[table] = wh.replace_table("regulation/source.sql", table, df)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vigia.sample_data regulation",
        description="Sample regulation_source (beneficiarios, procedimentos, guias, eventos) in a DuckDB file.")
    parser.add_argument("--beneficiaries", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=50_000, help="guias (size knob)")
    parser.add_argument("--events-per-beneficiary", type=float, default=20.0,
                        help=f"mean performed procedures per beneficiary over {HISTORY_DAYS} days")
    parser.add_argument("--end", default=None, help="YYYY-MM-DD, exclusive (default: today)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="DuckDB file (default: data/sources/regulation.duckdb)")
    args = parser.parse_args(argv)
    end = date.fromisoformat(args.end) if args.end else date.today()
    out = args.out or default_out()
    started = time.perf_counter()
    counts = generate(out, args.beneficiaries, args.requests, end, seed=args.seed,
                      events_per_beneficiary=args.events_per_beneficiary)
    print(f"regulation sample: {counts['beneficiarios']:,} beneficiarios, {counts['guias']:,} guias, "
          f"{counts['eventos']:,} eventos, {counts['procedimentos']} procedimentos; end {end} (exclusive), "
          f"seed {args.seed}, {time.perf_counter() - started:.1f}s -> {out} (truth: {truth_path(out).name})")
    return 0
