"""Point-in-time features: hand-computed cases, no leakage, DuckDB = PostgreSQL, pseudonymised ids."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.regulation_sample import EXPECTED, HISTORY_ORDER, WINDOW, duckdb_uri, hand_tables, write_tables
from vigia import pseudonym
from vigia.regulation.features import (FEATURE_COLUMNS, HISTORY_FEATURES, OUTPUT_COLUMNS, build_features)
from vigia.sample_data import regulation as sample

END = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch):
    monkeypatch.setenv(pseudonym.KEY_ENV, "regulation-test-key-0123456789")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A small generated sample (shared by the tests of this module; never modified)."""
    out = tmp_path_factory.mktemp("regulation") / "regulation.duckdb"
    sample.generate(out, beneficiaries=400, requests=6_000, end=END, seed=11, events_per_beneficiary=25)
    return out


def _hand(uri_kind, tmp_path, request):
    uri = duckdb_uri(tmp_path / "hand.duckdb") if uri_kind == "duckdb" else request.getfixturevalue("pg_uri")
    return write_tables(uri, hand_tables())


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_hand_computed_point_in_time_features(kind, tmp_path, request):
    spec = _hand(kind, tmp_path, request)
    df = build_features(spec, *WINDOW).set_index("id_guia")
    # decided guias of the window, in request order (g1 and g3 share a timestamp: id breaks the tie)
    assert df.index.tolist() == [8, 1, 3, 9, 2]
    for guia, expected in EXPECTED.items():
        row = df.loc[guia]
        for what in HISTORY_ORDER:
            got = tuple(int(row[f"{what}_{w}"]) for w in ("mes", "semestre", "ano"))
            assert got == expected[what], (guia, what)
        since = row["dias_desde_mesmo_procedimento"]
        assert (np.isnan(since) if expected["dias_desde_mesmo_procedimento"] is None
                else since == expected["dias_desde_mesmo_procedimento"]), guia
        assert row["idade"] == expected["idade"], guia
        assert row["dias_de_adesao"] == expected["dias_de_adesao"], guia
    assert df.loc[1, "autorizado"] == 1 and df.loc[2, "autorizado"] == 0
    assert df.loc[2, "grupo"] == "exames-imagem" and df.loc[2, "nivel_complexidade"] == 3
    assert df.loc[1, "periodicidade_dias"] == 30.0 and np.isnan(df.loc[1, "idade_minima"])


def test_columns_follow_the_contract(tmp_path, request):
    df = build_features(_hand("duckdb", tmp_path, request), *WINDOW)
    assert list(df.columns) == OUTPUT_COLUMNS
    assert len(HISTORY_FEATURES) == 12
    assert FEATURE_COLUMNS[:3] == ["sexo", "idade", "tipo_beneficiario"]
    assert {"id_beneficiario", "beneficiario"} & set(FEATURE_COLUMNS) == set()
    assert df["data_solicitacao"].dtype == "datetime64[us]"
    assert df["exames_mes"].dtype == "int64" and df["autorizado"].dtype == "int64"


def test_beneficiary_ids_are_pseudonymised(tmp_path, request):
    df = build_features(_hand("duckdb", tmp_path, request), *WINDOW)
    assert "id_beneficiario" not in df.columns
    assert set(df["beneficiario"]) == {pseudonym.pseudonym("X", "beneficiario"), pseudonym.pseudonym("Y", "beneficiario")}
    assert not set(df["beneficiario"]) & {"X", "Y"}


def test_only_pending_returns_the_pending_guias(tmp_path, request):
    df = build_features(_hand("duckdb", tmp_path, request), *WINDOW, only_pending=True)
    assert df["id_guia"].tolist() == [7]
    assert df["decisao"].isna().all() and df["autorizado"].isna().all()
    # g7 (2026-03-11, A): e1 (03-10, d-1) and e2 (03-09, d-2) count; e3 (02-08) is d-31 now;
    # e8 on its own day does not count
    row = df.iloc[0]
    assert (row["mesmo_procedimento_mes"], row["dias_desde_mesmo_procedimento"]) == (2, 1)
    assert row["guias_mes"] == 4  # g4, g1, g3, g2


def test_duckdb_and_postgres_give_the_same_frame(generated, pg_uri):
    from vigia.connections import ConnectionSpec

    spec_duck = ConnectionSpec.from_uri("regulation_source", duckdb_uri(generated))
    sample.load_into(generated, pg_uri)
    spec_pg = ConnectionSpec.from_uri("regulation_source", pg_uri)
    start, end = END - timedelta(days=120), END
    duck = build_features(spec_duck, start, end)
    pg = build_features(spec_pg, start, end)
    assert len(duck) > 1_000
    pd.testing.assert_frame_equal(duck, pg)
    pending_duck = build_features(spec_duck, start, end, only_pending=True)
    assert len(pending_duck) > 0
    pd.testing.assert_frame_equal(pending_duck, build_features(spec_pg, start, end, only_pending=True))


