"""Sample DATASUS landing: layout, real code formats, determinism, and the planted anomalies in the raw data."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigia.sample_data import sus
from vigia.sus import targets

END = date(2025, 6, 1)
MONTHS = [f"{y}{m:02d}" for y, m in [(2024, 6), (2024, 7), (2024, 8), (2024, 9), (2024, 10), (2024, 11), (2024, 12),
                                     (2025, 1), (2025, 2), (2025, 3), (2025, 4), (2025, 5), (2025, 6)]]
UF_PREFIX = {"AC": "12", "BA": "29", "MG": "31", "PR": "41", "SP": "35"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    out = sus.generate(landing, END, months=13, municipalities=150, sia_rows_per_month=60_000, seed=5)

    def read(system):
        frames = []
        for f in sorted((landing / system).glob("*.parquet")):
            df = pd.read_parquet(f)
            df["_file"] = f.name
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    pop = pd.read_csv(landing / "IBGE" / "populacao.csv", dtype=str)
    return {"landing": landing, "out": out, "sia": read("SIA"), "sih": read("SIH"), "cnes": read("CNES"),
            "pop": pop, "planted": {p["kind"]: p for p in out["planted"]}}


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    kw = dict(months=3, municipalities=100, sia_rows_per_month=10_000)
    a = sus.generate(tmp_path / "a", END, seed=3, **kw)
    b = sus.generate(tmp_path / "b", END, seed=3, **kw)
    sus.generate(tmp_path / "c", END, seed=4, **kw)
    assert a["planted"] == b["planted"] and a["counts"] == b["counts"]
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert ha == hb
    assert ha.keys() == hc.keys() and ha["SIA/PASP2506.parquet"] != hc["SIA/PASP2506.parquet"]


def test_layout_one_file_per_system_uf_and_month(sample):
    landing, out = sample["landing"], sample["out"]
    assert out["ufs"] == sorted(UF_PREFIX)
    assert out["months"] == [f"{m[:4]}-{m[4:]}" for m in MONTHS]
    for system, prefix in (("SIA", "PA"), ("SIH", "RD"), ("CNES", "ST")):
        names = sorted(p.name for p in (landing / system).iterdir())
        assert names == sorted(f"{prefix}{uf}{m[2:4]}{m[4:]}.parquet" for uf in UF_PREFIX for m in MONTHS)
    assert (landing / "IBGE" / "populacao.csv").is_file()
    truth = json.loads((landing / "_planted.json").read_text())
    assert truth["planted"] == out["planted"] and truth["end_month"] == "2025-06"
    counts = out["counts"]
    assert counts["rows"] == {"SIA": len(sample["sia"]), "SIH": len(sample["sih"]), "CNES": len(sample["cnes"])}
    assert counts["municipalities"] == 150 and counts["municipalities"] == sample["pop"]["municipio"].nunique()
    assert counts["establishments"] == sample["cnes"]["CNES"].nunique()
    # about sia_rows_per_month SIA records a month (plus the planted ones)
    assert 0.85 * 60_000 * 13 < counts["rows"]["SIA"] < 1.2 * 60_000 * 13


def test_parquet_keeps_codes_as_text(sample):
    landing = sample["landing"]
    sia = pq.read_schema(landing / "SIA" / "PASP2506.parquet")
    for col in ("PA_CODUNI", "PA_CMP", "PA_MVM", "PA_PROC_ID", "PA_MUNPCN", "PA_UFMUN", "PA_IDADE"):
        assert sia.field(col).type == pa.string(), col
    assert sia.field("PA_QTDAPR").type == pa.int32() and sia.field("PA_VALAPR").type == pa.float64()
    sih = pq.read_schema(landing / "SIH" / "RDSP2506.parquet")
    for col in ("CNES", "ANO_CMPT", "MES_CMPT", "PROC_REA", "MUNIC_RES", "MUNIC_MOV", "N_AIH"):
        assert sih.field(col).type == pa.string(), col
    cnes = pq.read_schema(landing / "CNES" / "STSP2506.parquet")
    assert all(cnes.field(c).type == pa.string() for c in ("CNES", "CODUFMUN", "TP_UNID"))


def _all_match(series: pd.Series, pattern: str) -> bool:
    return bool(series.str.fullmatch(pattern).all())


def test_code_formats(sample):
    sia, sih, cnes, pop = sample["sia"], sample["sih"], sample["cnes"], sample["pop"]
    assert all(_all_match(col, r"\d{7}") for col in (sia["PA_CODUNI"], sih["CNES"], cnes["CNES"]))
    for col in (sia["PA_MUNPCN"], sia["PA_UFMUN"], sih["MUNIC_RES"], sih["MUNIC_MOV"], cnes["CODUFMUN"],
                pop["municipio"]):
        assert _all_match(col, r"(12|29|31|35|41)\d{4}")
    assert _all_match(sia["PA_PROC_ID"], r"\d{10}") and _all_match(sih["PROC_REA"], r"\d{10}")
    assert _all_match(sia["PA_CMP"], r"20\d{2}(0[1-9]|1[0-2])") and _all_match(sia["PA_MVM"], r"20\d{2}(0[1-9]|1[0-2])")
    assert _all_match(sia["PA_IDADE"], r"\d{3}")
    assert _all_match(sih["ANO_CMPT"], r"20\d{2}") and _all_match(sih["MES_CMPT"], r"0[1-9]|1[0-2]")
    assert _all_match(sih["N_AIH"], r"\d{13}") and sih["N_AIH"].is_unique
    assert _all_match(cnes["TP_UNID"], r"\d{2}") and set(cnes["TP_UNID"]) >= {"02", "05", "36", "39", "40"}
    # leading zeros survive (procedures of group 02 and 03 start with 0; AC municipalities start with 12)
    assert sia["PA_PROC_ID"].str.startswith("0").mean() > 0.8
    # the UF of a file is the UF of its establishments
    for df, col in ((sia, "PA_UFMUN"), (sih, "MUNIC_MOV"), (cnes, "CODUFMUN")):
        assert (df[col].str[:2] == df["_file"].str[2:4].map(UF_PREFIX)).all()
    # one CNES, one municipality and one type
    assert (cnes.groupby("CNES")[["CODUFMUN", "TP_UNID"]].nunique() == 1).all().all()


def test_files_hold_their_month_and_some_sia_records_are_late(sample):
    sia, sih = sample["sia"], sample["sih"]
    file_month = "20" + sia["_file"].str[4:8]
    assert (sia["PA_MVM"] == file_month).all()
    assert ((sih["ANO_CMPT"] + sih["MES_CMPT"]) == "20" + sih["_file"].str[4:8]).all()
    cmp_ = pd.to_datetime(sia["PA_CMP"], format="%Y%m")
    mvm = pd.to_datetime(sia["PA_MVM"], format="%Y%m")
    lag = (mvm.dt.year - cmp_.dt.year) * 12 + (mvm.dt.month - cmp_.dt.month)
    assert set(lag.unique()) == {0, 1, 2, 3}
    late_share = (lag > 0).groupby(sia["_file"]).mean()
    assert late_share[late_share.index.str.contains("SP|MG|BA")].between(0.03, 0.07).all()


def test_every_municipality_has_a_population_for_every_year_it_appears(sample):
    sia, sih, cnes, pop = sample["sia"], sample["sih"], sample["cnes"], sample["pop"]
    known = set(zip(pop["municipio"], pop["ano"]))
    used = set(zip(sia["PA_MUNPCN"], sia["PA_CMP"].str[:4])) | set(zip(sia["PA_UFMUN"], sia["PA_CMP"].str[:4]))
    used |= set(zip(sih["MUNIC_RES"], sih["ANO_CMPT"])) | set(zip(cnes["CODUFMUN"], cnes["COMPETEN"].str[:4]))
    assert used <= known
    p = pop.loc[pop["ano"] == "2025", "populacao"].astype(int)
    assert 5_000 < p.median() < 20_000 and (p < 5_000).sum() > 10 and (p > 1_000_000).sum() >= 2
    assert not pop.duplicated(["municipio", "ano"]).any()


def test_production_falls_in_the_targets_and_outside_them(sample):
    sia, sih = sample["sia"], sample["sih"]
    t = targets.load()
    for system, df, col in (("SIA", sia, "PA_PROC_ID"), ("SIH", sih, "PROC_REA")):
        prefixes = t.loc[t["sistema"] == system, "procedimentos"].tolist()
        forma = df[col].str[:6]
        assert set(prefixes) <= set(forma)          # every target has production
        outside = ~forma.isin(prefixes)
        assert 0.05 < outside.mean() < 0.5          # and some production is outside every target
    # quantity >= 1, value = quantity x one unit price per procedure
    assert (sia["PA_QTDAPR"] >= 1).all()
    unit = (sia["PA_VALAPR"] / sia["PA_QTDAPR"]).round(2)
    assert (unit.groupby(sia["PA_PROC_ID"]).nunique() == 1).all()
    assert (sih["VAL_TOT"] > 0).all() and sih["IDADE"].between(0, 110).all()
    chemo = sia[sia["PA_PROC_ID"].str.startswith("030402")]
    assert (chemo["PA_IDADE"].astype(int) >= 18).all()  # the target's idade_min


def test_planted_anomalies_are_distinct_and_described(sample):
    planted = sample["out"]["planted"]
    assert [p["kind"] for p in planted] == list(sus.PLANTED_KINDS)
    assert len({p["cnes"] for p in planted}) == 4
    for p in planted:
        assert {"kind", "cnes", "alvo", "municipios", "uf", "tp_unid", "competencias", "benigno"} <= p.keys()
        assert p["competencias"][-1] == "2025-06"
    assert [p["benigno"] for p in planted] == [False, False, False, True]


def test_salto_abrupto_is_visible(sample):
    sia, p = sample["sia"], sample["planted"]["salto_abrupto"]
    rows = sia[(sia["PA_CODUNI"] == p["cnes"]) & sia["PA_PROC_ID"].str.startswith(p["alvo"][4:])]
    by_month = rows.groupby("PA_CMP")["PA_QTDAPR"].sum().reindex(MONTHS, fill_value=0)
    assert by_month["202506"] > 4 * by_month.drop("202506").median()
    assert by_month.drop("202506").median() > 0


def test_excesso_per_capita_is_visible(sample):
    sia, pop, p = sample["sia"], sample["pop"], sample["planted"]["excesso_per_capita"]
    assert 3 <= len(p["municipios"]) <= 4 and len(p["competencias"]) == 12
    pop25 = pop[pop["ano"] == "2025"].set_index("municipio")["populacao"].astype(int)
    assert (pop25[p["municipios"]] < 20_000).all()
    last12 = sia[sia["PA_PROC_ID"].str.startswith(p["alvo"][4:]) & sia["PA_MVM"].isin(MONTHS[-12:])]
    national = last12["PA_QTDAPR"].sum() / pop25.sum()
    for m in p["municipios"]:
        res = last12[last12["PA_MUNPCN"] == m]
        assert res["PA_QTDAPR"].sum() / pop25[m] > 5 * national, m
        assert res.loc[res["PA_CODUNI"] == p["cnes"], "PA_QTDAPR"].sum() > 0.7 * res["PA_QTDAPR"].sum(), m
        monthly = res.groupby("PA_MVM")["PA_QTDAPR"].sum()
        assert monthly.reindex(MONTHS[-12:]).notna().all()  # every month of the last 12


def test_hospital_caro_is_visible(sample):
    sih, p = sample["sih"], sample["planted"]["hospital_caro"]
    rows = sih[sih["PROC_REA"].str.startswith(p["alvo"][4:]) & (sih["ANO_CMPT"] + sih["MES_CMPT"] == "202506")]
    price = rows[rows["CNES"] != p["cnes"]].groupby("PROC_REA")["VAL_TOT"].mean()
    mine = rows[rows["CNES"] == p["cnes"]]
    assert len(mine) >= 3
    assert (mine["VAL_TOT"] / mine["PROC_REA"].map(price)).median() > 2
    before = sih[(sih["CNES"] == p["cnes"]) & sih["PROC_REA"].str.startswith(p["alvo"][4:])
                 & (sih["ANO_CMPT"] + sih["MES_CMPT"] < "202506")]
    assert (before["VAL_TOT"] / before["PROC_REA"].map(price)).median() < 1.5


def test_campanha_unidade_movel_is_a_mobile_unit_spike_in_end_month(sample):
    sia, cnes, pop, p = sample["sia"], sample["cnes"], sample["pop"], sample["planted"]["campanha_unidade_movel"]
    assert p["alvo"] == "SIA-020403" and p["tp_unid"] == "40" and p["benigno"]
    assert set(cnes.loc[cnes["CNES"] == p["cnes"], "TP_UNID"]) == {"40"}
    pop25 = pop[pop["ano"] == "2025"].set_index("municipio")["populacao"].astype(int)
    assert len(p["municipios"]) >= 3 and (pop25[p["municipios"]] < 20_000).all()
    exams = sia[sia["PA_PROC_ID"].str.startswith("020403") & sia["PA_MUNPCN"].isin(p["municipios"])]
    by_month = exams.groupby("PA_CMP")["PA_QTDAPR"].sum().reindex(MONTHS, fill_value=0)
    assert by_month["202506"] > 5 * max(1, by_month.drop("202506").max())
    mobile = exams[exams["PA_CODUNI"] == p["cnes"]]
    end = exams["PA_CMP"] == "202506"
    assert mobile.loc[mobile["PA_CMP"] == "202506", "PA_QTDAPR"].sum() > 0.8 * exams.loc[end, "PA_QTDAPR"].sum()


def test_too_few_municipalities_is_refused(tmp_path):
    with pytest.raises(ValueError, match="municipalities"):
        sus.generate(tmp_path, END, municipalities=20)


def test_main_prints_one_line(tmp_path, capsys):
    assert sus.main(["--landing", str(tmp_path / "l"), "--end-month", "2025-06", "--months", "2",
                     "--municipalities", "100", "--sia-rows", "5000", "--seed", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and re.search(r"SIA.*SIH.*100 municipalities.*2025-05\.\.2025-06.*seed 2", line)
    assert (tmp_path / "l" / "SIA" / "PAMG2506.parquet").is_file()


# ----------------------------------------------------------------------------- national-shape knobs


def test_big_sia_files_are_split_into_parts_with_the_same_records(tmp_path, monkeypatch):
    """--sia-part-rows: PA<UF><AA><MM>a, b, ... hold exactly the records of the unsplit file, in order."""
    from vigia.sample_data import sus_production
    from vigia.sus import datasus

    monkeypatch.setattr(sus_production, "CHUNK_ROWS", 2_000)
    kw = dict(months=1, municipalities=100, sia_rows_per_month=30_000, seed=8)
    sus.generate(tmp_path / "one", END, **kw)
    sus.generate(tmp_path / "parts", END, sia_part_rows=5_000, **kw)
    whole = pq.read_table(tmp_path / "one" / "SIA" / "PASP2506.parquet")
    parts = sorted((tmp_path / "parts" / "SIA").glob("PASP2506*.parquet"))
    assert [p.name for p in parts][:2] == ["PASP2506a.parquet", "PASP2506b.parquet"]
    assert not (tmp_path / "parts" / "SIA" / "PASP2506.parquet").exists()
    sizes = [pq.read_metadata(p).num_rows for p in parts]
    assert all(s >= 5_000 for s in sizes[:-1]) and sum(sizes) == whole.num_rows > 10_000
    assert pa.concat_tables([pq.read_table(p) for p in parts]).equals(whole)
    # SIH is never split (DATASUS splits PA files only), and the reader takes every part
    assert sorted(p.name for p in (tmp_path / "parts" / "SIH").glob("RDSP*")) == ["RDSP2506.parquet"]
    read = datasus.read_competencia(tmp_path / "parts", "SIA", END, ufs=["SP"])
    assert len(read) == len(datasus.read_competencia(tmp_path / "one", "SIA", END, ufs=["SP"])) > 10_000
    # a rerun without parts replaces them
    sus.generate(tmp_path / "parts", END, **kw)
    assert sorted(p.name for p in (tmp_path / "parts" / "SIA").glob("PASP2506*")) == ["PASP2506.parquet"]


def test_prior_cubes_go_straight_into_the_warehouse(tmp_path, warehouse):
    """--prior-cubes: the months before the raw ones as cubes drawn from the same model, idempotent."""
    from vigia.sus import cubes, datasus, ingest_pandas

    kw = dict(months=1, municipalities=100, sia_rows_per_month=40_000, seed=9, prior_cube_months=2,
              warehouse=warehouse)
    out = sus.generate(tmp_path / "l", END, **kw)
    assert list(out["prior_cubes"]) == ["2025-04", "2025-05"]
    prior = warehouse.query("SELECT * FROM sus_production_monthly ORDER BY competencia")
    assert len(prior) == sum(out["prior_cubes"].values()) > 500
    assert sorted({str(m)[:7] for m in prior["competencia"]}) == ["2025-04", "2025-05"]
    registry = datasus.read_competencia(tmp_path / "l", "CNES", END)
    pop = datasus.read_population(tmp_path / "l")
    assert set(prior["cnes"]) <= set(registry["cnes"])
    assert set(prior["municipio"]) <= set(pop.loc[pop["ano"] == 2025, "municipio"])
    assert set(prior["alvo"]) == set(targets.load()["alvo"])
    assert (prior.loc[prior["sistema"] == "SIA", "n_aih"] == 0).all()
    sih = prior[prior["sistema"] == "SIH"]
    assert (sih["n_aih"] == sih["quantidade"]).all() and (prior["quantidade"] > 0).all()
    # the same model as the raw rows: a target's national total is close to the raw month's
    good, _, _ = ingest_pandas.ingest_competencia(tmp_path / "l", END)
    good.to_parquet(tmp_path / "p.parquet", index=False)
    raw = cubes.build_cube([tmp_path / "p.parquet"], END, targets.load()).groupby("alvo")["quantidade"].sum()
    may = prior[prior["competencia"].astype(str).str.startswith("2025-05")].groupby("alvo")["quantidade"].sum()
    big = raw[raw > 2_000].index
    assert len(big) >= 5
    assert ((may[big] / raw[big] - 1).abs() < 0.15).all(), (may[big] / raw[big]).to_dict()
    # idempotent: a rerun replaces the same partitions, and clears a DAG run's records of those months
    # (its landing files, its covered UFs): these cubes have none
    from vigia.warehouse import PartitionWrite

    may = date(2025, 5, 1)
    warehouse.replace_partitions([
        PartitionWrite("sus_cube_files", {"competencia": may},
                       pd.DataFrame({"sistema": ["SIA"], "arquivo": ["PAAC2505.parquet"], "run_id": ["dag"]})),
        PartitionWrite("sus_cube_uf_coverage", {"competencia": may},
                       pd.DataFrame({"sistema": ["SIA"], "uf": ["AC"], "uf_codigo": ["12"], "run_id": ["dag"]}))])
    sus.generate(tmp_path / "l", END, **kw)
    assert len(warehouse.query("SELECT cnes FROM sus_production_monthly")) == len(prior)
    for table in ("sus_cube_files", "sus_cube_uf_coverage"):
        assert warehouse.query(f"SELECT COUNT(*) AS n FROM {table}")["n"].item() == 0, table


def test_main_writes_parts_and_prior_cubes(tmp_path, capsys, monkeypatch):
    from vigia.connections import ConnectionSpec
    from vigia.sample_data import sus_production
    from vigia.warehouse import open_warehouse

    monkeypatch.setattr(sus_production, "CHUNK_ROWS", 2_000)
    uri = f"duckdb:///{(tmp_path / 'wh.duckdb').as_posix()}"
    assert sus.main(["--landing", str(tmp_path / "l"), "--end-month", "2025-06", "--months", "1",
                     "--municipalities", "100", "--sia-rows", "20000", "--sia-part-rows", "4000",
                     "--prior-cubes", "2", "--warehouse", uri]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and re.fullmatch(r"prior cubes: 2 months, [\d,]+ cells -> .*wh\.duckdb", lines[1])
    assert (tmp_path / "l" / "SIA" / "PASP2506b.parquet").is_file()
    wh = open_warehouse(ConnectionSpec.from_uri("warehouse", uri))
    months = wh.query("SELECT DISTINCT competencia FROM sus_production_monthly ORDER BY 1")["competencia"]
    assert [str(m)[:7] for m in months] == ["2025-04", "2025-05"]
