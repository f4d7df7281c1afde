"""The SUS pipeline's steps on generated files and both warehouses: bad input, idempotent publishing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from vigia.dq import DataQualityError
from vigia.sample_data import sus as gen
from vigia.sus import pipeline as p
from vigia.sus import targets

END = date(2026, 10, 1)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    path = tmp_path_factory.mktemp("landing")
    gen.generate(path, END, months=2, municipalities=100, sia_rows_per_month=15_000, seed=5)
    return path


def copy_of(landing, tmp_path) -> Path:
    """A copy of the generated landing under ``tmp_path``, for a test to change."""
    import shutil

    copy = tmp_path / "landing"
    shutil.copytree(landing, copy)
    return copy


def corrupt(landing, tmp_path, share: float):
    """A copy of the landing where `share` of Minas Gerais' SIA rows of END have a 5-digit municipality."""
    copy = copy_of(landing, tmp_path)
    path = copy / "SIA" / f"PAMG{END:%y%m}.parquet"
    df = pd.read_parquet(path)
    bad = df[df["PA_CMP"] == f"{END:%Y%m}"].sample(frac=share, random_state=1).index  # rows of END only
    df.loc[bad, "PA_MUNPCN"] = df.loc[bad, "PA_MUNPCN"].str[:5]
    df.to_parquet(path, index=False)
    return copy, len(bad)


def run_until_cube(run, warehouse):
    ufs = p.list_ufs(run)
    for uf in ufs:
        p.ingest_uf(run, uf)
    p.gate_ingest(run, warehouse, ufs)
    p.build_cube(run, ufs)
    p.gate_cube(run, warehouse)
    return p.publish_cube(run, warehouse)


def ingest_gate_failure(run, warehouse) -> str:
    """Ingest every UF of ``run``, then the message of the ingest gate's failure (it must fail)."""
    ufs = p.list_ufs(run)
    for uf in ufs:
        p.ingest_uf(run, uf)
    with pytest.raises(DataQualityError) as err:
        p.gate_ingest(run, warehouse, ufs)
    return str(err.value)


def test_bad_rows_beyond_the_threshold_fail_naming_the_file(landing, tmp_path, warehouse):
    copy, n_bad = corrupt(landing, tmp_path, 0.05)
    text = ingest_gate_failure(p.SusRun("r1", END, str(copy), max_bad_share=0.01), warehouse)
    assert f"file PAMG{END:%y%m}.parquet: {n_bad} of" in text and "municipio_residencia" in text
    assert "column bad_share: expect_column_values_to_be_between" in text
    assert not warehouse.table_exists("sus_production_monthly")


def test_bad_rows_within_the_threshold_are_quarantined_counted_and_published(landing, tmp_path, warehouse):
    copy, n_bad = corrupt(landing, tmp_path, 0.005)
    run = p.SusRun("r2", END, str(copy), max_bad_share=0.01)
    counts = run_until_cube(run, warehouse)
    assert counts["dq_quarantine"] == n_bad > 0
    q = warehouse.query("SELECT dq_reason, row_json FROM dq_quarantine")
    assert q["dq_reason"].str.contains("municipio_residencia").all()
    assert json.loads(q["row_json"].iloc[0])["arquivo"] == f"PAMG{END:%y%m}.parquet"
    dq = warehouse.query("SELECT suite, success, rows_quarantined FROM dq_results WHERE suite = 'sus_ingest_files'")
    assert dq.values.tolist() == [["sus_ingest_files", True, n_bad]]


def test_bad_rows_of_a_csv_landing_are_quarantined_with_their_row_numbers(landing, tmp_path, warehouse):
    """CSV (and .dbc, object storage) landings go through the pandas path: its quarantine carries the same
    columns as the DuckDB path's, so the quarantine gate passes and each row is located by file and linha
    (1 = the first data row; its CSV text line is linha + 1). It once lacked linha and the gate crashed."""
    copy, n_bad = corrupt(landing, tmp_path, 0.005)
    parquet = copy / "SIA" / f"PAMG{END:%y%m}.parquet"
    rows = pd.read_parquet(parquet)
    rows.to_csv(parquet.with_suffix(".csv"), index=False)
    parquet.unlink()
    run = p.SusRun("r2csv", END, str(copy), max_bad_share=0.01)
    counts = run_until_cube(run, warehouse)
    assert counts["dq_quarantine"] == n_bad > 0
    quarantined = [json.loads(r) for r in warehouse.query("SELECT row_json FROM dq_quarantine")["row_json"]]
    assert {r["arquivo"] for r in quarantined} == {f"PAMG{END:%y%m}.csv"}
    lines = pd.read_csv(parquet.with_suffix(".csv"), dtype=str)
    for r in quarantined:  # the row linha names holds the quarantined, 5-digit municipality
        assert lines.loc[int(r["linha"]) - 1, "PA_MUNPCN"] == r["municipio_residencia"]
        assert len(r["municipio_residencia"]) == 5
    dq = warehouse.query("SELECT suite, success FROM dq_results WHERE suite = 'sus_quarantine'")
    assert dq.values.tolist() == [["sus_quarantine", True]]


