"""DuckDB-native SUS ingestion (vigia.sus.ingest_sql) against the pandas path (datasus + code_problems)."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
import pytest

from vigia.sample_data import sus as gen
from vigia.sus import cubes, datasus, ingest_pandas, ingest_sql, targets

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasus"
JUNE = date(2016, 6, 1)
SYSTEMS = ("SIA", "SIH")


# ----------------------------------------------------------------------------- helpers


def pandas_path(landing: Path, competencia: date) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Good rows, bad rows (with problema) and per-file summary of the pandas engine."""
    return ingest_pandas.ingest_competencia(landing, competencia)


def _value(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, float) or hasattr(v, "dtype") and "float" in str(v.dtype):
        return float(v)
    if hasattr(v, "item"):
        return v.item()
    return v


def rows(df: pd.DataFrame, columns=cubes.PRODUCTION_COLUMNS) -> list[tuple]:
    """Rows as canonical tuples (None for missing, dates, floats), sorted."""
    out = [tuple(_value(v) for v in r) for r in df[columns].itertuples(index=False, name=None)]
    return sorted(out, key=repr)


def sql_path(landing: Path, competencia: date, out: Path) -> dict:
    files = ingest_sql.select_landing_files(landing, competencia)
    return ingest_sql.ingest_competencia(files, competencia, out, memory_limit="1GB", threads=2)


def sql_rows(landing: Path, competencia: date) -> pd.DataFrame:
    """The row-level normalised rows of the SQL path (ingest_sql.normalised), problema included."""
    files = ingest_sql.select_landing_files(landing, competencia)
    con = ingest_sql.connect("1GB", 2)
    try:
        return pd.concat([ingest_sql.normalised(con, s, files[s], competencia).df() for s in SYSTEMS if files[s]],
                         ignore_index=True)
    finally:
        con.close()


STAGE_KEY = ["competencia", "sistema", "cnes", "procedimento", "municipio_residencia", "idade", "n_aih"]


def staged_like_sql(good: pd.DataFrame) -> pd.DataFrame:
    """The pandas good rows brought to the SQL staging grain by hand: SIA procedure cut to the longest
    target prefix (6 digits for the shipped targets), age to its band; SIH one row each."""
    bands = dict(ingest_sql.age_bands())
    good = good.copy()
    sia = good["sistema"] == "SIA"
    good.loc[sia, "procedimento"] = good.loc[sia, "procedimento"].str[:6]
    good.loc[sia, "idade"] = good.loc[sia, "idade"].map(lambda a: bands.get(int(a), a) if pd.notna(a) else a)
    return good.assign(linhas=1)


def summed(df: pd.DataFrame) -> list[tuple]:
    """Staged rows summed over the key (the SQL side keeps one row per file as well), canonical and sorted."""
    df = df.copy()
    df["competencia"] = pd.to_datetime(df["competencia"]).dt.date
    df["idade"] = df["idade"].astype("Int64")
    g = df.groupby(STAGE_KEY, dropna=False, as_index=False)[["quantidade", "valor", "linhas"]].sum(min_count=1)
    g["valor"] = g["valor"].round(6)
    return rows(g, STAGE_KEY + ["quantidade", "valor", "linhas"])


