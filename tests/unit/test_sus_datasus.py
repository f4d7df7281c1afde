"""DATASUS readers on real rows (tests/fixtures/datasus: first 100 rows of PAAC1606, RDAC1606, STAC1606)."""

from __future__ import annotations

import shutil
import struct
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from upath import UPath

from tests.unit.datasus_dbc import dbc_of
from vigia.sus import datasus as ds
from vigia.sus.datasus import DatasusFile, DatasusFormatError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasus"
STEM = {"SIA": "SIA_PA_AC_201606_head100", "SIH": "SIH_RD_AC_201606_head100", "CNES": "CNES_ST_AC_201606_head100"}
JUN = date(2016, 6, 1)


def fixture(system: str, fmt: str) -> Path:
    return FIXTURES / f"{STEM[system]}.{fmt}"


def land(landing: Path, system: str, name: str, fmt: str | None = None) -> Path:
    """Copy a fixture into ``landing/<system>/<name>`` (the format is the name's extension)."""
    fmt = fmt or name.rsplit(".", 1)[1]
    target = landing / system / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture(system, fmt), target)
    return target


def raw_csv(system: str) -> pd.DataFrame:
    return pd.read_csv(fixture(system, "csv"), dtype=str, keep_default_na=False, na_values=[""])


def landed(landing: Path, system: str, name: str) -> DatasusFile:
    """The descriptor of a fixture copied into the landing under its DATASUS name."""
    parsed = ds.parse_name(land(landing, system, name), system)
    assert parsed is not None
    return parsed


def is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s) and all(isinstance(v, str) for v in s.dropna())


# ----------------------------------------------------------------------------- fixtures are in the repo


def test_fixtures_are_in_the_repository_with_their_attribution():
    for system in STEM:
        for fmt in ("csv", "parquet"):
            assert fixture(system, fmt).is_file()
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert "microdatasus" in readme and "MIT" in readme and "PAAC1606.dbc" in readme


# ----------------------------------------------------------------------------- names and discovery


@pytest.mark.parametrize(
    "system, name, expected",
    [
        ("SIA", "PAAC1606.csv", ("AC", 2016, 6, None, "csv")),
        ("SIA", "PASP2003a.dbc", ("SP", 2020, 3, "a", "dbc")),
        ("SIA", "PASP2003B.DBC", ("SP", 2020, 3, "b", "dbc")),
        ("SIH", "RDAC9801.dbc", ("AC", 1998, 1, None, "dbc")),
        ("CNES", "STRJ2312.parquet", ("RJ", 2023, 12, None, "parquet")),
        ("SIA", "PAXX1606.csv", None),  # not a UF
        ("SIA", "PAAC1613.csv", None),  # month 13
        ("SIH", "RDAC1606a.csv", None),  # parts are SIA only
        ("SIH", "PAAC1606.csv", None),  # a PA file in the SIH folder
        ("SIA", "PAAC1606.txt", None),
        ("SIA", "PAAC1606.csv.bak", None),
    ],
)
def test_parse_name(system, name, expected):
    parsed = ds.parse_name(name, system)
    if expected is None:
        assert parsed is None
    else:
        assert (parsed.uf, parsed.year, parsed.month, parsed.part, parsed.format) == expected
        assert parsed.system == system and parsed.name == name


def test_discover_sorts_files_and_lists_unrecognised_names(tmp_path, caplog):
    land(tmp_path, "SIA", "PAAC1607.parquet")
    land(tmp_path, "SIA", "PAAC1606b.csv")
    land(tmp_path, "SIA", "PAAC1606a.csv")
    (tmp_path / "SIA" / "notes.txt").write_text("not data")
    (tmp_path / "SIA" / "PAAC1606").mkdir()  # a folder is skipped, not an error
    found, unrecognised = ds.discover(tmp_path, "SIA")
    assert [f.name for f in found] == ["PAAC1606a.csv", "PAAC1606b.csv", "PAAC1607.parquet"]
    assert [(f.uf, f.year, f.month, f.part, f.format) for f in found] == [
        ("AC", 2016, 6, "a", "csv"), ("AC", 2016, 6, "b", "csv"), ("AC", 2016, 7, None, "parquet"),
    ]
    assert found[0].processing_month == JUN and isinstance(found[0].path, UPath)
    assert [p.name for p in unrecognised] == ["notes.txt"]
    assert "notes.txt" in caplog.text
    assert ds.discover(tmp_path, "SIH") == ([], [])  # no folder: nothing, no error
    with pytest.raises(ValueError, match="unknown DATASUS system"):
        ds.discover(tmp_path, "SINAN")