def test_a_header_only_file_of_the_month_is_named(landing, tmp_path, warehouse):
    """A part of the month that gave no row (an empty or header-only file) is named by dq_ingest, and logged:
    its production would be missing from the cube. A later month's file without late records is not."""
    copy = copy_of(landing, tmp_path)
    whole = copy / "SIA" / f"PAMG{END:%y%m}.parquet"
    rows = pd.read_parquet(whole)
    whole.rename(whole.with_name(f"PAMG{END:%y%m}a.parquet"))
    rows.head(0).to_parquet(whole.with_name(f"PAMG{END:%y%m}b.parquet"), index=False)
    run = p.SusRun("r2empty", END, str(copy))
    ufs = p.list_ufs(run)
    for uf in ufs:
        p.ingest_uf(run, uf)
    checked = p.gate_ingest(run, warehouse, ufs)
    assert checked["files_without_rows"] == [
        f"file PAMG{END:%y%m}b.parquet: no row of competência {END:%Y-%m} (empty, header only, or rows of other "
        "months only); its production, if any, is missing from the cube"]
    assert checked["rows"] > 0


def test_quarantined_admission_numbers_are_pseudonymised(landing, tmp_path, warehouse, monkeypatch):
    # N_AIH identifies one patient's hospital admission: the landing keeps it, the warehouse gets its pseudonym
    from vigia import pseudonym

    monkeypatch.setenv(pseudonym.KEY_ENV, "chave-de-teste-0123456789")
    copy = copy_of(landing, tmp_path)
    path = copy / "SIH" / f"RDMG{END:%y%m}.parquet"
    df = pd.read_parquet(path)
    df.loc[[0, 1], "VAL_TOT"] = -1.0  # two bad rows (negative value), quarantined with their N_AIH
    df.to_parquet(path, index=False)
    raw = df.loc[[0, 1], "N_AIH"].tolist()
    run_until_cube(p.SusRun("r5", END, str(copy), max_bad_share=0.05), warehouse)
    q = warehouse.query("SELECT row_json FROM dq_quarantine")
    rows = [json.loads(r) for r in q["row_json"]]
    assert len(rows) == 2 and not any(n in text for n in raw for text in q["row_json"])
    assert sorted(r["n_aih"] for r in rows) == sorted(pseudonym.pseudonym(n, "aih") for n in raw)


def test_rerun_replaces_the_month_and_scores_are_published_together(landing, warehouse):
    run = p.SusRun("r3", END, str(landing), top_fact_sheets=0)
    first = p.run_in_process(run, warehouse)
    again = p.run_in_process(p.SusRun("r4", END, str(landing), top_fact_sheets=0), warehouse)
    assert first["publish_cube"] == again["publish_cube"] and first["publish_scores"] == again["publish_scores"]
    runs = warehouse.query("SELECT DISTINCT run_id FROM sus_provider_ranking")
    assert runs["run_id"].tolist() == ["r4"]
    reasons = warehouse.query("SELECT reason FROM sus_anomaly_scores WHERE score = 'oscilacao_quantidade_m12' "
                              "AND value IS NULL")
    assert len(reasons) > 0 and reasons["reason"].str.startswith("sem histórico").all()
    # the per-capita rolling sum ran over the one month in the warehouse: kept, marked, out of the percentiles
    per_capita = warehouse.query("SELECT DISTINCT reason FROM sus_anomaly_scores WHERE score = 'taxa_per_capita_eb'")
    assert per_capita["reason"].tolist() == ["janela parcial: 1 de 12 meses no armazém; fora do ranking"]
    # the money per target, by part, adds up to the ranking's; filterable by target, UF and municipality
    excess = warehouse.query("SELECT * FROM sus_provider_excess")
    assert excess["run_id"].unique().tolist() == ["r4"] and excess["alvo"].nunique() > 3
    parts = excess[["excesso_per_capita", "excesso_preco", "excesso_salto"]].sum(axis=1)
    assert (abs(parts - excess["excesso_valor"]) < 1e-6).all() and (parts > 0).sum() >= 3
    ranking = warehouse.query("SELECT cnes, uf, municipio, excesso_valor FROM sus_provider_ranking")
    by_cnes = excess.groupby("cnes")["excesso_valor"].sum()
    both = ranking.set_index("cnes").join(by_cnes.rename("por_alvo"), how="inner")
    assert len(both) == len(by_cnes) and (abs(both["excesso_valor"] - both["por_alvo"]) < 1e-6).all()
    where = excess.merge(ranking[["cnes", "uf", "municipio"]], on="cnes", suffixes=("", "_ranking"))
    assert where["uf"].notna().all() and (where["uf"] == where["uf_ranking"]).all()
    assert (where["municipio"] == where["municipio_ranking"]).all()
    # each target's version in the month's cube (alvos.csv versao) on every row that names a target
    table = targets.load()
    want = dict(zip(table["alvo"], table["versao"]))
    for name in ("sus_anomaly_scores", "sus_municipal_excess", "sus_provider_excess", "sus_benign_flags"):
        rows = warehouse.query(f"SELECT alvo, alvo_versao FROM {name}")
        assert len(rows) > 0 and (rows["alvo_versao"] == rows["alvo"].map(want)).all(), name