def _copy(src, dst):
    with duckdb.connect(str(src), read_only=True) as con:
        tables = {t: con.execute(f"SELECT * FROM {t}").df() for t in sample.TABLES}
    for col in ("periodicidade_dias", "idade_minima", "idade_maxima"):
        tables["procedimentos"][col] = tables["procedimentos"][col].astype("Int64")
    return write_tables(duckdb_uri(dst), tables), tables


def test_no_leakage_from_anything_after_a_request(generated, tmp_path):
    """Events on/after a request's day and guias after its timestamp never change its features.

    Day C: every event after C is replaced by random ones, guias after C are moved and new ones
    added, and every request of day C gets an event of its own procedure on day C. The features of
    every request up to the end of day C must not move; those of later requests must.
    """
    spec, tables = _copy(generated, tmp_path / "orig.duckdb")
    start, end = END - timedelta(days=200), END - timedelta(days=10)
    before = build_features(spec, start, end)
    day_c = pd.Timestamp(END - timedelta(days=100))
    after_c = day_c + pd.Timedelta(days=1)
    ev, gu = tables["eventos"], tables["guias"]
    rng = np.random.default_rng(3)
    kept = ev[pd.to_datetime(ev["data_realizacao"]) < after_c]
    extra = ev.sample(n=5_000, replace=True, random_state=1).assign(
        data_realizacao=(after_c + pd.to_timedelta(rng.integers(0, 100, 5_000), unit="D")).date)
    on_c = gu[gu["data_solicitacao"].dt.normalize() == day_c]
    assert len(on_c) > 5
    same_day = on_c[["id_beneficiario", "codigo_procedimento"]].assign(
        data_realizacao=on_c["data_solicitacao"].dt.date, valor=1.0)
    later = gu["data_solicitacao"] >= after_c
    moved = gu.copy()
    moved.loc[later, "data_solicitacao"] = moved.loc[later, "data_solicitacao"] + pd.Timedelta(hours=3)
    new = gu[later].sample(n=500, random_state=2).assign(id_guia=lambda d: d["id_guia"] + 10_000_000)
    changed = {**tables, "eventos": pd.concat([kept, extra, same_day], ignore_index=True),
               "guias": pd.concat([moved, new], ignore_index=True)}
    spec2 = write_tables(duckdb_uri(tmp_path / "changed.duckdb"), changed)
    after = build_features(spec2, start, end)
    earlier = before[before["data_solicitacao"] < after_c].reset_index(drop=True)
    again = after[after["data_solicitacao"] < after_c].reset_index(drop=True)
    assert len(earlier) > 1_000
    pd.testing.assert_frame_equal(earlier, again)
    # the change is visible to later requests (so this test can fail)
    late = before[before["data_solicitacao"] >= after_c].set_index("id_guia")["exames_mes"]
    late_after = after.set_index("id_guia")["exames_mes"].reindex(late.index)
    assert (late != late_after).sum() > 100


def test_features_reproduce_the_generators_independent_history(generated):
    """The generator computes the policy's history with a join (not window functions): same values."""
    from vigia.connections import ConnectionSpec

    spec = ConnectionSpec.from_uri("regulation_source", duckdb_uri(generated))
    df = build_features(spec, END - timedelta(days=sample.REQUEST_DAYS), END)
    with duckdb.connect(str(generated), read_only=True) as con:
        texts = con.execute("SELECT id_guia, texto_anexo FROM guias").df()
    truth = pd.read_parquet(sample.truth_path(generated))
    merged = df.merge(texts, on="id_guia").merge(truth, on="id_guia")
    assert len(merged) == len(df) > 5_000
    decisao, motivo = sample.policy(merged)
    assert (decisao == merged["decisao_politica"]).all()
    assert (motivo == merged["motivo"]).all()


def test_window_must_not_be_empty(tmp_path, request):
    with pytest.raises(ValueError, match=r"empty window \[2026-03-12, 2026-03-01\)"):
        build_features(_hand("duckdb", tmp_path, request), WINDOW[1], WINDOW[0])


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_a_code_missing_from_the_catalogue(kind, tmp_path, request):
    """Its catalogue columns are empty, same-code history still counts, same-complexity counts 0."""
    tables = hand_tables()
    tables["guias"] = pd.concat([tables["guias"], tables["guias"].iloc[[0]].assign(
        id_guia=10, data_solicitacao=pd.Timestamp("2026-03-10 20:00"), codigo_procedimento="99999999")],
        ignore_index=True)
    tables["eventos"] = pd.concat([tables["eventos"], pd.DataFrame(
        [("X", "99999999", date(2026, 3, 1), 1.0)], columns=tables["eventos"].columns)], ignore_index=True)
    uri = duckdb_uri(tmp_path / "u.duckdb") if kind == "duckdb" else request.getfixturevalue("pg_uri")
    row = build_features(write_tables(uri, tables), *WINDOW).set_index("id_guia").loc[10]
    assert pd.isna(row["grupo"]) and np.isnan(row["periodicidade_dias"])
    assert (row["mesmo_procedimento_mes"], row["dias_desde_mesmo_procedimento"]) == (1, 9)
    assert (row["mesma_complexidade_mes"], row["mesma_complexidade_ano"]) == (0, 0)
    assert (row["exames_mes"], row["guias_mes"]) == (3, 4)  # e2, e3 and the new event; g4, g1, g3, g2