def test_multi_part_files_are_all_read_for_the_same_uf_and_month(tmp_path):
    land(tmp_path, "SIA", "PAAC1606a.csv")
    land(tmp_path, "SIA", "PAAC1606b.csv")
    df = ds.read_competencia(tmp_path, "SIA", "201606")
    assert len(df) == 200
    assert df["arquivo"].value_counts().to_dict() == {"PAAC1606a.csv": 100, "PAAC1606b.csv": 100}


def test_select_files_prefers_one_format_and_refuses_unsplit_plus_parts(tmp_path, caplog):
    land(tmp_path, "SIA", "PAAC1606.csv")
    land(tmp_path, "SIA", "PAAC1606.parquet")
    chosen = ds.select_files(ds.discover(tmp_path, "SIA").files)
    assert [f.name for f in chosen] == ["PAAC1606.parquet"]
    assert "reading PAAC1606.parquet only" in caplog.text
    assert len(ds.read_competencia(tmp_path, "SIA", JUN)) == 100  # not 200: the month is not counted twice
    land(tmp_path, "SIA", "PAAC1606a.csv")
    with pytest.raises(DatasusFormatError, match="unsplit file and lettered parts"):
        ds.read_competencia(tmp_path, "SIA", JUN)


# ----------------------------------------------------------------------------- raw readers


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("system", ["SIA", "SIH", "CNES"])
def test_raw_read_gives_every_column_as_text(system, fmt):
    raw = ds.read_raw(fixture(system, fmt))
    assert raw.shape == raw_csv(system).shape
    assert all(is_text(raw[c]) for c in raw.columns)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_leading_zeros_survive(fmt):
    sia = ds.read_raw(fixture("SIA", fmt))
    assert sia.loc[0, "PA_PROC_ID"] == "0604460058"
    assert sia.loc[0, "PA_CNPJ_CC"] == "00000000000000"
    assert sia.loc[0, "PA_IDADE"] == "023"
    assert sia.loc[0, "PA_REGCT"] == "0000"
    assert sia["PA_PROC_ID"].str.fullmatch(r"0\d{9}").all()
    sih = ds.read_raw(fixture("SIH", fmt))
    assert sih.loc[0, "MES_CMPT"] == "06" and sih.loc[0, "PROC_REA"] == "0303030038"
    cnes = ds.read_raw(fixture("CNES", fmt))
    assert cnes.loc[0, "TP_UNID"] == "01" and cnes.loc[0, "CPF_CNPJ"] == "00000000000000"


def test_csv_with_a_bom_or_in_latin1_is_read(tmp_path):
    raw = raw_csv("SIA").head(3).assign(PA_CONDIC="ação")
    raw.to_csv(tmp_path / "bom.csv", index=False, encoding="utf-8-sig")
    raw.to_csv(tmp_path / "latin1.csv", index=False, encoding="iso-8859-1")
    for name in ("bom.csv", "latin1.csv"):
        got = ds.read_raw(tmp_path / name, columns=["PA_CODUNI", "PA_CONDIC"])
        assert got.to_dict("list") == {"PA_CODUNI": ["7334710"] * 3, "PA_CONDIC": ["ação"] * 3}


def test_csv_and_parquet_raw_reads_agree():
    for system in STEM:
        pd.testing.assert_frame_equal(
            ds.read_raw(fixture(system, "csv"), columns=ds.REQUIRED[system]),
            ds.read_raw(fixture(system, "parquet"), columns=ds.REQUIRED[system]),
            check_dtype=False,
        )