def test_the_per_capita_threshold_k_is_a_run_setting_recorded_with_the_rows(landing, tmp_path, warehouse):
    run = p.SusRun("k3", END, str(landing), top_fact_sheets=0)
    p.run_in_process(run, warehouse, with_fact_sheets=False)
    by3 = warehouse.query("SELECT municipio, alvo, k, limiar, escore_municipal FROM sus_municipal_excess "
                          "WHERE limiar IS NOT NULL ORDER BY municipio, alvo")
    assert len(by3) > 100 and (by3["k"] == 3.0).all()
    run = p.SusRun("k2", END, str(landing), top_fact_sheets=1, k=2.0)
    out = p.run_in_process(run, warehouse)
    by2 = warehouse.query("SELECT municipio, alvo, k, limiar, escore_municipal FROM sus_municipal_excess "
                          "WHERE limiar IS NOT NULL ORDER BY municipio, alvo")
    assert (by2["k"] == 2.0).all() and by2[["municipio", "alvo"]].equals(by3[["municipio", "alvo"]])
    assert (by2["limiar"] / by3["limiar"]).to_numpy() == pytest.approx(2 / 3)  # limiar = k x the national rate
    assert (by2["escore_municipal"] >= by3["escore_municipal"] - 1e-9).all()  # a lower bar: more excess
    assert by2["escore_municipal"].sum() > by3["escore_municipal"].sum()
    (sheet,) = out["fact_sheets"]["index"].values()
    page = Path(sheet).read_text(encoding="utf-8")
    assert "limiar (2 × taxa nacional)" in page and "limiar = 2 × taxa nacional" in page


def test_a_target_whose_earlier_cubes_hold_another_version_is_named(landing, tmp_path, warehouse):
    from vigia import runs

    prev = runs.add_months(END, -1)
    run_until_cube(p.SusRun("v1", prev, str(landing)), warehouse)
    with warehouse.connect() as con:  # as if the previous month's cube had been built before SIA-020201's v1
        for table in ("sus_production_monthly", "sus_production_by_establishment", "sus_production_by_municipality"):
            con.execute(f"UPDATE {table} SET alvo_versao = 0 WHERE alvo = 'SIA-020201'")
    run = p.SusRun("v2", END, str(landing), top_fact_sheets=0)
    got = p.run_in_process(run, warehouse, with_fact_sheets=False)["score"]["target_versions_changed"]
    assert got == {"SIA-020201": f"version 1 in {END:%Y-%m}; version(s) 0 in 1 earlier month(s) "
                                 f"({prev:%Y-%m}..{prev:%Y-%m})"}
    published = warehouse.query("SELECT DISTINCT alvo_versao FROM sus_provider_excess WHERE alvo = 'SIA-020201'")
    assert published["alvo_versao"].tolist() == [1]  # the scored month's version


