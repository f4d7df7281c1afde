"""The warehouse scoring path (SQL GROUP BYs, pandas on aggregates) equals the in-memory pandas path.

``scoring.score_month`` (the finest cube of 13 months in pandas, aggregated by ``cubes_from_frame``) is
the oracle: the planted-anomaly tests run on it, and on this month it must reproduce the seven tables
frozen in ``sus_scoring_golden/`` (the output of the pandas composition before score_month and
score_cubes became one). Here the same generated months go into a real warehouse (DuckDB and
PostgreSQL) and ``scoring.score_from_warehouse`` must give the same seven tables: same rows, same
order, same values (to floating-point summation order: the SQL sums money in another order than pandas).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.sus_sample import END, MONTHS, scored_month
from vigia.sus import __main__ as sus_cli
from vigia.sus import cubes, pipeline, scores, scoring
from vigia.warehouse import PartitionWrite

TABLES = pipeline.MONTH_SCORE_TABLES
# score_month of `reference`, frozen at dd23c1e; refrozen when oscillations without an established line
# (count median < 5 units) got a reason and left the ranking's percentiles: only scores.reason and the
# ranking's escore_* / n_escores / rank_escore (and the order of ties at zero excess) changed; refrozen
# again when the empirical-Bayes rates took every municipality of the population file (zero production
# included) so that b is the national rate: taxa_eb, limiar, dif, escore_municipal, the per-capita
# score and the ranking's percentiles changed, no money did; refrozen when a municipality whose production
# stopped kept its 12-month per-capita score: 65 municipal rows and 22 per-capita scores added, 140 per-capita
# values shared anew, the ranking's percentiles and the order of ties at zero excess changed, no money did
GOLDEN = Path(__file__).parent / "sus_scoring_golden"


def assert_same(ref: pd.DataFrame, got: pd.DataFrame, name: str) -> None:
    assert list(got.columns) == list(ref.columns), name
    assert len(got) == len(ref), f"{name}: {len(got)} rows, expected {len(ref)}"
    ref, got = ref.reset_index(drop=True), got.reset_index(drop=True)
    for col in ref.columns:
        a, b = ref[col], got[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(a):
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=1e-9, atol=1e-9,
                                       equal_nan=True, err_msg=f"{name}.{col}")
        else:
            left = a.astype(object).where(a.notna(), None).tolist()
            right = b.astype(object).where(b.notna(), None).tolist()
            assert right == left, f"{name}.{col}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from vigia.sus import datasus

    landing = tmp_path_factory.mktemp("landing")
    out = scored_month(landing, municipalities=120, sia_rows_per_month=40_000, seed=7)
    out["population"] = datasus.read_population(landing)
    out["landing"] = landing
    return out


def load_cubes(warehouse, cube: pd.DataFrame) -> None:
    """The finest cubes alone, as a warehouse of an earlier version holds them; the score step's
    ``ensure_coarse_cubes`` then sums the coarse cubes it reads from them, in the warehouse."""
    warehouse.replace_partitions([
        PartitionWrite(pipeline.CUBE_TABLE, {"competencia": m},
                       cube[cube["competencia"] == m].drop(columns="competencia").assign(run_id="test"))
        for m in MONTHS])
    assert cubes.ensure_coarse_cubes(warehouse, MONTHS[0], END) == list(MONTHS)


def test_the_reference_month_is_not_trivial(reference):
    r = reference["result"]
    # every component the comparison covers has rows and money
    assert r.excess_by_target["excesso_per_capita"].sum() > 0
    assert r.excess_by_target["excesso_preco"].sum() > 0
    assert r.excess_by_target["excesso_salto"].sum() > 0
    assert {"unidade_movel", "municipio_pequeno"} <= set(r.flags["flag"])
    assert (r.scores["score"] == "taxa_per_capita_eb").sum() > 0


def test_score_month_reproduces_the_frozen_output(reference):
    for name in TABLES:
        assert_same(pd.read_parquet(GOLDEN / f"{name}.parquet"), getattr(reference["result"], name), name)


def test_sql_path_equals_the_pandas_path(reference, warehouse):
    load_cubes(warehouse, reference["cube"])
    got, c = scoring.score_from_warehouse(warehouse, END, reference["population"], reference["registry"], MONTHS)
    for name in TABLES:
        assert_same(getattr(reference["result"], name), getattr(got, name), name)
    # pandas saw aggregates: one month of the finest cube, and the window's coarser cubes
    cube = reference["cube"]
    assert len(c.month) == int((cube["competencia"] == END).sum())
    now_est = cube[cube["competencia"] == END].groupby(["cnes", "alvo", "sistema"])
    assert len(c.establishment) == len(now_est) and sorted(c.establishment["par"]) == list(range(len(now_est)))
    # the oscillation window: the scored pairs' earlier months, as numbers, equal to the pandas one
    ref_est, ref_window = scoring.establishment_window(cubes.by_establishment(cube), END)
    assert len(c.window) > len(c.establishment) and set(c.window["defasagem"]) == set(range(1, 13))
    key = ["cnes", "alvo", "defasagem"]
    named = lambda est, w: w.merge(est[["par", "cnes", "alvo"]], on="par")[key + ["quantidade", "valor"]]
    assert_same(named(ref_est, ref_window).sort_values(key), named(c.establishment, c.window).sort_values(key),
                "window")
    now = cube[cube["competencia"] == END].dropna(subset=["uf"])
    assert len(c.municipality) == len(now.groupby(["municipio", "alvo"]))
    assert len(c.regional) == len(cube.dropna(subset=["uf"]).groupby(["competencia", "uf", "alvo"]))
    # the per-capita chain computed in SQL is the pandas one, per municipality and per establishment
    ref = scoring.cubes_from_frame(cube, END, reference["population"])
    assert len(ref.rates) > 100 and (ref.rates["escore_municipal"] > 0).sum() > 10
    assert_same(ref.rates, c.rates, "rates")
    assert_same(ref.per_capita, c.per_capita, "per_capita")
    # the population the SQL read is in the warehouse, for the window's years
    pop = warehouse.query("SELECT ano, COUNT(*) AS n FROM sus_population GROUP BY ano ORDER BY ano")
    years = reference["population"].groupby("ano").size()
    assert dict(zip(pop["ano"].astype(int), pop["n"])) == {y: int(years[y]) for y in {MONTHS[1].year, END.year}}


def test_a_municipality_without_population_stops_the_sql_scoring_naming_it(reference, warehouse):
    load_cubes(warehouse, reference["cube"])
    pop = reference["population"]
    someone = reference["cube"].loc[(reference["cube"]["competencia"] == END)
                                    & reference["cube"]["uf"].notna(), "municipio"].iloc[0]
    # the window (2025-11 .. 2026-10) spans two years: both are named
    want = f"no IBGE population for municipality-year\\(s\\): {someone} \\(2025\\), {someone} \\(2026\\)$"
    with pytest.raises(ValueError, match=want):
        scoring.score_from_warehouse(warehouse, END, pop[pop["municipio"] != someone], reference["registry"], MONTHS)


def test_fact_sheet_cube_keeps_the_month_and_the_series(reference, warehouse):
    load_cubes(warehouse, reference["cube"])
    c = scoring.cubes_from_warehouse(warehouse, END, reference["population"])
    row = reference["result"].ranking.iloc[0]
    earlier = scoring.establishment_series(warehouse, MONTHS[0], END, [row["cnes"]])
    assert set(earlier["cnes"]) == {row["cnes"]} and END not in set(earlier["competencia"])
    fs = scoring.fact_sheet_cube(c.month, earlier)
    cube = reference["cube"]
    assert len(fs[fs["competencia"] == END]) == int((cube["competencia"] == END).sum())
    # one establishment x target's monthly series, the only thing the sheets read of earlier months
    alvo = cube.loc[cube["cnes"] == row["cnes"], "alvo"].iloc[0]
    want = cube[(cube["cnes"] == row["cnes"]) & (cube["alvo"] == alvo)].groupby("competencia")["quantidade"].sum()
    have = fs[(fs["cnes"] == row["cnes"]) & (fs["alvo"] == alvo)].groupby("competencia")["quantidade"].sum()
    assert have.to_dict() == want.to_dict() and len(want) == len(MONTHS)
    assert len(scoring.establishment_series(warehouse, MONTHS[0], END, [])) == 0


def test_history_of_the_top_only_renders_the_same_pages(reference, warehouse, tmp_path):
    """history.parquet keeps the earlier months of the top establishments only, with every month in its
    metadata: a sheet read from it is the page of the whole fact-sheet cube, also for an establishment
    that produced nothing in one of the months (that month stays on its series' x axis, at 0)."""
    from vigia.sus import fact_sheets

    load_cubes(warehouse, reference["cube"])
    c = scoring.cubes_from_warehouse(warehouse, END, reference["population"])
    result = reference["result"]
    top = scoring.top_of_ranking(result.ranking, 3)["cnes"]
    gap = MONTHS[4]  # the top establishments produce nothing that month, the others do
    every = scoring.establishment_series(warehouse, MONTHS[0], END, set(reference["cube"]["cnes"]))
    every = every[~(every["cnes"].isin(top) & (every["competencia"] == gap))]
    whole = scoring.fact_sheet_cube(c.month, every)
    cut = scoring.fact_sheet_cube(c.month, every[every["cnes"].isin(top)])
    assert len(cut) < len(whole) and set(cut.loc[cut["competencia"] != END, "cnes"]) == set(top)
    assert gap not in set(cut["competencia"]) and gap in set(whole["competencia"])
    fact_sheets.top.write_history(cut, MONTHS, tmp_path / "history.parquet")  # the score step's covered months
    chosen = fact_sheets.select_part(result, 3)
    part, months = fact_sheets.read_part_cube(tmp_path / "history.parquet", chosen)
    assert [m.date() for m in months] == list(MONTHS)
    names = {a: a for a in chosen["alvo"]}
    got = fact_sheets.render_selected(chosen, result, part, names, reference["registry"], tmp_path / "cut", months)
    want = fact_sheets.render_selected(chosen, result, whole, names, reference["registry"], tmp_path / "whole")
    assert [p.read_bytes() for p in got] == [p.read_bytes() for p in want] and len(got) == 3


def test_on_demand_sheet_scores_from_the_warehouse(reference, warehouse_uri, warehouse, monkeypatch, tmp_path):
    load_cubes(warehouse, reference["cube"])
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", warehouse_uri)
    jump = reference["planted"]["salto_abrupto"]
    with pytest.raises(SystemExit, match=f"no IBGE population for {END:%Y-%m} in the warehouse"):
        sus_cli.sheet(jump["cnes"], jump["alvo"], f"{END:%Y-%m}", str(reference["landing"]), tmp_path / "s.html")
    # what the DAG writes (its publish_cube creates sus_cube_uf_coverage, its score step the population);
    # the command reads it back and writes nothing of its own
    warehouse.ensure_tables([scoring.UF_COVERAGE_TABLE])
    scoring.publish_population(warehouse, reference["population"], sorted({m.year for m in MONTHS}), "dag_run")
    path = sus_cli.sheet(jump["cnes"], jump["alvo"], f"{END:%Y-%m}", str(reference["landing"]), tmp_path / "s.html")
    assert warehouse.query("SELECT DISTINCT run_id FROM sus_population")["run_id"].tolist() == ["dag_run"]
    assert not warehouse.table_exists("sus_provider_ranking")
    page = path.read_text(encoding="utf-8")
    assert f"<title>Folha de fatos — CNES {jump['cnes']} — {jump['alvo']} — " in page
    ranking = reference["result"].ranking
    rank = int(ranking.loc[ranking["cnes"] == jump["cnes"], "rank"].item())
    assert f"{rank}º de {len(ranking)}" in page  # the month scored as the DAG scores it
    assert "limiar (3 × taxa nacional)" in page and "limiar = 3 × taxa nacional" in page  # the default k
    # the k of the month's published scores (the DAG's Param k_limiar), unless one is given
    with warehouse.connect() as con:
        warehouse.ensure_table(con, "sus_municipal_excess")
        con.execute("INSERT INTO sus_municipal_excess (competencia, municipio, alvo, k, run_id) "
                    f"VALUES (DATE '{END:%Y-%m-%d}', '120001', '{jump['alvo']}', 2.5, 'dag_run')")
    assert sus_cli.published_k(warehouse, END) == 2.5
    page = sus_cli.sheet(jump["cnes"], jump["alvo"], f"{END:%Y-%m}", str(reference["landing"]),
                         tmp_path / "s.html").read_text(encoding="utf-8")
    assert "limiar (2,5 × taxa nacional)" in page and "limiar = 2,5 × taxa nacional" in page
    page = sus_cli.sheet(jump["cnes"], jump["alvo"], f"{END:%Y-%m}", str(reference["landing"]),
                         tmp_path / "s.html", k=4).read_text(encoding="utf-8")
    assert "limiar (4 × taxa nacional)" in page
    with pytest.raises(SystemExit, match="no cube for 2027-01"):
        sus_cli.sheet(jump["cnes"], jump["alvo"], "2027-01", str(reference["landing"]), tmp_path / "x.html")
    # what does not exist is refused, naming it, and no sheet is written
    for cnes, alvo, expected in [("877", jump["alvo"], "--cnes '877': expected the establishment's 7-digit CNES"),
                                 (jump["cnes"], "SIA-999999", "--alvo 'SIA-999999': not a target of alvos.csv"),
                                 ("9999999", jump["alvo"], f"CNES 9999999 has no production of {jump['alvo']} in "
                                                           f"{END:%Y-%m} in the warehouse's cube")]:
        with pytest.raises(SystemExit, match=re.escape(expected)):
            sus_cli.sheet(cnes, alvo, f"{END:%Y-%m}", str(reference["landing"]), tmp_path / "none.html")
    assert not (tmp_path / "none.html").exists()
    with pytest.raises(SystemExit) as usage:
        sus_cli.main(["sheet", "--cnes", jump["cnes"], "--alvo", jump["alvo"], "--competencia", "11/2026"])
    assert usage.value.code == 2  # argparse's usage error, not a traceback
    # --warehouse: a connection kept in Airflow's metadata DB reaches the command through it
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE")
    page = sus_cli.sheet(jump["cnes"], jump["alvo"], f"{END:%Y-%m}", str(reference["landing"]),
                         tmp_path / "w.html", k=3, warehouse=warehouse_uri).read_text(encoding="utf-8")
    assert f"{rank}º de {len(ranking)}" in page  # k = 3, as the reference month was scored


def test_oscillation_of_some_months_equals_the_full_result_filtered():
    import datetime as dt

    cube = pd.DataFrame({
        "cnes": ["1"] * 4 + ["2"] * 2, "alvo": ["a"] * 6,
        "competencia": [dt.date(2026, m, 1) for m in (1, 2, 3, 4)] + [dt.date(2026, 3, 1), dt.date(2026, 4, 1)],
        "quantidade": [2.0, 4.0, 6.0, 30.0, 5.0, 1.0], "valor": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    covered = [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]
    full = scores.oscillation(cube, covered, windows=(2,))
    some = scores.oscillation(cube, covered, windows=(2,), only_months=[dt.date(2026, 4, 1)])
    want = full[full["competencia"] == dt.date(2026, 4, 1)].reset_index(drop=True)
    assert_same(want, some, "oscillation")  # (reason: all None here, so an object column, not str)
    # hand-computed: cnes 1 in April, (30 + 1) / (median(4, 6) + 1) = 31 / 6; cnes 2, (1 + 1) / (median(0, 5) + 1)
    q = some[some["score"] == "oscilacao_quantidade_m2"].set_index("cnes")["value"]
    assert q["1"] == pytest.approx(31 / 6)
    assert q["2"] == pytest.approx(2 / 3.5)
    assert scores.oscillation(cube, covered, only_months=[dt.date(2025, 1, 1)]).empty


def test_a_uf_that_has_not_landed_is_left_out_of_the_per_capita_pool(reference, warehouse):
    # END's cube covers every UF but one (its files had not landed): that UF's municipalities are not zero
    # production of the pool. b, the rate the threshold multiplies, is the covered UFs' rate
    from vigia.sus.geo import UF_CODE

    cube, pop = reference["cube"], reference["population"]
    load_cubes(warehouse, cube)
    ufs = sorted(cube["uf"].dropna().unique())
    out = ufs[-1]
    coverage = pd.DataFrame([(END, s, uf, UF_CODE[uf]) for s in ("SIA", "SIH") for uf in ufs if uf != out],
                            columns=scoring.COVERAGE_COLUMNS)
    warehouse.replace_partitions([PartitionWrite(scoring.UF_COVERAGE_TABLE, {"competencia": END},
                                                 coverage.drop(columns="competencia").assign(run_id="test"))])

    got, c = scoring.score_from_warehouse(warehouse, END, pop, reference["registry"], MONTHS)
    assert not c.rates["municipio"].str.startswith(UF_CODE[out]).any()
    # its municipalities stay in the municipal table, with their rate, no cutoff, no excess, and why
    theirs = got.municipal[got.municipal["municipio"].str.startswith(UF_CODE[out])]
    produced = cube[(cube["competencia"] == END) & (cube["uf"] == out)].groupby(["municipio", "alvo"]).ngroups
    assert len(theirs) == produced > 0
    assert theirs[["cutoff", "excesso_quantidade", "excesso_valor", "taxa_eb", "limiar"]].isna().all().all()
    assert (theirs["taxa"] > 0).all()
    assert set(theirs["reason"]) <= {scoring.UNCOVERED_REASON.format(sistema=s) for s in ("SIA", "SIH")}
    assert len(set(theirs["reason"])) == 2
    # no excess is attributed from them
    shares = got.excess_shares[got.excess_shares["municipio"].str.startswith(UF_CODE[out])]
    assert shares["excesso_valor"].fillna(0).eq(0).all()
    # b by hand for the SIA target with the most production: Σ production / Σ population of the covered UFs
    now = cube[(cube["competencia"] == END) & cube["uf"].notna() & (cube["sistema"] == "SIA")]
    alvo = now.groupby("alvo")["quantidade"].sum().idxmax()
    year = pop[pop["ano"] == END.year]
    inside = lambda m: ~m.astype(str).str.startswith(UF_CODE[out])
    b = (now.loc[(now["alvo"] == alvo) & inside(now["municipio"]), "quantidade"].sum()
         / year.loc[inside(year["municipio"]), "populacao"].sum())
    limiar = c.rates.loc[c.rates["alvo"] == alvo, "limiar"]
    assert len(limiar) > 10
    np.testing.assert_allclose(limiar.to_numpy(float), 3 * b * scoring.PER, rtol=1e-12)
    # the missing UF's municipalities as zero production (the pool before coverage) would lower b by its
    # share of the population
    b_zero = (now.loc[(now["alvo"] == alvo) & inside(now["municipio"]), "quantidade"].sum()
              / year["populacao"].sum())
    assert b / b_zero > 1.05
    # the pandas path applies the same rule: same tables, same per-capita chain
    ref = scoring.score_month(cube, END, pop, reference["registry"], MONTHS, coverage=coverage)
    for name in TABLES:
        assert_same(getattr(ref, name), getattr(got, name), name)
    ref_cubes = scoring.cubes_from_frame(cube, END, pop, coverage=coverage)
    assert_same(ref_cubes.rates, c.rates, "rates")
    assert_same(ref_cubes.per_capita, c.per_capita, "per_capita")


def test_scoring_without_publishing_writes_no_table(reference, warehouse):
    # the on-demand sheet scores with publish=False: on a warehouse of an earlier version (no coverage
    # table) it stops, saying what to run, instead of creating the table
    load_cubes(warehouse, reference["cube"])
    scoring.publish_population(warehouse, reference["population"], [MONTHS[1].year, END.year], "dag")
    with pytest.raises(ValueError, match="no sus_cube_uf_coverage .* run sus_anomaly_scoring once"):
        scoring.score_from_warehouse(warehouse, END, reference["population"], reference["registry"], MONTHS,
                                     publish=False)
    assert not warehouse.table_exists(scoring.UF_COVERAGE_TABLE)
    scoring.score_from_warehouse(warehouse, END, reference["population"], reference["registry"], MONTHS)
    assert warehouse.table_exists(scoring.UF_COVERAGE_TABLE)


def test_a_municipality_whose_production_stopped_keeps_its_12_month_score(reference, warehouse):
    # the municipality x target with the highest 12-month score has no production in END (its rows
    # removed): its score is the sum of the window's difs all the same, and the establishments that served
    # it in the window share it, by their share of its production
    cube, pop = reference["cube"], reference["population"]
    rates = scoring.cubes_from_frame(cube, END, pop).rates
    j, a = rates.loc[rates["escore_municipal"].idxmax(), ["municipio", "alvo"]]
    stopped = cube[~((cube["competencia"] == END) & (cube["municipio"] == j) & (cube["alvo"] == a))]
    assert len(stopped) < len(cube)
    load_cubes(warehouse, stopped)

    got, c = scoring.score_from_warehouse(warehouse, END, pop, reference["registry"], MONTHS)
    row = c.rates[(c.rates["municipio"] == j) & (c.rates["alvo"] == a)]
    assert len(row) == 1 and float(row["dif"].iloc[0]) == 0.0
    escore = float(row["escore_municipal"].iloc[0])
    assert escore > 0
    # its row in the municipal table: no production, no excess, the target's cutoff and the population
    mun = got.municipal[(got.municipal["municipio"] == j) & (got.municipal["alvo"] == a)]
    assert len(mun) == 1
    assert mun[["quantidade", "valor", "taxa", "excesso_quantidade", "excesso_valor"]].iloc[0].tolist() == [0] * 5
    np.testing.assert_allclose(float(mun["escore_municipal"].iloc[0]), escore, rtol=1e-12)
    cutoffs = got.municipal.loc[(got.municipal["alvo"] == a) & (got.municipal["quantidade"] > 0), "cutoff"]
    assert float(mun["cutoff"].iloc[0]) == float(cutoffs.dropna().iloc[0])
    year = pop[(pop["municipio"] == j) & (pop["ano"] == END.year)]
    assert int(mun["populacao"].iloc[0]) == int(year["populacao"].iloc[0])
    # shared by hand: value_e = sum over municipalities i of P_ei / P_i x escore_i, the window's production
    window = stopped[(stopped["competencia"] > MONTHS[0]) & (stopped["alvo"] == a)]
    served = sorted(window.loc[window["municipio"] == j, "cnes"].dropna().unique())
    assert served
    scored = c.rates[c.rates["alvo"] == a].set_index("municipio")["escore_municipal"]
    inside = window[window["municipio"].isin(scored.index)]
    p_ei = inside.groupby(["cnes", "municipio"])["quantidade"].sum()
    p_i = inside.groupby("municipio")["quantidade"].sum()
    per_capita = got.scores[(got.scores["score"] == "taxa_per_capita_eb") & (got.scores["alvo"] == a)]
    for cnes in served:
        mine = p_ei.loc[cnes]
        want = float(sum(q / p_i[i] * scored[i] for i, q in mine.items() if p_i[i] > 0))
        value = per_capita.loc[per_capita["cnes"] == cnes, "value"]
        assert len(value) == 1 and want >= mine[j] / p_i[j] * escore > 0
        np.testing.assert_allclose(float(value.iloc[0]), want, rtol=1e-9)
    # the pandas path keeps it the same way: same tables
    ref = scoring.score_month(stopped, END, pop, reference["registry"], MONTHS)
    for name in TABLES:
        assert_same(getattr(ref, name), getattr(got, name), name)