def test_parquet_numeric_code_columns_get_their_leading_zeros_back(tmp_path):
    raw = pd.read_parquet(fixture("SIA", "parquet"))
    raw["PA_PROC_ID"] = raw["PA_PROC_ID"].astype("int64")  # a producer that stored the code as a number
    raw["PA_MUNPCN"] = raw["PA_MUNPCN"].astype("float64")
    path = tmp_path / "PAAC1606.parquet"
    raw.to_parquet(path)
    back = ds.read_raw(path, columns=["PA_PROC_ID", "PA_MUNPCN", "PA_QTDAPR"])
    assert list(back.columns) == ["PA_PROC_ID", "PA_MUNPCN", "PA_QTDAPR"]
    assert back.loc[0, "PA_PROC_ID"] == "0604460058"
    assert back.loc[0, "PA_MUNPCN"] == "120020"
    assert back.loc[0, "PA_QTDAPR"] == "30"


def test_parquet_columns_of_every_stored_type_read_as_the_text_a_csv_export_holds(tmp_path):
    """Each stored type's text form, value by value: floats as Python's repr (what TabWin and pandas write
    to CSV), whole floats of a code column as integers zero-padded back, missing values missing."""
    big = 2.0**70  # a whole float past int64
    stored = pd.DataFrame({
        "PA_VALAPR": pd.Series([0.0, -0.0, 456.8, 1e16, 1e-5, 123456789012345.6, float("inf"), None, 0.1 + 0.2]),
        "PA_MUNPCN": pd.Series([120020.0, 12002.0, 1.5, big, None, -0.0, float("inf"), 7.0, 3.0]),
        "PA_QTDAPR": pd.Series([30, None, -2, 0, 7, 1, 2, 3, 2**62], dtype="Int64"),
        "PA_IDADE": pd.Series([23, 0, 5, 150, 1, 2, 3, 4, 99], dtype="int16"),
        "PA_CODUNI": pd.Series(["7334710", None, "0012", "", " x ", "7", "8", "9", "ç"], dtype="str"),
        "PA_MOTSAI": pd.Series([True, False, None, True, False, True, True, False, True], dtype="boolean"),
    })
    path = tmp_path / "PAAC1606.parquet"
    stored.to_parquet(path)
    got = ds.read_raw(path)
    na = None
    expected = {
        "PA_VALAPR": ["0.0", "-0.0", "456.8", "1e+16", "1e-05", "123456789012345.6", "inf", na, "0.30000000000000004"],
        "PA_MUNPCN": ["120020", "012002", "1.5", str(int(big)), na, "000000", "inf", "000007", "000003"],
        "PA_QTDAPR": ["30", na, "-2", "0", "7", "1", "2", "3", str(2**62)],
        "PA_IDADE": ["23", "0", "5", "150", "1", "2", "3", "4", "99"],
        "PA_CODUNI": ["7334710", na, "0012", "", " x ", "7", "8", "9", "ç"],
        "PA_MOTSAI": ["T", "F", na, "T", "F", "T", "T", "F", "T"],
    }
    for col, want in expected.items():
        assert is_text(got[col]), col
        assert [None if pd.isna(v) else v for v in got[col]] == want, col


# ----------------------------------------------------------------------------- normalised schemas on real rows