def test_a_municipality_without_population_fails_the_gate_naming_it(landing, tmp_path, warehouse):
    copy = copy_of(landing, tmp_path)
    pop_path = copy / "IBGE" / "populacao.csv"
    pop = pd.read_csv(pop_path, dtype={"municipio": str})
    served = pd.read_parquet(copy / "SIA" / f"PAMG{END:%y%m}.parquet", columns=["PA_MUNPCN"])["PA_MUNPCN"]
    gone = sorted(set(served) & set(pop["municipio"]))[:2]
    pop[~(pop["municipio"].isin(gone) & (pop["ano"] == END.year))].to_csv(pop_path, index=False)
    text = ingest_gate_failure(p.SusRun("r0", END, str(copy)), warehouse)
    assert "DQ gate 'sus_ingest' failed: 1 of" in text
    assert "column municipio_sem_populacao: expect_column_values_to_be_null" in text
    assert f"sample bad values: {gone}" in text
    rows = served.value_counts()  # the note names the file to complete and the rows that need it
    shown = ", ".join(f"{m} ({rows[m]:,} row(s))" for m in gone)
    assert (f"IBGE/populacao.csv has no population for {END.year} for 2 municipality(ies) of residence of the SIA "
            f"production (e.g. {shown}): add their {END.year} rows to IBGE/populacao.csv") in text
    assert not warehouse.table_exists("sus_production_monthly")


def test_a_bad_population_table_fails_the_gate_naming_its_lines(landing, tmp_path, warehouse):
    # a zero population turned every empirical-Bayes rate of its target x month into NaN, silently on DuckDB
    copy = copy_of(landing, tmp_path)
    pop_path = copy / "IBGE" / "populacao.csv"
    pop = pd.read_csv(pop_path, dtype={"municipio": str})
    pop.loc[3, "populacao"] = 0
    pop.loc[5, "populacao"] = None
    pop = pd.concat([pop, pop.iloc[[7]]], ignore_index=True)  # a municipality x year twice
    pop.to_csv(pop_path, index=False)
    text = ingest_gate_failure(p.SusRun("r6", END, str(copy)), warehouse)
    assert "DQ gate 'sus_population' failed: 3 of" in text
    m3, m5, m7 = (pop.at[i, "municipio"] for i in (3, 5, 7))
    assert f"IBGE/populacao.csv line 5: populacao missing, not an integer or not positive (municipio={m3}," in text
    assert f"IBGE/populacao.csv line 7: populacao missing, not an integer or not positive (municipio={m5}," in text
    assert f"IBGE/populacao.csv line 9: municipio x ano repeated (municipio={m7}," in text
    assert f"IBGE/populacao.csv line {len(pop) + 1}: municipio x ano repeated (municipio={m7}," in text
    assert not warehouse.table_exists("sus_production_monthly")


def test_missing_landing_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no SIA or SIH file for competência 2026-10 under"):
        p.list_ufs(p.SusRun("r", END, str(tmp_path)))


def test_a_month_with_only_later_files_is_not_built_from_its_late_records(landing, tmp_path, warehouse):
    # the landing holds END's files, which carry late SIA records of END - 1, but none of END - 1's own: a
    # cube of END - 1 from them would be a few percent of its production
    from vigia import runs

    prev = runs.add_months(END, -1)
    copy = copy_of(landing, tmp_path)
    for system in ("SIA", "SIH"):
        for f in (copy / system).glob(f"*{prev:%y%m}*"):
            f.unlink()
    run = p.SusRun("r", prev, str(copy))
    with pytest.raises(FileNotFoundError, match=rf"no SIA or SIH file of competência {prev:%Y-%m} itself under .*"
                                                rf"only files of later months, .*PA[A-Z]{{2}}{END:%y%m}"):
        p.list_ufs(run)
    # the history step skips it with that reason: the month stays missing ("sem histórico"), not wrong
    got = p.build_history_cube(p.SusRun("r2", END, str(copy)), warehouse, f"{prev:%Y-%m}")
    assert got["cells"] == 0 and "itself" in got["reason"]
    assert not warehouse.table_exists("sus_production_monthly")


