"""The regulation sample generator: deterministic, the contract's tables, the planted policy visible."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.regulation_sample import duckdb_uri
from vigia import pseudonym
from vigia.connections import ConnectionSpec
from vigia.regulation import source
from vigia.regulation.features import build_features
from vigia.sample_data import regulation as sample

END = date(2026, 11, 21)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("regulation") / "regulation.duckdb"
    counts = sample.generate(out, beneficiaries=1_500, requests=12_000, end=END, seed=5)
    return out, counts


def _tables(path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t}").df() for t in sample.TABLES}


def test_same_seed_same_tables_other_seed_other_tables(tmp_path):
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    for path, seed in ((a, 3), (b, 3), (c, 4)):
        sample.generate(path, beneficiaries=200, requests=1_000, end=END, seed=seed)
    ta, tb, tc = _tables(a), _tables(b), _tables(c)
    for t in sample.TABLES:
        pd.testing.assert_frame_equal(ta[t], tb[t])
    assert not ta["guias"].equals(tc["guias"])
    pd.testing.assert_frame_equal(pd.read_parquet(sample.truth_path(a)), pd.read_parquet(sample.truth_path(b)))


def test_counts_contract_and_dates(generated):
    path, counts = generated
    tables = _tables(path)
    assert counts == {t: len(tables[t]) for t in sample.TABLES}
    assert counts["guias"] == 12_000 and counts["beneficiarios"] == 1_500
    source.check(ConnectionSpec.from_uri("regulation_source", duckdb_uri(path)))
    g, e = tables["guias"], tables["eventos"]
    end_ts = pd.Timestamp(END)
    assert g["data_solicitacao"].max() < end_ts
    assert g["data_solicitacao"].min() >= end_ts - pd.Timedelta(days=sample.REQUEST_DAYS)
    assert pd.to_datetime(e["data_realizacao"]).max() < end_ts
    pending = g["data_solicitacao"] >= end_ts - pd.Timedelta(days=sample.PENDING_DAYS)
    assert (g["decisao"].isna() == pending).all() and (g["data_decisao"].isna() == pending).all()
    decided = g[~pending]
    assert (decided["data_decisao"] >= decided["data_solicitacao"]).all()
    assert decided["data_decisao"].max() < end_ts
    assert set(decided["decisao"]) == {"autorizado", "negado"}
    assert set(g["tipo_guia"]) == {"consulta", "sadt", "internacao", "odontologia"}
    assert g["id_guia"].is_unique and g["codigo_procedimento"].isin(tables["procedimentos"]["codigo_procedimento"]).all()
    # nobody requests or performs anything before joining the plan
    ben = tables["beneficiarios"].set_index("id_beneficiario")
    adesao = pd.to_datetime(ben["data_adesao"])
    assert (g["data_solicitacao"].dt.normalize() >= adesao.reindex(g["id_beneficiario"]).to_numpy()).all()
    assert (pd.to_datetime(e["data_realizacao"]) >= adesao.reindex(e["id_beneficiario"]).to_numpy()).all()


def test_catalogue_holds_what_the_rulesets_need(generated):
    cat = _tables(generated[0])["procedimentos"].set_index("codigo_procedimento")
    assert cat.loc["40301630", "periodicidade_dias"] == 30
    assert cat.loc["31003079", "periodicidade_dias"] == sample.ONCE_IN_A_LIFETIME
    assert set(cat.loc[cat["grupo"] == "obstetricia", "sexo_permitido"]) == {"F"}
    orto = cat[cat["grupo"] == "odontologia-ortodontia"]
    assert len(orto) == 2 and (orto["idade_minima"] == 7).all() and (orto["idade_maxima"] == 18).all()
    assert (cat["carencia_dias"] >= 180).sum() >= 10
    assert cat["especial"].sum() >= 2 and cat["pericia_inicial"].sum() >= 2
    assert cat.index.str.fullmatch(r"\d{8}").all()


def test_attachments_carry_the_keywords_and_cid_is_filled_for_some(generated):
    g = _tables(generated[0])["guias"]
    text = g["texto_anexo"].dropna().str.lower()
    for word in sample.JUSTIFICATION_KEYWORDS:
        assert text.str.contains(word, regex=False).sum() > 50, word
    assert 0.40 < g["texto_anexo"].isna().mean() < 0.65
    assert 0.35 < g["cid"].notna().mean() < 0.65


@pytest.fixture(scope="module")
def features(generated):
    path, _ = generated
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(pseudonym.KEY_ENV, "regulation-test-key-0123456789")
        spec = ConnectionSpec.from_uri("regulation_source", duckdb_uri(path))
        return build_features(spec, END - timedelta(days=sample.REQUEST_DAYS), END)


def _denied_share(rows: pd.DataFrame) -> float:
    return float((rows["autorizado"] == 0).mean())


def test_repeats_within_periodicity_are_denied_at_the_noise_rate(features):
    """Computed from the features alone (not the truth file): the planted rule shows through the noise."""
    repeat = features["dias_desde_mesmo_procedimento"] < features["periodicidade_dias"]
    assert repeat.sum() > 1_000
    share = _denied_share(features[repeat])
    assert abs(share - (1 - sample.LABEL_NOISE_RATE)) < 0.02, share


def test_sex_and_age_limits_are_denied(features):
    sex = features["sexo_permitido"].notna() & (features["sexo_permitido"] != features["sexo"])
    age = (features["idade"] < features["idade_minima"]) | (features["idade"] > features["idade_maxima"])
    assert sex.sum() > 100 and age.sum() > 200
    assert _denied_share(features[sex]) > 0.92 and _denied_share(features[age]) > 0.92


def test_carencia_is_denied_unless_urgent(generated, features):
    with duckdb.connect(str(generated[0]), read_only=True) as con:
        text = con.execute("SELECT id_guia, texto_anexo FROM guias").df()
    f = features.merge(text, on="id_guia")
    carencia = (f["dias_de_adesao"] < f["carencia_dias"]) & ~(
        f["sexo_permitido"].notna() & (f["sexo_permitido"] != f["sexo"]))
    urgent = f["texto_anexo"].str.contains("urgência", case=False, regex=False).fillna(False).astype(bool)
    in_range = ~((f["idade"] < f["idade_minima"]) | (f["idade"] > f["idade_maxima"]))
    plain = carencia & ~urgent & in_range
    assert plain.sum() > 200
    assert _denied_share(f[plain]) > 0.92


def test_ordinary_requests_are_authorised_and_labels_flip_at_the_noise_rate(generated, features):
    truth = pd.read_parquet(sample.truth_path(generated[0]))
    f = features.merge(truth, on="id_guia")
    plain = f[f["motivo"] == "padrao"]
    assert len(plain) > 3_000
    assert abs(_denied_share(plain) - sample.LABEL_NOISE_RATE) < 0.015
    decided = truth.merge(features[["id_guia"]], on="id_guia")
    flips = (f["ruido"]).mean()
    assert abs(flips - sample.LABEL_NOISE_RATE) < 0.01
    assert len(decided) == len(f)
    # every rule of the policy fires, and the classes are in the seed's range (68% authorised there)
    assert set(f["motivo"]) == {"sexo", "idade", "carencia", "periodicidade", "repeticao", "revisao", "padrao"}
    assert 0.55 < f["autorizado"].mean() < 0.80


def test_reviewed_procedures_follow_the_attachment(generated, features):
    with duckdb.connect(str(generated[0]), read_only=True) as con:
        text = con.execute("SELECT id_guia, texto_anexo FROM guias").df()
    truth = pd.read_parquet(sample.truth_path(generated[0]))
    f = features.merge(text, on="id_guia").merge(truth, on="id_guia")
    review = f[f["motivo"] == "revisao"]
    assert len(review) > 100 and (review["especial"] | review["pericia_inicial"]).all()
    justified = sample.has_justification(review["texto_anexo"])
    assert (review.loc[justified, "decisao_politica"] == "autorizado").all()
    assert (review.loc[~justified, "decisao_politica"] == "negado").all()


def test_policy_rules_in_order():
    base = {"sexo": "M", "sexo_permitido": None, "idade": 30, "idade_minima": np.nan, "idade_maxima": np.nan,
            "dias_de_adesao": 1000, "carencia_dias": 180, "dias_desde_mesmo_procedimento": np.nan,
            "periodicidade_dias": 30.0, "grupo": "exames-laboratoriais", "mesmo_procedimento_semestre": 0,
            "especial": False, "pericia_inicial": False, "texto_anexo": None}
    rows = pd.DataFrame([
        base,
        {**base, "sexo_permitido": "F", "idade": 10, "idade_minima": 12},      # sex first
        {**base, "idade": 10, "idade_minima": 12.0},
        {**base, "dias_de_adesao": 100},
        {**base, "dias_de_adesao": 100, "texto_anexo": "Caso de URGÊNCIA"},   # carência waived
        {**base, "dias_desde_mesmo_procedimento": 29.0},
        {**base, "dias_desde_mesmo_procedimento": 30.0, "mesmo_procedimento_semestre": 3},
        {**base, "especial": True},
        {**base, "pericia_inicial": True, "texto_anexo": "decisão judicial"},
    ])
    decisao, motivo = sample.policy(rows)
    assert motivo.tolist() == ["padrao", "sexo", "idade", "carencia", "padrao", "periodicidade", "repeticao",
                               "revisao", "revisao"]
    assert decisao.tolist() == ["autorizado", "negado", "negado", "negado", "autorizado", "negado", "negado",
                                "negado", "autorizado"]


def test_command_line_writes_the_file(tmp_path, capsys):
    from vigia.sample_data.__main__ import main

    out = tmp_path / "cli.duckdb"
    assert main(["regulation", "--beneficiaries", "100", "--requests", "500", "--end", "2026-01-10",
                 "--seed", "2", "--out", str(out)]) == 0
    assert "regulation sample: 100 beneficiarios, 500 guias" in capsys.readouterr().out
    g = _tables(out)["guias"]
    assert g["data_solicitacao"].max() < pd.Timestamp("2026-01-10")
    assert sample.truth_path(out).exists()


def test_the_documented_ceilings_hold(generated, features):
    """CEILING_FROM_FEATURES: the policy applied to the features (reviewed procedures guessed 'autorizado')."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score

    truth = pd.read_parquet(sample.truth_path(generated[0]))
    f = features.merge(truth, on="id_guia")
    decisao, motivo = sample.policy(f.assign(texto_anexo=None))
    guess = (np.where(motivo == "revisao", "autorizado", decisao) == "autorizado").astype(int)
    exact = (f["decisao_politica"] == "autorizado").astype(int)
    assert abs(accuracy_score(f["autorizado"], guess) - sample.CEILING_FROM_FEATURES["accuracy"]) < 0.015
    assert abs(cohen_kappa_score(f["autorizado"], guess) - sample.CEILING_FROM_FEATURES["kappa"]) < 0.03
    assert abs(accuracy_score(f["autorizado"], exact) - sample.CEILING_WITH_ATTACHMENT["accuracy"]) < 0.015
    assert abs(cohen_kappa_score(f["autorizado"], exact) - sample.CEILING_WITH_ATTACHMENT["kappa"]) < 0.03