def assert_schema(df: pd.DataFrame, system: str):
    assert list(df.columns) == list(ds.SCHEMAS[system])
    for col, dtype in ds.SCHEMAS[system].items():
        if dtype == "str":
            assert is_text(df[col]), col
        elif dtype == "object":  # competência / processing month: datetime.date, first of month
            assert df[col].dropna().map(lambda v: type(v) is date and v.day == 1).all(), col
        else:
            assert str(df[col].dtype) == dtype, col


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sia_normalised_from_real_rows(tmp_path, fmt):
    df = ds.read_file(landed(tmp_path, "SIA", f"PAAC1606.{fmt}"))
    assert_schema(df, "SIA")
    assert len(df) == 100
    first = df.iloc[0]
    assert first["cnes"] == "7334710"
    assert first["procedimento"] == "0604460058"
    assert first["municipio_residencia"] == "120020"
    assert first["municipio_estabelecimento"] == "120020"
    assert first["competencia"] == JUN and first["mes_processamento"] == JUN
    assert first["idade"] == 23
    assert first["quantidade"] == 30.0 and first["valor"] == 0.0
    assert first["uf"] == "AC" and first["arquivo"] == f"PAAC1606.{fmt}"
    assert df.iloc[1]["procedimento"] == "0604230044" and df.iloc[1]["quantidade"] == 60.0
    assert df["valor"].max() == pytest.approx(318.6)
    assert df["valor"].sum() == pytest.approx(1047.12)
    assert (ds.code_problems(df, "SIA") == "").all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_sih_normalised_from_real_rows(tmp_path, fmt):
    df = ds.read_file(landed(tmp_path, "SIH", f"RDAC1606.{fmt}"))
    assert_schema(df, "SIH")
    first = df.iloc[0]
    assert first["cnes"] == "2000865"
    assert first["procedimento"] == "0303030038"
    assert first["municipio_residencia"] == "120050" and first["municipio_estabelecimento"] == "120050"
    assert first["n_aih"] == "1216100246230"
    assert first["valor"] == pytest.approx(456.8)
    assert first["idade"] == 82
    assert first["competencia"] == JUN
    assert (df["quantidade"] == 1.0).all()
    raw = raw_csv("SIH")
    # IDADE is in the unit of COD_IDADE: months (3) become 0 years, 5 means 100 + IDADE years
    months = raw.index[raw["COD_IDADE"] == "3"]
    over_100 = raw.index[raw["COD_IDADE"] == "5"]
    assert len(months) == 3 and (df.loc[months, "idade"] == 0).all()
    assert len(over_100) == 1 and df.loc[over_100[0], "idade"] == 100 + int(raw.loc[over_100[0], "IDADE"])
    assert (ds.code_problems(df, "SIH") == "").all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cnes_normalised_from_real_rows(tmp_path, fmt):
    df = ds.read_file(landed(tmp_path, "CNES", f"STAC1606.{fmt}"))
    assert_schema(df, "CNES")
    assert df.iloc[0][["cnes", "municipio", "tp_unid", "uf"]].tolist() == ["2002043", "120001", "01", "AC"]
    assert (df["competencia"] == JUN).all()
    assert df["tp_unid"].str.len().eq(2).all() and (df["tp_unid"] == "02").sum() == 38
    assert (ds.code_problems(df, "CNES") == "").all()


def test_csv_and_parquet_normalise_to_the_same_frame(tmp_path):
    for system, prefix in (("SIA", "PA"), ("SIH", "RD"), ("CNES", "ST")):
        a = ds.read_file(landed(tmp_path, system, f"{prefix}AC1606.csv"))
        b = ds.read_file(landed(tmp_path, system, f"{prefix}AC1606.parquet"))
        pd.testing.assert_frame_equal(a.drop(columns="arquivo"), b.drop(columns="arquivo"))


def test_sih_without_munic_mov_gives_a_missing_establishment_municipality(tmp_path):
    raw_csv("SIH").drop(columns=["MUNIC_MOV"]).to_csv(tmp_path / "RDAC1606.csv", index=False)
    df = ds.read_file(ds.parse_name(tmp_path / "RDAC1606.csv", "SIH"))
    assert df["municipio_estabelecimento"].isna().all() and is_text(df["municipio_estabelecimento"])
    assert (ds.code_problems(df, "SIH") == "").all()


def test_missing_required_column_names_file_column_and_expectation(tmp_path):
    (tmp_path / "SIA").mkdir()
    raw_csv("SIA").drop(columns=["PA_PROC_ID", "PA_VALAPR"]).to_csv(tmp_path / "SIA" / "PAAC1606.csv", index=False)
    with pytest.raises(DatasusFormatError) as err:
        ds.read_competencia(tmp_path, "SIA", "2016-06")
    msg = str(err.value)
    assert "PAAC1606.csv" in msg
    assert "missing required column(s) PA_PROC_ID, PA_VALAPR" in msg
    assert "SIA PA (produção ambulatorial)" in msg and "PA_CMP" in msg


# ----------------------------------------------------------------------------- competência