def test_history_matches_a_brute_force_count_over_all_pairs(generated):
    """Every history column against the definition, counted over all (guia, event/guia) pairs."""
    from vigia.connections import ConnectionSpec

    spec = ConnectionSpec.from_uri("regulation_source", duckdb_uri(generated))
    start = END - timedelta(days=sample.REQUEST_DAYS)
    df = build_features(spec, start, END).set_index("id_guia")
    with duckdb.connect(str(generated), read_only=True) as con:
        g = con.execute("SELECT id_guia, id_beneficiario, data_solicitacao, codigo_procedimento FROM guias").df()
        ev = con.execute("SELECT e.id_beneficiario, e.codigo_procedimento AS proc_e, e.data_realizacao, "
                         "p.nivel_complexidade AS nivel_e FROM eventos e "
                         "LEFT JOIN procedimentos p USING (codigo_procedimento)").df()
        nivel = con.execute("SELECT codigo_procedimento, nivel_complexidade FROM procedimentos").df()
    alvo = g[g["id_guia"].isin(df.index)].merge(nivel, on="codigo_procedimento", how="left")
    alvo["dia"] = alvo["data_solicitacao"].dt.normalize()
    pairs = alvo.merge(ev, on="id_beneficiario")
    gap = (pairs["dia"] - pd.to_datetime(pairs["data_realizacao"])).dt.days
    same_p = pairs["codigo_procedimento"] == pairs["proc_e"]
    same_n = pairs["nivel_complexidade"] == pairs["nivel_e"]
    gpairs = alvo.merge(g.rename(columns={"id_guia": "outra", "data_solicitacao": "ts_o"})[
        ["id_beneficiario", "outra", "ts_o"]], on="id_beneficiario")
    ggap = (gpairs["dia"] - gpairs["ts_o"].dt.normalize()).dt.days
    earlier = gpairs["ts_o"] < gpairs["data_solicitacao"]
    for name, n in {"mes": 30, "semestre": 182, "ano": 365}.items():
        w = (gap >= 1) & (gap <= n)
        for col, mask in (("exames", w), ("mesmo_procedimento", w & same_p), ("mesma_complexidade", w & same_n)):
            expected = pairs.loc[mask].groupby("id_guia").size().reindex(df.index, fill_value=0)
            assert (df[f"{col}_{name}"] == expected).all(), f"{col}_{name}"
        expected = gpairs.loc[earlier & (ggap <= n)].groupby("id_guia").size().reindex(df.index, fill_value=0)
        assert (df[f"guias_{name}"] == expected).all(), f"guias_{name}"
    last = pairs.loc[(gap >= 1) & same_p].assign(gap=gap).groupby("id_guia")["gap"].min().reindex(df.index)
    assert np.array_equal(df["dias_desde_mesmo_procedimento"].to_numpy(), last.to_numpy(dtype="float64"),
                          equal_nan=True)
    assert df["exames_ano"].sum() > 10_000 and df["guias_mes"].sum() > 100  # the counts are not all 0


def test_column_pseudonyms_are_the_keyed_hmac_of_each_value(monkeypatch):
    import hashlib
    import hmac

    from vigia.regulation.features import pseudonymise_ids

    monkeypatch.setenv(pseudonym.KEY_ENV, "k" * 32)
    ids = pd.Series(["B1", "B2", None, "B1", "ç-3"], name="id_beneficiario", index=[5, 6, 7, 8, 9])
    got = pseudonymise_ids(ids)
    by_hand = hmac.new(b"k" * 32, "beneficiario:ç-3".encode(), hashlib.sha256).hexdigest()[:24]
    assert got.loc[9] == by_hand == pseudonym.pseudonym("ç-3", "beneficiario")
    assert list(got.index) == [5, 6, 7, 8, 9] and got.name == "id_beneficiario" and str(got.dtype) == "string"
    assert got.loc[5] == got.loc[8] == pseudonym.pseudonym("B1", "beneficiario") != got.loc[6]
    assert pd.isna(got.loc[7])
    # numbers hash as their text (N_AIH, CNS); NaN stays missing
    nums = pseudonym.pseudonymise(pd.Series([3524100123456, float("nan")], dtype=object), "aih")
    assert nums.iloc[0] == pseudonym.pseudonym(3524100123456, "aih") and pd.isna(nums.iloc[1])