def test_parquet_goes_through_duckdb_and_csv_through_pandas_with_the_same_rows(landing, tmp_path):
    import shutil

    copy = tmp_path / "csv_landing"
    shutil.copytree(landing, copy)
    for system, prefix in (("SIA", "PA"), ("SIH", "RD")):
        for path in (copy / system).glob(f"{prefix}MG*.parquet"):
            pd.read_parquet(path).astype(str).to_csv(path.with_suffix(".csv"), index=False)
            path.unlink()
    sql_run, pandas_run = p.SusRun("sql", END, str(landing)), p.SusRun("pandas", END, str(copy))
    sql = p.ingest_uf(sql_run, "MG")
    pandas = p.ingest_uf(pandas_run, "MG")
    assert (sql["engine"], pandas["engine"]) == ("duckdb", "pandas")
    assert sql["rows"] == pandas["rows"] > 0 and sql["quarantined"] == pandas["quarantined"]
    assert sql["staged"] < pandas["staged"] == pandas["rows"]  # SIA rows summed to the cube's grain
    a = pd.read_parquet(sql_run.file("files_MG.parquet")).sort_values("arquivo").reset_index(drop=True)
    b = pd.read_parquet(pandas_run.file("files_MG.parquet"))
    b = b.assign(arquivo=b["arquivo"].str.replace(".csv", ".parquet")).sort_values("arquivo").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert p.production_files(sql_run, ["MG"]) == [sql_run.file("ingest_MG") / f"producao_{s}.parquet"
                                                    for s in ("SIA", "SIH")]
    p.build_cube(sql_run, ["MG"])
    p.build_cube(pandas_run, ["MG"])
    key = ["alvo", "sistema", "cnes", "municipio"]
    got = pd.read_parquet(sql_run.file("cube.parquet")).sort_values(key).reset_index(drop=True)
    expected = pd.read_parquet(pandas_run.file("cube.parquet")).sort_values(key).reset_index(drop=True)
    assert len(got) > 50
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("top, labels", [
    (0, []), (-1, []), (1, ["fichas 1 de 1"]), (10, ["fichas 1 de 1"]), (11, ["fichas 1 de 2", "fichas 2 de 2"]),
    (20, ["fichas 1 de 2", "fichas 2 de 2"]), (31, [f"fichas {i} de 4" for i in range(1, 5)]),
    (200, [f"fichas {i} de 4" for i in range(1, 5)]),
])
def test_fact_sheet_parts_are_bounded_and_labelled(top, labels):
    parts = p.fact_sheet_parts(p.SusRun("parts", END, "unused", top_fact_sheets=top))
    assert [d["label"] for d in parts] == labels
    assert [d["part"] for d in parts] == list(range(len(labels)))
    assert {d["parts"] for d in parts} == ({len(labels)} if labels else set())
    assert len(parts) <= p.MAX_FACT_SHEET_PARTS


def test_fact_sheet_parts_read_only_their_rows_and_publish_scores_takes_their_results(landing, tmp_path):
    from vigia.connections import ConnectionSpec
    from vigia.sus import fact_sheets, targets
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{(tmp_path / 'wh.duckdb').as_posix()}"))
    run = p.SusRun("sheets", END, str(landing), top_fact_sheets=13)
    out = p.run_in_process(run, wh)
    assert out["fact_sheets"]["sheets"] == 13 and out["fact_sheets"]["parts"] == 2
    index = out["fact_sheets"]["index"]
    ranking = wh.query("SELECT cnes, folha_de_fatos FROM sus_provider_ranking WHERE folha_de_fatos IS NOT NULL")
    assert dict(zip(ranking["cnes"], ranking["folha_de_fatos"])) == index and len(index) == 13
    assert not list(run.dir.glob("fact_sheets_*.json"))                 # no part files: the results are the XCom

    # each part read a fraction of the fact sheets' cube, and its pages are those of the whole cube
    history = pd.read_parquet(run.file("history.parquet"))
    assert all(0 < n < len(history) for n in out["fact_sheets"]["history_rows"]), \
        (out["fact_sheets"]["history_rows"], len(history))
    tgt = targets.load()
    whole = fact_sheets.render_top(p.load_scores(run), history, dict(zip(tgt["alvo"], tgt["nome"])),
                                   pd.read_parquet(run.file("registry.parquet")), tmp_path / "whole", top=13,
                                   population=pd.read_parquet(run.file("population.parquet")))
    assert sorted(Path(f).name for f in index.values()) == sorted(f.name for f in whole)
    for page in whole:
        assert Path(index[page.name.split("_")[1]]).read_bytes() == page.read_bytes(), page.name

    # a rerun of the run id with fewer sheets publishes what its parts return, nothing left by the earlier try
    run.file("fact_sheets_3.json").write_text(json.dumps({"9999999": "/stale.html"}))   # an old version's file
    smaller = p.SusRun("sheets", END, str(landing), top_fact_sheets=1)
    assert p.fact_sheet_parts(smaller) == [{"part": 0, "parts": 1, "label": "fichas 1 de 1"}]
    done = p.fact_sheets(smaller, 0, 1)
    assert done["sheets"] == 1 and done["index"] == {top1(wh): index[top1(wh)]}
    p.publish_scores(smaller, wh, [done])
    got = wh.query("SELECT rank, folha_de_fatos FROM sus_provider_ranking WHERE folha_de_fatos IS NOT NULL")
    assert got["rank"].tolist() == [1] and got["folha_de_fatos"].item() == index[top1(wh)]
    # and the month's folder holds that one sheet: the 12 of the earlier run that left the top are gone
    folder = Path(index[top1(wh)]).parent
    assert [f.name for f in folder.glob("*.html")] == [Path(index[top1(wh)]).name]
    assert len(index) == 13