def test_sia_is_keyed_on_pa_cmp_not_on_the_processing_month(tmp_path):
    raw = raw_csv("SIA")
    raw.loc[0:9, "PA_CMP"] = "201604"  # 2 months late
    raw.loc[10:14, "PA_CMP"] = "201603"  # 3 months late: the limit
    raw.loc[15, "PA_CMP"] = "201512"  # 6 months late: no read of 2015-12 opens this file
    raw.loc[16, "PA_CMP"] = "201613"  # not a month
    (tmp_path / "SIA").mkdir()
    raw.to_csv(tmp_path / "SIA" / "PAAC1606.csv", index=False)
    late = raw_csv("SIA").assign(PA_MVM="201602")  # PA_CMP 201606 processed in 2016-02: impossible
    late.to_csv(tmp_path / "SIA" / "PAAC1602.csv", index=False)
    land(tmp_path, "SIA", "PAAC1601.csv")  # PA_MVM 201606 in a file named 2016-01: misnamed

    mar = ds.read_competencia(tmp_path, "SIA", date(2016, 3, 1))
    assert len(mar) == 5 and (mar["competencia"] == date(2016, 3, 1)).all()
    assert (mar["mes_processamento"] == JUN).all() and (mar["arquivo"] == "PAAC1606.csv").all()
    apr = ds.read_competencia(tmp_path, "SIA", "201604")
    assert len(apr) == 10 and (apr["competencia"] == date(2016, 4, 1)).all()
    assert apr["procedimento"].tolist() == raw.loc[0:9, "PA_PROC_ID"].tolist()
    assert len(ds.read_competencia(tmp_path, "SIA", "201605")) == 0
    jun = ds.read_competencia(tmp_path, "SIA", "201606")
    # 83 rows of 2016-06, plus the 2 rows no competência read could reach, kept here for quarantine
    assert len(jun) == 85 and (jun["competencia"] == JUN).sum() == 83
    problems = ds.code_problems(jun, "SIA")
    flagged = jun[problems != ""]
    assert len(flagged) == 2
    assert problems[jun["competencia"].isna()].str.contains("not a valid AAAAMM month").all()
    assert problems[jun["competencia"] == date(2015, 12, 1)].str.contains("outside the processing window").all()
    assert len(mar) + len(apr) + len(jun) == 100  # every row of the file lands exactly once

    # rows no read of their competência can reach come with their file's month, flagged
    feb = ds.read_competencia(tmp_path, "SIA", "201602")
    assert len(feb) == 100 and (feb["competencia"] == JUN).all()
    assert ds.code_problems(feb, "SIA").str.contains(r"outside the processing window \(-4 month").all()
    jan = ds.read_competencia(tmp_path, "SIA", "201601")
    assert len(jan) == 100 and (jan["mes_processamento"] == JUN).all()  # from PA_MVM
    assert ds.code_problems(jan, "SIA").str.contains(
        "mes_processamento 2016-06-01 differs from the month in the file name PAAC1601.csv"
    ).all()


def test_sih_and_cnes_read_the_same_month_only(tmp_path):
    for system, prefix in (("SIH", "RD"), ("CNES", "ST")):
        land(tmp_path, system, f"{prefix}AC1606.csv")
        land(tmp_path, system, f"{prefix}AC1607.parquet")
        df = ds.read_competencia(tmp_path, system, JUN)
        assert len(df) == 100 and (df["arquivo"] == f"{prefix}AC1606.csv").all()
    assert ds.read_competencia(tmp_path, "CNES", "201607")["competencia"].eq(date(2016, 7, 1)).all()


def test_read_competencia_is_a_pure_read_and_filters_ufs(tmp_path):
    land(tmp_path, "SIA", "PAAC1606.csv")
    shutil.copy(tmp_path / "SIA" / "PAAC1606.csv", tmp_path / "SIA" / "PARO1606.csv")
    first = ds.read_competencia(tmp_path, "SIA", "201606")
    again = ds.read_competencia(tmp_path, "SIA", "201606")
    pd.testing.assert_frame_equal(first, again)
    assert first["uf"].value_counts().to_dict() == {"AC": 100, "RO": 100}
    only_ro = ds.read_competencia(tmp_path, "SIA", "201606", ufs=["ro"])
    assert set(only_ro["uf"]) == {"RO"} and len(only_ro) == 100
    empty = ds.read_competencia(tmp_path, "SIA", "201901")
    assert empty.empty and list(empty.columns) == list(ds.SCHEMAS["SIA"])
    assert ds.code_problems(empty, "SIA").empty
    with pytest.raises(ValueError, match="not a month"):
        ds.read_competencia(tmp_path, "SIA", "junho")