def assert_equivalent(landing: Path, competencia: date, out: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """SQL and pandas paths agree row by row (normalised), on the staging, the quarantine and the summary.

    Returns (result, the SQL path's good rows row by row, its quarantine)."""
    good, bad, summary = pandas_path(landing, competencia)
    result = sql_path(landing, competencia, out)
    normalised = sql_rows(landing, competencia)
    row_good = normalised[normalised["problema"].isna()]
    assert rows(row_good) == rows(good)
    staged = pd.concat([pd.read_parquet(out / f"producao_{s}.parquet") for s in SYSTEMS], ignore_index=True)
    assert list(staged.columns) == cubes.PRODUCTION_COLUMNS + ["linhas"]
    assert staged["linhas"].sum() == len(good) == sum(s["rows"] for s in result["systems"].values())
    assert summed(staged) == summed(staged_like_sql(good))
    sql_bad = pd.concat([pd.read_parquet(out / f"quarantine_{s}.parquet") for s in SYSTEMS], ignore_index=True)
    assert list(sql_bad.columns) == ingest_sql.QUARANTINE_COLUMNS
    assert list(bad.columns) == ingest_sql.QUARANTINE_COLUMNS  # the pandas path's quarantine: the same columns
    if len(bad):
        key = ["sistema", "arquivo", "linha", "cnes", "procedimento", "municipio_residencia", "problema"]
        assert rows(sql_bad, key) == rows(bad, key)
        assert rows(normalised[normalised["problema"].notna()], key) == rows(bad, key)
    else:
        assert sql_bad.empty
    assert sorted(result["files"], key=lambda r: (r["sistema"], r["arquivo"])) == \
        sorted(summary, key=lambda r: (r["sistema"], r["arquivo"]))
    return result, row_good, sql_bad


def land_fixtures(landing: Path) -> None:
    (landing / "SIA").mkdir(parents=True)
    (landing / "SIH").mkdir(parents=True)
    shutil.copy(FIXTURES / "SIA_PA_AC_201606_head100.parquet", landing / "SIA" / "PAAC1606.parquet")
    shutil.copy(FIXTURES / "SIH_RD_AC_201606_head100.parquet", landing / "SIH" / "RDAC1606.parquet")


# ----------------------------------------------------------------------------- real rows


def test_real_fixture_rows_equal_the_pandas_path(tmp_path):
    land_fixtures(tmp_path / "landing")
    result, good, bad = assert_equivalent(tmp_path / "landing", JUNE, tmp_path / "out")
    assert result["systems"]["SIA"]["rows"] + result["systems"]["SIA"]["quarantined"] == 100
    assert result["systems"]["SIH"]["rows"] + result["systems"]["SIH"]["quarantined"] == 100
    assert len(good) > 150
    # codes keep their leading zeros; SIH ages follow COD_IDADE (3 = months -> 0)
    assert good["procedimento"].str.fullmatch(r"\d{10}").all()
    assert good["procedimento"].str.startswith("0").any()
    assert (good.loc[good["sistema"] == "SIH", "idade"] == 0).sum() >= 3


def test_numeric_code_columns_get_their_leading_zeros_back(tmp_path):
    """A producer that stored codes as numbers: lpad restores the fixed width, as datasus does."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet")
    for col in ("PA_PROC_ID", "PA_CODUNI", "PA_MUNPCN", "PA_CMP"):
        i = sia.schema.get_field_index(col)
        sia = sia.set_column(i, col, pa.compute.cast(sia[col], pa.int64()))
    # without the pandas metadata of the fixture (it would make pandas read the numbers back as text)
    pq.write_table(sia.replace_schema_metadata(None), landing / "SIA" / "PAAC1606.parquet")
    sih = pq.read_table(landing / "SIH" / "RDAC1606.parquet")
    for col, typ in (("MUNIC_RES", pa.float64()), ("MES_CMPT", pa.int32()), ("COD_IDADE", pa.int8())):
        i = sih.schema.get_field_index(col)
        sih = sih.set_column(i, col, pa.compute.cast(sih[col], typ))
    pq.write_table(sih.replace_schema_metadata(None), landing / "SIH" / "RDAC1606.parquet")
    _, good, _ = assert_equivalent(landing, JUNE, tmp_path / "out")
    assert good["procedimento"].str.fullmatch(r"0\d{9}").any()
    assert good["procedimento"].str.fullmatch(r"\d{10}").all()


# ----------------------------------------------------------------------------- bad rows


def test_bad_rows_land_in_quarantine_with_their_problem(tmp_path):
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    edits = [("PA_MUNPCN", "12004"), ("PA_VALAPR", -12.5), ("PA_PROC_ID", "030101007"), ("PA_CMP", "201613")]
    for i, (col, value) in enumerate(edits):
        sia.loc[i, col] = value
    sia.loc[4, "PA_QTDAPR"] = None  # a missing quantity
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    # a late row of May processed in a file of a later month is read for May only
    _, _, bad = assert_equivalent(landing, JUNE, tmp_path / "out")
    problems = bad.sort_values("linha")["problema"].tolist()
    assert problems[0] == "municipio_residencia '12004' is not 6 digits"
    assert problems[1] == "valor is negative (-12.5)"
    assert problems[2] == "procedimento '030101007' is not 10 digits"
    assert problems[3] == "competencia '201613' is not a valid AAAAMM month"
    assert problems[4] == "quantidade missing or not numeric"
    assert bad.sort_values("linha")["linha"].tolist()[:5] == [1, 2, 3, 4, 5]  # 1 = the first data row
    assert (bad["arquivo"] == "PAAC1606.parquet").all()


def test_a_bad_competencia_is_shown_as_the_file_holds_it_on_both_paths(tmp_path):
    """The quarantine message names the value: 'AAAA-MM' is refused in a row (both paths), blanks are
    stripped, a missing competência reads ''. SIH's is ANO_CMPT followed by MES_CMPT."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    for i, value in enumerate(["2016-06", " 201600 ", None, "16O6"]):
        sia.loc[i, "PA_CMP"] = value
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    sih = pq.read_table(landing / "SIH" / "RDAC1606.parquet").to_pandas()
    sih.loc[0, "MES_CMPT"] = "13"
    sih.loc[1, "ANO_CMPT"] = None
    pq.write_table(pa.Table.from_pandas(sih, preserve_index=False), landing / "SIH" / "RDAC1606.parquet")
    _, _, bad = assert_equivalent(landing, JUNE, tmp_path / "out")  # the same texts on both paths
    got = dict(zip(zip(bad["sistema"], bad["linha"].astype(int)), bad["problema"]))
    assert got[("SIA", 1)] == "competencia '2016-06' is not a valid AAAAMM month"
    assert got[("SIA", 2)] == "competencia '201600' is not a valid AAAAMM month"
    assert got[("SIA", 3)] == "competencia '' is not a valid AAAAMM month"
    assert got[("SIA", 4)] == "competencia '16O6' is not a valid AAAAMM month"
    assert got[("SIH", 1)] == "competencia '201613' is not a valid AAAAMM month"
    assert got[("SIH", 2)] == "competencia '' is not a valid AAAAMM month"
    assert len(bad) == 6


def test_summary_counts_bad_share_and_examples(tmp_path):
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sih = pq.read_table(landing / "SIH" / "RDAC1606.parquet").to_pandas()
    sih.loc[10, "CNES"] = "12345"
    sih.loc[20, "N_AIH"] = "  "
    sih.loc[30, "MES_CMPT"] = "05"  # another competência in the June file: outside its window
    pq.write_table(pa.Table.from_pandas(sih, preserve_index=False), landing / "SIH" / "RDAC1606.parquet")
    result, _, _ = assert_equivalent(landing, JUNE, tmp_path / "out")
    (rd,) = [f for f in result["files"] if f["sistema"] == "SIH"]
    assert rd["rows"] == 100 and rd["bad"] == 3 and math.isclose(rd["bad_share"], 0.03)
    assert rd["examples"] == ("cnes '12345' is not 7 digits; n_aih missing; competencia outside the processing "
                              "window (1 month(s) before mes_processamento, allowed 0..0)")
    # one count per broken rule: the window message's own text does not split into a rule of its own
    assert rd["bad_by_rule"] == "cnes: 1; competencia: 1; n_aih: 1"


def test_a_nan_number_is_missing_and_its_row_quarantined(tmp_path):
    """NaN stored in a numeric Parquet column (and 'NaN' as text) is a missing number, as pandas sees it:
    the row is quarantined on both paths, never staged as good production with a NaN valor."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    path = landing / "SIA" / "PAAC1606.parquet"
    sia = pq.read_table(path)
    valor = [float(v) for v in sia.column("PA_VALAPR").to_pylist()]
    valor[7] = float("nan")  # a float NaN in the file (pa.Table.from_pandas would store it as null)
    qtd = [str(v) for v in sia.column("PA_QTDAPR").to_pylist()]
    qtd[9] = "NaN"
    sia = sia.set_column(sia.schema.get_field_index("PA_VALAPR"), "PA_VALAPR", pa.array(valor, type=pa.float64()))
    sia = sia.set_column(sia.schema.get_field_index("PA_QTDAPR"), "PA_QTDAPR", pa.array(qtd, type=pa.string()))
    assert pa.compute.is_nan(sia.column("PA_VALAPR")).to_pylist()[7]
    pq.write_table(sia, path)
    result, good, bad = assert_equivalent(landing, JUNE, tmp_path / "out")
    assert sorted(bad["problema"]) == ["quantidade missing or not numeric", "valor missing or not numeric"]
    assert good["valor"].notna().all() and good["quantidade"].notna().all()
    (pa_file,) = [f for f in result["files"] if f["sistema"] == "SIA"]
    assert pa_file["bad"] == 2 and pa_file["bad_by_rule"] == "quantidade: 1; valor: 1"


def test_late_sia_rows_and_mvm_disagreeing_with_the_file_name(tmp_path):
    """SIA rows of earlier competências are read from later files; a PA_MVM off the name is flagged."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    july = sia.copy()
    july["PA_MVM"] = "201607"
    july.loc[:49, "PA_CMP"] = "201606"  # late rows of June
    july.loc[50:, "PA_CMP"] = "201607"
    july.loc[60, "PA_CMP"] = "201601"  # too late: quarantined by the July call
    july.loc[5, "PA_MVM"] = "201608"   # PA_MVM differs from the name
    pq.write_table(pa.Table.from_pandas(july, preserve_index=False), landing / "SIA" / "PAAC1607.parquet")
    for month in (JUNE, date(2016, 7, 1)):
        assert_equivalent(landing, month, tmp_path / f"out{month:%m}")
    june = pd.read_parquet(tmp_path / "out06" / "producao_SIA.parquet")
    assert june["linhas"].sum() == 149  # 100 of PAAC1606 + 49 late rows of PAAC1607
    bad = pd.read_parquet(tmp_path / "out06" / "quarantine_SIA.parquet")
    assert bad["problema"].tolist() == [
        "mes_processamento 2016-08-01 differs from the month in the file name PAAC1607.parquet"]
    july_bad = pd.read_parquet(tmp_path / "out07" / "quarantine_SIA.parquet")
    assert july_bad["problema"].tolist() == [
        "competencia outside the processing window (6 month(s) before mes_processamento, allowed 0..3)"]


def test_files_outside_the_window_and_other_formats(tmp_path):
    landing = tmp_path / "landing"
    land_fixtures(landing)
    files = {"SIA": [landing / "SIA" / "PAAC1606.parquet"]}
    out = ingest_sql.ingest_competencia(files, date(2016, 9, 1), tmp_path / "out")  # June cannot hold September
    assert out["systems"]["SIA"]["rows"] == 0 and out["files"] == []
    assert pd.read_parquet(tmp_path / "out" / "producao_SIA.parquet").columns.tolist() == \
        cubes.PRODUCTION_COLUMNS + ["linhas"]
    csv = landing / "SIA" / "PAAC1605.csv"
    shutil.copy(FIXTURES / "SIA_PA_AC_201606_head100.csv", csv)
    with pytest.raises(datasus.DatasusFormatError, match="Parquet landings only"):
        ingest_sql.ingest_competencia({"SIA": [csv]}, date(2016, 5, 1), tmp_path / "out")
    broken = landing / "SIH" / "RDAC1606.parquet"
    pq.write_table(pq.read_table(broken).drop(["VAL_TOT"]), broken)
    with pytest.raises(datasus.DatasusFormatError, match="missing required column.*VAL_TOT"):
        ingest_sql.ingest_competencia({"SIH": [broken]}, JUNE, tmp_path / "out")


# ----------------------------------------------------------------------------- generated data + cube


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("sus_landing")
    gen.generate(landing, date(2026, 4, 1), months=4, municipalities=100, sia_rows_per_month=20_000)
    return landing


@pytest.mark.parametrize("month", [date(2026, 1, 1), date(2026, 4, 1)])
def test_generated_months_and_cube_equal_the_pandas_path(generated, tmp_path, month):
    good, _, _ = pandas_path(generated, month)
    result, sql_good, sql_bad = assert_equivalent(generated, month, tmp_path / "out")
    assert len(sql_good) > 15_000 and sql_bad.empty
    assert result["systems"]["SIA"]["files"] == (5 * 4 if month.month == 1 else 5)  # late SIA rows
    pandas_file = tmp_path / "producao_pandas.parquet"
    good.to_parquet(pandas_file, index=False)
    tg = targets.load()
    expected = cubes.build_cube([pandas_file], month, tg)
    got = cubes.build_cube(ingest_sql.production_files(result), month, tg)
    key = ["alvo", "alvo_versao", "sistema", "cnes", "municipio"]
    expected = expected.sort_values(key).reset_index(drop=True)
    got = got.sort_values(key).reset_index(drop=True)
    assert len(got) > 100
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


# ----------------------------------------------------------------------------- the staging grain


def test_age_bands_keep_every_target_test_and_prefix_length():
    """Shipped targets: SIA-030402 is 18+ (the only age bound), so ages fall in two bands: 17 and 18."""
    bands = dict(ingest_sql.age_bands())
    assert (bands[0], bands[17], bands[18], bands[95], bands[150]) == (17, 17, 18, 18, 18)
    assert ingest_sql.prefix_length() == 6
    tg = targets.load()
    extra = tg.iloc[[0]].assign(alvo="SIA-X", procedimentos="0301010072", idade_min=40, idade_max=59)
    both = pd.concat([tg[tg["alvo"] != "SIA-020201"], extra], ignore_index=True)
    bands = dict(ingest_sql.age_bands(both))
    # bounds 18, 40 and 60 (= 59 + 1): [0, 17] -> 17, [18, 39] -> 18, [40, 59] -> 40, 60+ -> 60
    assert [bands[a] for a in (3, 17, 18, 39, 40, 59, 60, 110)] == [17, 17, 18, 18, 40, 40, 60, 60]
    assert ingest_sql.prefix_length(both) == 10
    codes = targets.expand_codes(both)
    for age in range(0, 151):
        for t in codes.itertuples():
            inside = (pd.isna(t.idade_min) or age >= t.idade_min) and (pd.isna(t.idade_max) or age <= t.idade_max)
            band = bands[age]
            assert inside == ((pd.isna(t.idade_min) or band >= t.idade_min)
                              and (pd.isna(t.idade_max) or band <= t.idade_max)), (age, t.alvo)


def test_sia_rows_are_summed_to_the_cube_grain_and_sih_stays_row_by_row(tmp_path):
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    sia.loc[1, ["PA_CODUNI", "PA_MUNPCN", "PA_PROC_ID", "PA_IDADE"]] = sia.loc[0, ["PA_CODUNI", "PA_MUNPCN", "PA_PROC_ID",
                                                                                  "PA_IDADE"]].values
    sia.loc[0, ["PA_QTDAPR", "PA_VALAPR"]] = [2, 10.5]
    sia.loc[1, ["PA_QTDAPR", "PA_VALAPR"]] = [3, 4.25]
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    result, _, _ = assert_equivalent(landing, JUNE, tmp_path / "out")
    staged = pd.read_parquet(tmp_path / "out" / "producao_SIA.parquet")
    assert staged["linhas"].sum() == 100 and len(staged) < 100 and staged["procedimento"].str.len().eq(6).all()
    row = staged[(staged["cnes"] == sia.loc[0, "PA_CODUNI"].strip())
                 & (staged["procedimento"] == sia.loc[0, "PA_PROC_ID"].strip()[:6])
                 & (staged["municipio_residencia"] == sia.loc[0, "PA_MUNPCN"].strip())]
    assert row["linhas"].sum() >= 2 and row["quantidade"].sum() >= 5 and row["valor"].sum() >= 14.75
    sih = pd.read_parquet(tmp_path / "out" / "producao_SIH.parquet")
    assert len(sih) == sih["linhas"].sum() == result["systems"]["SIH"]["rows"] == result["systems"]["SIH"]["staged"]
    assert sih["n_aih"].str.fullmatch(r"\d{13}").all()


def test_paths_travel_as_arguments_not_sql_text(tmp_path):
    """A landing under a folder with a quote and a space ingests: the paths never enter SQL text."""
    landing = tmp_path / "o'brien dados" / "landing"
    land_fixtures(landing)
    result, good, _ = assert_equivalent(landing, JUNE, tmp_path / "out 'x'")
    assert result["systems"]["SIA"]["rows"] + result["systems"]["SIA"]["quarantined"] == 100
    assert (tmp_path / "out 'x'" / "producao_SIA.parquet").is_file()


def test_counts_per_broken_rule(tmp_path):
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    sia.loc[[3, 7], "PA_MUNPCN"] = "1200"
    sia.loc[7, "PA_VALAPR"] = -1.0
    sia.loc[9, "PA_PROC_ID"] = "12"
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    result, _, bad = assert_equivalent(landing, JUNE, tmp_path / "out")
    (pa_file,) = [f for f in result["files"] if f["sistema"] == "SIA"]
    assert pa_file["bad"] == 3 == len(bad)
    assert pa_file["bad_by_rule"] == "municipio_residencia: 2; procedimento: 1; valor: 1"


def test_each_distinct_value_is_checked_once_yet_every_bad_row_stays_on_its_own(tmp_path):
    """SIA codes are checked per distinct value (ingest_sia's dictionaries); identical bad rows still
    land in quarantine one by one with their row numbers, and a missing code is bad."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    sia = pd.concat([sia.iloc[[0, 0, 0]], sia.iloc[3:]], ignore_index=True)  # rows 0, 1 and 2 identical
    sia.loc[[0, 1, 2], "PA_CODUNI"] = "12AB"
    sia.loc[5, "PA_UFMUN"] = None
    sia.loc[6, "PA_MUNPCN"] = " 120040 "  # stripped, as the pandas reader does: a good row
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    result, good, bad = assert_equivalent(landing, JUNE, tmp_path / "out")
    bad = bad.sort_values("linha")
    assert bad["linha"].tolist() == [1, 2, 3, 6]
    assert bad["problema"].tolist()[:3] == ["cnes '12AB' is not 7 digits"] * 3
    assert bad["problema"].tolist()[3] == "municipio_estabelecimento '' is not 6 digits"
    assert result["systems"]["SIA"]["quarantined"] == 4
    assert (good["municipio_residencia"] == "120040").any()


# ----------------------------------------------------------------------------- fast paths


def test_text_of_a_varchar_is_stripped_of_ascii_whitespace_only_when_needed():
    """parquet_sources.strip_expr skips trim() when the first and last characters are above ' ': the same
    text as trim(x, ASCII whitespace) (str.strip(" \\t\\n\\v\\f\\r")) for every value, edges included."""
    import duckdb

    from vigia.sus import parquet_sources

    values = ["", " ", "  ", "a", " a", "a ", "\t a \n", "\x0bx\x0c", "\r\n", "a b", "\x01a", "a\x1f", "\x1ca\x1c",
              "é", " é ", "\xa0a\xa0", "\u2003a", "12345 ", " 2001353", "0", None]
    con = duckdb.connect()
    try:
        for dtype, expr in (("VARCHAR", parquet_sources.text_expr("v", "VARCHAR", None)),
                            ("DATE", parquet_sources.text_expr("v", "DATE", None))):
            got = [r[0] for r in con.execute(
                f"SELECT {expr} FROM (SELECT unnest(?::VARCHAR[]) AS v, unnest(range(?)) AS i) ORDER BY i",
                [values, len(values)]).fetchall()]
            assert got == [None if v is None else v.strip(" \t\n\x0b\x0c\r") for v in values], dtype
        numbers = [" 1,5 ", "\t2.25\n", "3", "-4", "1_0", "abc", "", " ", "NaN", None]
        got = [r[0] for r in con.execute(
            f"SELECT {parquet_sources.number_expr('v', 'VARCHAR')} "
            "FROM (SELECT unnest(?::VARCHAR[]) AS v, unnest(range(?)) AS i) ORDER BY i", [numbers, len(numbers)]
        ).fetchall()]
        assert got == [1.5, 2.25, 3.0, -4.0, None, None, None, None, None, None]
    finally:
        con.close()


def test_sih_files_of_different_stored_types_are_staged_group_by_group(tmp_path):
    """RD files whose columns are stored as different types are two groups, each joined to its own
    dictionaries into the table behind passagem; one group is read through the view over its files.
    Both give the pandas path's rows, and a file's counts and bad rows do not depend on the way."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sih = pq.read_table(landing / "SIH" / "RDAC1606.parquet").to_pandas()
    sih.loc[3, "VAL_TOT"] = -2.0
    sih.loc[8, "N_AIH"] = ""
    pq.write_table(pa.Table.from_pandas(sih, preserve_index=False), landing / "SIH" / "RDAC1606.parquet")
    other = pq.read_table(landing / "SIH" / "RDAC1606.parquet")
    other = other.set_column(other.schema.get_field_index("CNES"), "CNES", pa.compute.cast(other["CNES"], pa.int64()))
    pq.write_table(other.replace_schema_metadata(None), landing / "SIH" / "RDAM1606.parquet")
    result, _, bad = assert_equivalent(landing, JUNE, tmp_path / "out")  # two groups: the table
    am = ingest_sql.ingest_competencia({"SIH": [landing / "SIH" / "RDAM1606.parquet"]}, JUNE, tmp_path / "am")
    (alone,) = am["files"]
    assert alone == [f for f in result["files"] if f["arquivo"] == "RDAM1606.parquet"][0]
    assert alone["bad"] == 2 and alone["bad_by_rule"] == "n_aih: 1; valor: 1"
    am_bad = pd.read_parquet(tmp_path / "am" / "quarantine_SIH.parquet")
    pd.testing.assert_frame_equal(am_bad, bad[bad["arquivo"] == "RDAM1606.parquet"].reset_index(drop=True))
    staged = pd.read_parquet(tmp_path / "out" / "producao_SIH.parquet")
    am_staged = pd.read_parquet(tmp_path / "am" / "producao_SIH.parquet")
    assert len(am_staged) == am["systems"]["SIH"]["staged"] == 98 and len(staged) == 196
    assert rows(staged) == sorted(rows(am_staged) * 2, key=repr)  # AM holds AC's rows, CNES stored as numbers


def test_both_systems_at_once_give_what_one_after_the_other_gives(tmp_path, monkeypatch):
    """PARALLEL_SYSTEMS stages SIA and SIH on two cursors at the same time: the same files and counts."""
    landing = tmp_path / "landing"
    land_fixtures(landing)
    sia = pq.read_table(landing / "SIA" / "PAAC1606.parquet").to_pandas()
    sia.loc[[2, 5], "PA_MUNPCN"] = "1200"
    pq.write_table(pa.Table.from_pandas(sia, preserve_index=False), landing / "SIA" / "PAAC1606.parquet")
    at_once = sql_path(landing, JUNE, tmp_path / "at_once")
    monkeypatch.setattr(ingest_sql, "PARALLEL_SYSTEMS", False)
    in_turn = sql_path(landing, JUNE, tmp_path / "in_turn")
    assert at_once["files"] == in_turn["files"]
    for system in SYSTEMS:
        keep = ("rows", "staged", "quarantined", "files")
        assert {k: at_once["systems"][system][k] for k in keep} == {k: in_turn["systems"][system][k] for k in keep}
        for name in (f"producao_{system}.parquet", f"quarantine_{system}.parquet"):
            # the staged sums come in the aggregate's order, which threads may change: compare them sorted
            a, b = (pd.read_parquet(tmp_path / side / name) for side in ("at_once", "in_turn"))
            key = list(a.columns)
            pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                          b.sort_values(key).reset_index(drop=True))
        assert len(pd.read_parquet(tmp_path / "at_once" / f"producao_{system}.parquet")) > 0
    assert at_once["systems"]["SIA"]["quarantined"] == 2
