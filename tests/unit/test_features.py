"""Features checked against hand-computed rows (the seed's SQL semantics)."""

from datetime import date

import pandas as pd
import pytest

from vigia.glosa.contract import SOURCE_COLUMNS
from vigia.glosa.features import build_features, segments

M = date(2026, 10, 1)


def row(**over):
    base = dict(MES_RECEBIMENTO=M, HOSPITAL="H1", REGIONAL="Sul", I_ITEM_CATEGORIA="Materiais",
                SETOR_N1="A1", SETOR_N2="S1", TIPO_GRUPO="Clínico", TIPO_ATENDIMENTO="Internado",
                CONVENIO="Unimed", TIPO_GLOSA="Técnica", VALOR_COBRADO_GERAL=1000.0, VALOR_GLOSA=100.0,
                COBRADO_ANTERIOR=500.0, GLOSA_ANTERIOR=25.0, QTD_LINHAS_GLOSA=3.0)
    base.update(over)
    return base


def frame(*rows):
    return pd.DataFrame(list(rows), columns=SOURCE_COLUMNS)


def test_rows_of_one_cell_are_summed_and_features_computed():
    f = build_features(frame(row(), row(VALOR_COBRADO_GERAL=600.0, VALOR_GLOSA=60.0, COBRADO_ANTERIOR=300.0,
                                       GLOSA_ANTERIOR=15.0, QTD_LINHAS_GLOSA=1.0)))
    assert len(f) == 1
    r = f.iloc[0]
    assert r["TIPO_DESPESA"] == "Materiais"
    assert r["VALOR_COBRADO"] == 1600.0
    assert r["GLOSA_ATUAL"] == 160.0
    assert r["IND_GLOSA"] == pytest.approx(0.1)                  # 160 / 1600
    assert r["IND_GLOSA_ANTERIOR"] == pytest.approx(40.0 / 800)  # 0.05
    assert r["SALTO_VALOR"] == pytest.approx(160.0 - 40.0)
    assert r["SALTO_INDICE"] == pytest.approx(0.1 - 0.05)
    assert r["QTD_LINHAS_GLOSA"] == 4.0


def test_nulls_become_zero_and_nothing_billed_gives_index_zero():
    f = build_features(frame(row(VALOR_COBRADO_GERAL=None, VALOR_GLOSA=50.0, COBRADO_ANTERIOR=None,
                                 GLOSA_ANTERIOR=None, QTD_LINHAS_GLOSA=None)))
    r = f.iloc[0]
    assert r["VALOR_COBRADO"] == 0.0
    assert r["IND_GLOSA"] == 0.0          # nothing billed: 0, not inf
    assert r["IND_GLOSA_ANTERIOR"] == 0.0
    assert r["SALTO_VALOR"] == 50.0       # 50 - 0
    assert r["SALTO_INDICE"] == 0.0
    assert r["QTD_LINHAS_GLOSA"] == 0.0


def test_tipo_grupo_is_trimmed_and_nao_identificado_shortened():
    f = build_features(frame(
        row(TIPO_GRUPO="  Clínico "),
        row(TIPO_GRUPO="Clínico"),
        row(TIPO_GRUPO="Não identificado-Não identificado ", SETOR_N2="S2"),
    ))
    assert sorted(f["TIPO_GRUPO"]) == ["Clínico", "N/A-N/A"]
    assert f.loc[f["TIPO_GRUPO"] == "Clínico", "GLOSA_ATUAL"].item() == 200.0  # the trimmed rows merged


def test_each_grouping_key_separates_cells_and_null_dimensions_form_their_own_cell():
    f = build_features(frame(row(), row(SETOR_N2="S2"), row(TIPO_ATENDIMENTO="Ambulatorial"),
                             row(REGIONAL=None), row(REGIONAL=None)))
    assert len(f) == 4
    assert f.loc[f["REGIONAL"].isna(), "GLOSA_ATUAL"].item() == 200.0


def test_money_sums_are_exact_cents_so_identical_cells_stay_identical():
    # 0.1 + 0.2 != 0.3 in floats; Oracle's NUMBER sum is exact
    f = build_features(frame(row(VALOR_GLOSA=0.1), row(VALOR_GLOSA=0.2), row(SETOR_N2="S2", VALOR_GLOSA=0.3, VALOR_COBRADO_GERAL=2000.0,
                             COBRADO_ANTERIOR=1000.0, GLOSA_ANTERIOR=50.0)))
    assert f["GLOSA_ATUAL"].tolist() == [0.3, 0.3]
    assert f["IND_GLOSA"].nunique() == 1


def test_segments_are_hospital_convenio_tipo_glosa():
    f = build_features(frame(row(), row(SETOR_N2="S2"), row(CONVENIO="Amil"), row(HOSPITAL="H2")))
    seg = segments(f)
    assert seg[["HOSPITAL", "CONVENIO", "TIPO_GLOSA", "rows"]].values.tolist() == [
        ["H1", "Amil", "Técnica", 1], ["H1", "Unimed", "Técnica", 2], ["H2", "Unimed", "Técnica", 1]]
    assert seg["segment_id"].tolist() == [0, 1, 2]