# ----------------------------------------------------------------------------- code_problems


def test_code_problems_flags_bad_codes_and_negative_values(tmp_path):
    df = ds.read_file(landed(tmp_path, "SIA", "PAAC1606.csv"))
    df.loc[0, "municipio_residencia"] = "12002"  # 5 digits
    df.loc[1, "valor"] = -10.5
    df.loc[2, "procedimento"] = "604460058"  # leading zero lost
    df.loc[2, "cnes"] = "734471"
    df.loc[3, "quantidade"] = float("nan")
    problems = ds.code_problems(df, "SIA")
    assert problems[0] == "municipio_residencia '12002' is not 6 digits"
    assert problems[1] == "valor is negative (-10.5)"
    assert problems[2] == "cnes '734471' is not 7 digits; procedimento '604460058' is not 10 digits"
    assert problems[3] == "quantidade missing or not numeric"
    assert (problems[4:] == "").all()
    assert len(df) == 100  # nothing dropped


def test_code_problems_accepts_aaaamm_text_and_checks_cnes_codes():
    cnes = pd.DataFrame({"cnes": ["2002043", "200204"], "municipio": ["120001", "120001"],
                         "tp_unid": ["01", "1"], "competencia": ["201606", "201600"]})
    p = ds.code_problems(cnes, "CNES")
    assert p[0] == ""
    assert "cnes '200204' is not 7 digits" in p[1] and "tp_unid '1' is not 2 digits" in p[1]
    assert "competencia '201600' is not a valid AAAAMM month" in p[1]
    cnes["competencia"] = [JUN, "000001"]
    assert ds.code_problems(cnes, "CNES")[0] == ""
    assert "competencia '000001' is not a valid AAAAMM month" in ds.code_problems(cnes, "CNES")[1]
    cnes["competencia"] = [" 201606 ", "2016-06"]  # a row holds AAAAMM, as the SQL ingestion requires
    assert ds.code_problems(cnes, "CNES")[0] == ""
    assert "competencia '2016-06' is not a valid AAAAMM month" in ds.code_problems(cnes, "CNES")[1]


# ----------------------------------------------------------------------------- population


def test_population_keeps_six_digit_codes_and_integers(tmp_path):
    (tmp_path / "IBGE").mkdir()
    (tmp_path / "IBGE" / "populacao.csv").write_text(
        "municipio,ano,populacao\n120001,2016,12345\n1200401,2016,377057\n12002,2016,-3\n"
    )
    pop = ds.read_population(tmp_path)
    assert list(pop.columns) == ["municipio", "ano", "populacao"]
    assert is_text(pop["municipio"])
    assert pd.api.types.is_integer_dtype(pop["ano"]) and pd.api.types.is_integer_dtype(pop["populacao"])
    assert pop["municipio"].tolist() == ["120001", "120040", "12002"]  # 7-digit code: check digit dropped
    assert pop["populacao"].tolist() == [12345, 377057, -3]
    problems = ds.code_problems(pop, "IBGE")
    assert problems[:2].tolist() == ["", ""]
    assert "municipio '12002' is not 6 digits" in problems[2] and "populacao" in problems[2]
    (tmp_path / "IBGE" / "populacao.csv").write_text("municipio,ano\n120001,2016\n")
    with pytest.raises(DatasusFormatError, match="populacao.csv: missing required column.s. POPULACAO"):
        ds.read_population(tmp_path)


# ----------------------------------------------------------------------------- object storage


@pytest.fixture
def memory_landing():
    root = UPath(f"memory://vigia-test-{uuid.uuid4().hex[:8]}")
    yield root
    if root.exists():
        root.fs.rm(root.path, recursive=True)