def top1(wh) -> str:
    return wh.query("SELECT cnes FROM sus_provider_ranking WHERE rank = 1")["cnes"].item()


def test_publish_scores_merges_the_results_of_every_part(landing, tmp_path):
    """publish_scores takes the fact_sheets parts' results (hand-written here), as the DAG hands it their XCom."""
    from vigia.connections import ConnectionSpec
    from vigia.warehouse import open_warehouse

    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", f"duckdb:///{(tmp_path / 'wh.duckdb').as_posix()}"))
    run = p.SusRun("merge", END, str(landing), top_fact_sheets=0)
    out = p.run_in_process(run, wh)
    assert "fact_sheets" in out and out["fact_sheets"]["parts"] == 0
    sheets = "SELECT cnes, folha_de_fatos FROM sus_provider_ranking WHERE folha_de_fatos IS NOT NULL"
    assert wh.query(sheets).empty                                        # top_fact_sheets = 0: no sheets
    top = wh.query("SELECT cnes FROM sus_provider_ranking ORDER BY rank LIMIT 5")["cnes"].tolist()
    parts = {0: top[0:4:3], 1: top[1:4:3], 2: top[2:4:3]}                # 1 & 4, 2, 3 (positions 0,3 / 1 / 2)
    results = [{"sheets": len(c), "index": {c_: f"/r/{part}_{c_}.html" for c_ in c}} for part, c in parts.items()]
    p.publish_scores(run, wh, [*results, {"sheets": 0, "index": {}}, None])
    got = wh.query(sheets)
    assert dict(zip(got["cnes"], got["folha_de_fatos"])) == {
        top[0]: f"/r/0_{top[0]}.html", top[3]: f"/r/0_{top[3]}.html", top[1]: f"/r/1_{top[1]}.html",
        top[2]: f"/r/2_{top[2]}.html"}
    for nothing in ([], None):                                           # an empty (skipped) map: no results
        p.publish_scores(run, wh, nothing)
        assert wh.query(sheets).empty


def test_a_cube_built_before_its_late_records_landed_is_rebuilt_with_them(landing, tmp_path, warehouse):
    # SIA accepts records up to 3 months late: the run of END finds, in END's files, records of the month
    # before, whose cube the previous month's run built without them
    import shutil

    from vigia import runs

    prev = runs.add_months(END, -1)
    copy = copy_of(landing, tmp_path)
    held = tmp_path / "held"
    for system in ("SIA", "SIH"):  # the landing on the 10th of END: no file processed in END yet
        (held / system).mkdir(parents=True)
        for f in (copy / system).glob(f"*{END:%y%m}*"):
            shutil.move(f, held / system / f.name)
    run_until_cube(p.SusRun("r7", prev, str(copy)), warehouse)
    first = warehouse.query("SELECT SUM(quantidade) AS q FROM sus_production_monthly")["q"].item()
    built = warehouse.query("SELECT arquivo FROM sus_cube_files")["arquivo"]
    assert len(built) > 0 and not built.str.contains(f"{END:%y%m}").any()

    for system in ("SIA", "SIH"):  # END's files land
        for f in (held / system).iterdir():
            shutil.move(f, copy / system / f.name)
    run = p.SusRun("r8", END, str(copy))
    assert p.months_with_late_files(run, warehouse) == [f"{prev:%Y-%m}"]
    assert p.history_to_build(run, warehouse, missing=False, late=False) == []
    assert p.history_to_build(run, warehouse, missing=False, late=True) == [f"{prev:%Y-%m}"]
    p.build_history_cube(run, warehouse, f"{prev:%Y-%m}")

    whole = p.SusRun("r9", prev, str(copy))  # the cube of prev from every file, not published
    ufs = p.list_ufs(whole)
    for uf in ufs:
        p.ingest_uf(whole, uf)
    p.build_cube(whole, ufs)
    want = pd.read_parquet(whole.file("cube.parquet"))["quantidade"].sum()
    got = warehouse.query("SELECT SUM(quantidade) AS q FROM sus_production_monthly")["q"].item()
    assert got == pytest.approx(want) and got > first  # the late records are in
    assert warehouse.query("SELECT arquivo FROM sus_cube_files")["arquivo"].str.contains(f"{END:%y%m}").any()
    assert p.months_with_late_files(run, warehouse) == []  # nothing new since


