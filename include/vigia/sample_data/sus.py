"""Sample DATASUS landing for the SUS scoring (InfoSAS): SIA, SIH, CNES and IBGE population.

:func:`generate` writes, for every month of a window and every UF of a
handful of real states (AC, BA, MG, PR, SP, with their IBGE prefixes)::

    <landing>/SIA/PA<UF><AA><MM>.parquet    one row per production record (PA_* columns)
    <landing>/SIH/RD<UF><AA><MM>.parquet    one row per AIH
    <landing>/CNES/ST<UF><AA><MM>.parquet   every establishment of the UF
    <landing>/IBGE/populacao.csv            municipio, ano, populacao (every year touched)
    <landing>/_planted.json                 the planted anomalies (the truth the scores must find)

Every code column is text with its leading zeros, in the real formats
(``tests/fixtures/datasus``): CNES 7 digits, municipality 6 digits (UF
prefix + 4), SIGTAP procedure 10 digits, competência ``AAAAMM``.

The world
---------
* Municipalities: split over the UFs in proportion to their real number of
  municipalities; populations log-normal (median ~10,000, about a quarter
  under 5,000), the capitals with their real population (four above 1M).
  Each UF has regional hubs (its capital and its largest cities); every other
  municipality refers to one hub.
* Establishments: ``establishments_per_10k`` per 10,000 inhabitants, at least
  one per municipality; hubs and cities of 30,000+ have a general hospital
  (TP_UNID "05"); the others are centros de saúde ("02"), clínicas ("36"),
  SADT ("39"), a few mobile units ("40", at least one per capital).
* Production: for every municipality (of residence) and SIGTAP forma, the
  expected number of records per month is base rate x population x a static
  municipal propensity x seasonality x month noise; the count is Poisson.
  Records go to an establishment of the same municipality (by size) or, with
  a per-forma probability (always for radiotherapy, chemotherapy and cardiac
  surgery), to one of the municipality's hub. SIH records only go to
  hospitals. About a fifth of the records fall outside every mining target.
* SIA records have PA_QTDAPR >= 1 and PA_VALAPR = quantity x the
  procedure's unit price; about 5% of each file's rows are late (PA_CMP 1-3
  months before PA_MVM). SIH rows are single admissions, VAL_TOT drawn
  around the procedure's price.

Planted anomalies (in end_month; see ``PLANTED_KINDS``)
-------------------------------------------------------
1. ``salto_abrupto``: one establishment's production in one SIA target is
   ~6x its usual level.
2. ``excesso_per_capita``: 3-4 small municipalities (< 20,000 inhabitants) of
   one UF, served almost only by one establishment, with ~8x the national
   per-capita rate of one SIA target in each of the last 12 months.
3. ``hospital_caro``: one hospital's VAL_TOT per admission for one SIH target
   is ~3x the national price.
4. ``campanha_unidade_movel``: a mobile unit (TP_UNID "40") screens several
   small municipalities with mammographies (SIA-020403): a spike that is
   benign and must be flagged as such.

Size knob: ``municipalities`` and ``sia_rows_per_month`` go from the demo
(300, 200,000: a few seconds) to the national shape (5,570 municipalities,
50M+ SIA records a month: ``--municipalities 5570 --sia-rows 51000000``).
Generation is vectorised with numpy and each file is written with a pyarrow
``ParquetWriter``, in row groups of at most ``CHUNK_ROWS`` records, so memory
stays bounded by one chunk of one UF-month (national month: peak RSS 0.6 GB).
``sia_part_rows`` splits a big UF-month into ``PA<UF><AA><MM>a``, ``b``, ... as
DATASUS does; ``prior_cube_months`` draws the cubes of earlier months straight
into the warehouse's ``sus_production_monthly`` (:mod:`.sus_history`) instead of
generating their raw rows.

Modules: :mod:`.sus_geo` (UFs, municipalities, establishments),
:mod:`.sus_production` (procedures, rates, the Parquet writers),
:mod:`.sus_anomalies` (the planted anomalies), :mod:`.sus_history` (prior
cubes); this module composes them (:func:`generate`, the CLI).

Determinism: everything derives from ``seed``; each file has its own random
stream (seed, system, UF, month), so the same arguments give byte-identical
files.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from vigia import runs
from vigia.sample_data import sus_history
from vigia.sample_data.sus_anomalies import PLANTED_KINDS, _plant
from vigia.sample_data.sus_geo import UFS, _build_world, _code_table, _month_index, _month_of
from vigia.sample_data.sus_production import (CHUNK_ROWS, LATE_LAGS, SIH_PER_SIA, _build_system, _calibrate,
                                              _file_name, _Tables, _write_cnes, _write_production)
from vigia.sus import targets as targets_mod

__all__ = ["CHUNK_ROWS", "PLANTED_KINDS", "UFS", "generate", "main"]


def generate(landing: Path, end_month: date, months: int = 13, municipalities: int = 300,
             establishments_per_10k: float = 1.0, sia_rows_per_month: int = 200_000, seed: int = 11,
             sia_part_rows: int | None = None, prior_cube_months: int = 0, warehouse=None) -> dict:
    """Write the sample landing (SIA, SIH, CNES per UF and month; IBGE population; planted truth).

    ``sia_part_rows``: split a UF-month's SIA file into parts ``a``, ``b``, ... of about this many
    records (whole chunks of ``CHUNK_ROWS``), as DATASUS does for big states; None: one file.
    ``prior_cube_months``: the number of months before the first raw month whose cubes are drawn
    from the model (:mod:`vigia.sample_data.sus_history`) and, when ``warehouse`` (a
    :class:`vigia.warehouse.Warehouse`) is given, published into ``sus_production_monthly``; the
    population file then covers their years too.

    Returns the landing, months, UFs, ``planted`` (one dict per anomaly: kind, cnes, alvo, municipios,
    uf, tp_unid, competencias, fator, benigno, descricao), ``counts`` (rows per system,
    municipalities, establishments, files) and ``prior_cubes`` (cells per prior month written).
    """
    started = time.perf_counter()
    if months < 1:
        raise ValueError("months must be at least 1")
    if prior_cube_months < 0:
        raise ValueError("prior_cube_months must not be negative")
    if sia_rows_per_month < 1_000:
        raise ValueError("sia_rows_per_month must be at least 1,000")
    landing = Path(landing)
    end = runs.month_start(end_month)
    end_idx = _month_index(end)
    month_idx = [end_idx - i for i in reversed(range(months))]

    tg = targets_mod.load()
    world = _build_world(municipalities, establishments_per_10k, np.random.default_rng([seed, 0]))
    sia = _build_system("SIA", tg, np.random.default_rng([seed, 1]))
    sih = _build_system("SIH", tg, np.random.default_rng([seed, 2]))
    _calibrate(sia, world, sia_rows_per_month, np.random.default_rng([seed, 3]))
    _calibrate(sih, world, sia_rows_per_month * SIH_PER_SIA, np.random.default_rng([seed, 4]))
    planted, extras, factors = _plant(world, sia, sih, tg, month_idx, np.random.default_rng([seed, 5]))

    lk = _Tables(muni=_code_table(world.m_code, 6), cnes=_code_table(world.e_cnes, 7),
                 tp_unid=world.e_type.astype("S2"), ages=_code_table(range(111), 3))
    for sub in ("SIA", "SIH", "CNES", "IBGE"):
        (landing / sub).mkdir(parents=True, exist_ok=True)
    rows = {"SIA": 0, "SIH": 0, "CNES": 0}
    files = 0
    for mvm in month_idx:
        for uf, sigla in enumerate(world.uf_sigla):
            for system, prefix in ((sia, "PA"), (sih, "RD")):
                rows[system.name] += _write_production(
                    landing / system.name / _file_name(prefix, sigla, mvm), system, world, lk, uf, mvm, end_idx,
                    [x for x in extras if x.system == system.name and x.month_idx == mvm and x.uf == uf],
                    [f for f in factors if f.system == system.name and f.month_idx == mvm], seed,
                    part_rows=sia_part_rows)
            rows["CNES"] += _write_cnes(landing / "CNES" / _file_name("ST", sigla, mvm), world, lk, uf, mvm)
            files += 3

    # population for every year a competência touches (late SIA records reach 3 months back)
    first_idx = month_idx[0] - prior_cube_months
    years = range(_month_of(first_idx - max(LATE_LAGS)).year, end.year + 1)
    pop = pd.concat([pd.DataFrame({"municipio": [f"{c:06d}" for c in world.m_code], "ano": y,
                                   "populacao": world.population(y, end.year)}) for y in years])
    pop.to_csv(landing / "IBGE" / "populacao.csv", index=False)
    truth = {"end_month": f"{end:%Y-%m}", "seed": seed, "planted": planted}
    (landing / "_planted.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    prior = {}
    if prior_cube_months and warehouse is not None:
        versions = dict(zip(tg["alvo"], tg["versao"].astype(int)))
        prior = sus_history.write_prior_cubes(warehouse, sus_history.prior_cubes(
            [sia, sih], world, versions, _month_of(first_idx), prior_cube_months, end, seed))

    return {
        "landing": str(landing),
        "end_month": f"{end:%Y-%m}",
        "months": [f"{_month_of(i):%Y-%m}" for i in month_idx],
        "ufs": list(world.uf_sigla),
        "planted": planted,
        "counts": {"rows": rows, "municipalities": int(len(world.m_code)),
                   "establishments": int(len(world.e_cnes)), "files": files + 1},
        "prior_cubes": prior,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: write the sample SUS landing and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m vigia.sample_data sus",
        description="Sample DATASUS landing (SIA, SIH, CNES, IBGE) with planted anomalies.")
    parser.add_argument("--landing", required=True, type=Path, help="folder to write (SIA/, SIH/, CNES/, IBGE/)")
    parser.add_argument("--end-month", default=None,
                        help="last month, YYYY-MM (default: the month before today)")
    parser.add_argument("--months", type=int, default=13, help="how many months, ending at --end-month")
    parser.add_argument("--municipalities", type=int, default=300, help="size knob: 300 (demo) .. 5570 (national)")
    parser.add_argument("--establishments-per-10k", type=float, default=1.0)
    parser.add_argument("--sia-rows", type=int, default=200_000, help="SIA records per month (size knob)")
    parser.add_argument("--sia-part-rows", type=int, default=None,
                        help="split each UF-month's SIA file into parts a, b, ... of about this many records")
    parser.add_argument("--prior-cubes", type=int, default=0,
                        help="months before the first raw month whose cubes go straight into the warehouse")
    parser.add_argument("--warehouse", default=None,
                        help="warehouse URI for --prior-cubes (default: AIRFLOW_CONN_WAREHOUSE or the embedded DuckDB)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    end = runs.month_start(args.end_month) if args.end_month else runs.previous_month(date.today())
    warehouse = None
    if args.prior_cubes:
        import os

        from vigia.connections import ConnectionSpec, default_uri
        from vigia.warehouse import open_warehouse

        uri = args.warehouse or os.environ.get("AIRFLOW_CONN_WAREHOUSE") or default_uri("warehouse")
        warehouse = open_warehouse(ConnectionSpec.from_uri("warehouse", uri))
    out = generate(args.landing, end, months=args.months, municipalities=args.municipalities,
                   establishments_per_10k=args.establishments_per_10k, sia_rows_per_month=args.sia_rows,
                   seed=args.seed, sia_part_rows=args.sia_part_rows, prior_cube_months=args.prior_cubes,
                   warehouse=warehouse)
    c = out["counts"]
    print(f"sus sample: {c['rows']['SIA']:,} SIA, {c['rows']['SIH']:,} SIH, {c['rows']['CNES']:,} CNES rows; "
          f"{c['municipalities']:,} municipalities, {c['establishments']:,} establishments, "
          f"{len(out['ufs'])} UFs, months {out['months'][0]}..{out['months'][-1]}, seed {args.seed}, "
          f"{len(out['planted'])} planted anomalies, {out['seconds']:.1f}s -> {out['landing']}")
    if out["prior_cubes"]:
        cells = list(out["prior_cubes"].values())
        print(f"prior cubes: {len(cells)} months, {sum(cells):,} cells -> {warehouse.spec.describe()}")
    return 0