def test_memory_landing_reads_like_a_local_folder(memory_landing):
    for system, prefix in (("SIA", "PA"), ("SIH", "RD"), ("CNES", "ST")):
        (memory_landing / system / f"{prefix}AC1606.parquet").write_bytes(fixture(system, "parquet").read_bytes())
    (memory_landing / "SIA" / "PAAC1607a.csv").write_bytes(fixture("SIA", "csv").read_bytes())
    (memory_landing / "SIA" / "readme.md").write_text("x")
    (memory_landing / "IBGE" / "populacao.csv").write_text("municipio,ano,populacao\n120001,2016,12345\n")

    found, unrecognised = ds.discover(memory_landing, "SIA")
    assert [f.name for f in found] == ["PAAC1606.parquet", "PAAC1607a.csv"]
    assert found[0].path.protocol == "memory" and [p.name for p in unrecognised] == ["readme.md"]
    sia = ds.read_competencia(memory_landing, "SIA", JUN)
    assert len(sia) == 200 and sia.loc[0, "procedimento"] == "0604460058"
    assert ds.read_competencia(memory_landing, "SIH", JUN).loc[0, "n_aih"] == "1216100246230"
    assert ds.read_competencia(memory_landing, "CNES", JUN).loc[0, "tp_unid"] == "01"
    assert ds.read_population(memory_landing).loc[0, "municipio"] == "120001"


# ----------------------------------------------------------------------------- DBF / .dbc


def write_dbf(path: Path, fields: list[tuple[str, str, int, int]], rows: list[list[str]]) -> None:
    """A minimal dBase III file: header, field descriptors, fixed-width ISO-8859-1 records."""
    record_len = 1 + sum(f[2] for f in fields)
    header_len = 32 + 32 * len(fields) + 1
    out = bytearray(struct.pack("<BBBBIHH20x", 0x03, 116, 6, 1, len(rows), header_len, record_len))
    for name, ftype, length, decimals in fields:
        out += struct.pack("<11sc4xBB14x", name.encode("ascii"), ftype.encode("ascii"), length, decimals)
    out += b"\r"
    for row in rows:
        out += b" "  # not deleted
        for (name, ftype, length, _), value in zip(fields, row):
            text = "" if value is None else str(value)
            cell = text.rjust(length) if ftype == "N" else text.ljust(length)
            out += cell.encode("iso-8859-1")[:length]
    out += b"\x1a"
    path.write_bytes(bytes(out))


SIA_DBF_FIELDS = [
    ("PA_CODUNI", "C", 7, 0), ("PA_UFMUN", "C", 6, 0), ("PA_MVM", "C", 6, 0), ("PA_CMP", "C", 6, 0),
    ("PA_PROC_ID", "C", 10, 0), ("PA_IDADE", "C", 3, 0), ("PA_MUNPCN", "C", 6, 0),
    ("PA_QTDAPR", "N", 11, 0), ("PA_VALAPR", "N", 20, 2), ("PA_CIDPRI", "C", 4, 0), ("OBS", "C", 12, 0),
]


def sia_dbf(path: Path, n: int = 5) -> pd.DataFrame:
    raw = raw_csv("SIA").head(n)
    rows = []
    for i, r in raw.iterrows():
        values = [r[f] for f, *_ in SIA_DBF_FIELDS[:-4]]
        values += [r["PA_QTDAPR"], f"{float(r['PA_VALAPR']):.2f}", r["PA_CIDPRI"], "ação" if i == 0 else None]
        rows.append(values)
    write_dbf(path, SIA_DBF_FIELDS, rows)
    return raw


def test_dbf_reader_gives_text_with_leading_zeros_and_latin1(tmp_path):
    raw = sia_dbf(tmp_path / "PAAC1606.dbf")
    got = ds._read_dbf(tmp_path / "PAAC1606.dbf")
    assert list(got.columns) == [f[0] for f in SIA_DBF_FIELDS]
    assert all(is_text(got[c]) for c in got.columns)
    assert got.loc[0, "PA_PROC_ID"] == "0604460058" and got.loc[0, "PA_IDADE"] == "023"
    assert got.loc[0, "PA_QTDAPR"] == "30" and got.loc[0, "PA_VALAPR"] == "0.00"
    assert got.loc[0, "OBS"] == "ação" and pd.isna(got.loc[1, "OBS"])  # blank field = missing
    assert got["PA_CODUNI"].tolist() == raw["PA_CODUNI"].tolist()
    only = ds._read_dbf(tmp_path / "PAAC1606.dbf", columns=["pa_proc_id", "PA_CMP"])
    assert list(only.columns) == ["PA_CMP", "PA_PROC_ID"]