def test_a_scored_month_whose_cube_is_rebuilt_is_named_for_rescoring(landing, tmp_path, warehouse):
    from vigia import runs

    prev = runs.add_months(END, -1)
    run = p.SusRun("s1", prev, str(landing), top_fact_sheets=0)
    assert "scores_to_rerun" not in p.build_history_cube(run, warehouse, f"{prev:%Y-%m}")  # never scored
    p.run_in_process(run, warehouse, with_fact_sheets=False)
    got = p.build_history_cube(p.SusRun("s2", END, str(landing)), warehouse, f"{prev:%Y-%m}")
    assert got["scores_to_rerun"] == (
        f"competência {prev:%Y-%m}: its published scores (run s1) were computed on the cube this run replaced; "
        f"to rescore it, trigger sus_anomaly_scoring with competencia={prev:%Y-%m} (or clear that month's run)")
    assert warehouse.query("SELECT DISTINCT run_id FROM sus_production_monthly")["run_id"].tolist() == [
        "s2__historico_" + f"{prev:%Y-%m}"]


def test_uf_coverage_is_the_ufs_whose_own_month_file_was_read():
    files = pd.DataFrame({"sistema": ["SIA", "SIA", "SIA", "SIH", "SIH", "SIA"],
                          "arquivo": ["PASP2610a.parquet", "PASP2610b.parquet", "PAMG2611.parquet",
                                      "RDMG2610.dbc", "RDBA2612.csv", "PABA2610.csv"]})
    got = p.uf_coverage(files, END)
    # MG's SIA and BA's SIH files are of later months (late records only): not covered
    assert got.to_dict("records") == [
        {"sistema": "SIA", "uf": "BA", "uf_codigo": "29"}, {"sistema": "SIA", "uf": "SP", "uf_codigo": "35"},
        {"sistema": "SIH", "uf": "MG", "uf_codigo": "31"}]


def test_a_uf_whose_files_have_not_landed_is_not_covered(landing, tmp_path, warehouse):
    import shutil

    copy = copy_of(landing, tmp_path)
    ufs = p.list_ufs(p.SusRun("r0", END, str(copy)))
    late = ufs[0]  # its SIA and SIH files of END have not landed yet
    for system, prefix in (("SIA", "PA"), ("SIH", "RD")):
        gone = list((copy / system).glob(f"{prefix}{late}{END:%y%m}*"))
        assert gone
        for f in gone:
            f.unlink()
    run_until_cube(p.SusRun("r1", END, str(copy)), warehouse)
    got = warehouse.query("SELECT sistema, uf, uf_codigo, run_id FROM sus_cube_uf_coverage "
                          "WHERE competencia = :c ORDER BY sistema, uf", {"c": END})
    want = [(s, uf) for s in ("SIA", "SIH") for uf in ufs if uf != late]
    assert list(zip(got["sistema"], got["uf"])) == want
    assert set(got["run_id"]) == {"r1"}
    # the score step says which UFs it left out
    assert p.score(p.SusRun("r1", END, str(copy)), warehouse)["ufs_not_landed"] == {"SIA": [late], "SIH": [late]}
    # the files land; the rerun of the month replaces the partition, with the UF covered
    for system in ("SIA", "SIH"):
        for f in (landing / system).glob(f"*{late}{END:%y%m}*"):
            shutil.copy(f, copy / system / f.name)
    run_until_cube(p.SusRun("r2", END, str(copy)), warehouse)
    got = warehouse.query("SELECT sistema, uf FROM sus_cube_uf_coverage WHERE competencia = :c "
                          "ORDER BY sistema, uf", {"c": END})
    assert list(zip(got["sistema"], got["uf"])) == [(s, uf) for s in ("SIA", "SIH") for uf in ufs]
    assert p.score(p.SusRun("r2", END, str(copy)), warehouse)["ufs_not_landed"] == {}