def test_dbf_rows_normalise_like_the_csv_rows(tmp_path):
    sia_dbf(tmp_path / "PAAC1606.dbf")
    file = ds.parse_name("PAAC1606.dbc", "SIA")
    from_dbf = ds.normalise(ds._read_dbf(tmp_path / "PAAC1606.dbf"), file)
    from_csv = ds.read_file(landed(tmp_path, "SIA", "PAAC1606.csv")).head(5)
    pd.testing.assert_frame_equal(from_dbf.drop(columns="arquivo"), from_csv.drop(columns="arquivo"))


@pytest.mark.parametrize("where", ["local", "memory"])
def test_dbc_plumbing_with_a_stub_decompressor(tmp_path, monkeypatch, memory_landing, where):
    """Only the plumbing: pyreaddbc.dbc2dbf is replaced by a copy (no real .dbc here)."""
    import pyreaddbc

    sia_dbf(tmp_path / "template.dbf")
    calls = []

    def fake_dbc2dbf(infile, outfile):
        calls.append((infile, outfile))
        assert Path(infile).read_bytes() == b"fake dbc"  # a remote .dbc was copied to a local file first
        shutil.copy(tmp_path / "template.dbf", outfile)

    monkeypatch.setattr(pyreaddbc, "dbc2dbf", fake_dbc2dbf)
    landing = UPath(tmp_path / "landing") if where == "local" else memory_landing
    (landing / "SIA").mkdir(parents=True, exist_ok=True)
    (landing / "SIA" / "PAAC1606.dbc").write_bytes(b"fake dbc")
    df = ds.read_competencia(landing, "SIA", JUN)
    assert len(df) == 5 and df.loc[0, "procedimento"] == "0604460058" and df.loc[0, "arquivo"] == "PAAC1606.dbc"
    assert len(calls) == 1 and calls[0][1].endswith("PAAC1606.dbf")
    assert not Path(calls[0][1]).exists()  # the temporary .dbf is removed


def test_a_real_dbc_is_decompressed_by_pyreaddbc_and_reads_like_the_csv(tmp_path):
    """A .dbc as DATASUS writes it (tests/unit/datasus_dbc.py), read through pyreaddbc, no stub."""
    sia_dbf(tmp_path / "template.dbf")
    landing = tmp_path / "landing"
    (landing / "SIA").mkdir(parents=True)
    (landing / "SIA" / "PAAC1606.dbc").write_bytes(dbc_of((tmp_path / "template.dbf").read_bytes()))
    df = ds.read_competencia(landing, "SIA", JUN)
    from_csv = ds.read_file(landed(tmp_path, "SIA", "PAAC1606.csv")).head(5)
    assert df["linha"].tolist() == [1, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(df.drop(columns=["arquivo", "linha"]), from_csv.drop(columns="arquivo"))


def test_a_cut_dbc_raises_naming_the_file_and_the_records_missing(tmp_path):
    """pyreaddbc stops quietly where a cut stream ends; the header's record count tells the file is short."""
    sia_dbf(tmp_path / "template.dbf", n=40)
    whole = dbc_of((tmp_path / "template.dbf").read_bytes())
    cut = dbc_of((tmp_path / "template.dbf").read_bytes(), cut=(len(whole) - 400) // 2)
    (tmp_path / "SIA").mkdir()
    (tmp_path / "SIA" / "PAAC1606.dbc").write_bytes(cut)
    with pytest.raises(ds.DatasusFormatError) as err:
        ds.read_raw(tmp_path / "SIA" / "PAAC1606.dbc")
    text = str(err.value)
    assert text.startswith("PAAC1606.dbc: truncated: its header announces 40 record(s) of")
    assert "complete record(s)); land the whole file again" in text


def test_a_file_that_is_not_a_dbc_raises_naming_it(tmp_path):
    (tmp_path / "PAAC1606.dbc").write_bytes(b"<html><body>503 Service Unavailable</body></html>")
    with pytest.raises(ds.DatasusFormatError, match=r"^PAAC1606\.dbc: not a readable DATASUS \.dbc"):
        ds.read_raw(tmp_path / "PAAC1606.dbc")