def test_a_uf_without_its_cnes_file_of_the_month_is_registered_from_its_latest_earlier_one(landing, tmp_path,
                                                                                           warehouse):
    # the benign flags (mobile unit, regional spike) read the CNES registry: a UF whose ST file of the month
    # has not landed gets its previous month's, and the gate's record says so
    copy = copy_of(landing, tmp_path)
    before = date(2026, 9, 1)
    (copy / "CNES" / f"STMG{END:%y%m}.parquet").unlink()
    run = p.SusRun("r0", END, str(copy))
    ufs = p.list_ufs(run)
    for uf in ufs:
        p.ingest_uf(run, uf)
    notes = p.gate_ingest(run, warehouse, ufs)["registry_notes"]
    registry = pd.read_parquet(run.file("registry.parquet"))
    assert set(registry.loc[registry["uf"] == "MG", "arquivo"]) == {f"STMG{before:%y%m}.parquet"}
    assert set(registry.loc[registry["uf"] == "SP", "arquivo"]) == {f"STSP{END:%y%m}.parquet"}
    mg = pd.read_parquet(copy / "CNES" / f"STMG{before:%y%m}.parquet")
    assert len(registry[registry["uf"] == "MG"]) == len(mg) > 0
    assert notes == [f"CNES: no ST file of MG for competência {END:%Y-%m}; its registry is STMG{before:%y%m}.parquet "
                     f"({before:%Y-%m}), the latest before it"]
    assert warehouse.query("SELECT success FROM dq_results WHERE suite = 'sus_registry'")["success"].tolist() == [True]


def test_a_uf_without_any_cnes_file_fails_the_gate_naming_it(landing, tmp_path, warehouse):
    copy = copy_of(landing, tmp_path)
    for path in (copy / "CNES").glob("STMG*"):
        path.unlink()
    text = ingest_gate_failure(p.SusRun("r0", END, str(copy)), warehouse)
    assert "DQ gate 'sus_registry' failed" in text
    assert "column cnes_sem_cadastro: expect_column_values_to_be_null" in text
    assert f"CNES: no ST file of MG for competência {END:%Y-%m} or earlier" in text
    served = pd.read_parquet(copy / "SIA" / f"PAMG{END:%y%m}.parquet", columns=["PA_CODUNI"])["PA_CODUNI"]
    assert f"establishment(s) with production in MG are not in the registry (e.g. {sorted(set(served))[0]}" in text
    assert not warehouse.table_exists("sus_production_monthly")


def test_a_year_the_ibge_file_lacks_is_carried_from_its_latest_and_never_emptied(landing, tmp_path, warehouse):
    # IBGE publishes a year's estimates around August: a run before that finds no row of the competência's
    # year. The latest year's populations stand in for it, said in the gate's result, and the month scores
    from vigia.sus import scoring

    copy = copy_of(landing, tmp_path)
    pop_path = copy / "IBGE" / "populacao.csv"
    pop = pd.read_csv(pop_path, dtype={"municipio": str})
    assert set(pop["ano"]) == {END.year}
    # the file holds last year's estimates only (1% fewer people, so that a mix-up would show)
    pop = pop.assign(ano=END.year - 1, populacao=(pop["populacao"] * 0.99).round().astype(int))
    pop.to_csv(pop_path, index=False)
    run = p.SusRun("r0", END, str(copy), top_fact_sheets=0)
    out = p.run_in_process(run, warehouse, with_fact_sheets=False)
    assert out["dq_ingest"]["population_notes"] == [
        f"IBGE/populacao.csv has no population for {END.year}: {END.year - 1}'s (its latest year) is used for "
        f"{END.year}; land {END.year}'s estimates and rerun to replace it"]
    stored = warehouse.query("SELECT municipio, ano, populacao FROM sus_population ORDER BY ano, municipio")
    last = pop[pop["ano"] == END.year - 1].sort_values("municipio")
    now = stored[stored["ano"] == END.year]
    assert now["municipio"].tolist() == last["municipio"].tolist()
    assert now["populacao"].tolist() == last["populacao"].tolist()
    assert warehouse.query("SELECT COUNT(*) AS n FROM sus_provider_ranking")["n"].item() > 0

    # publishing a file without a year leaves that year's rows in the warehouse as they were
    before = len(stored)
    scoring.publish_population(warehouse, last, [END.year - 1, END.year], "r1")
    assert len(warehouse.query("SELECT * FROM sus_population")) == before
    # a year with no earlier one in the file is not made up
    only = pop[pop["ano"] == END.year - 1]
    same, notes = scoring.carry_forward_population(only, [END.year - 2])
    assert same is only and notes == []
