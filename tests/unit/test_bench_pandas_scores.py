"""The benchmark's straightforward pandas scorer (``bench/sus_pandas_scores.py``) computes Vigia's scores.

The issue's baseline must score the same thing as Vigia: on the generated reference month,
``score_month_pandas`` gives the same rows and values (rtol 1e-9) as ``scoring.score_month`` for every
table. Row order is not part of the baseline's contract (it is a timing baseline, not a publisher):
both sides are sorted by their keys before the comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.sus_sample import END, MONTHS, scored_month
from tests.unit.test_sus_scoring_sql import assert_same

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from sus_pandas_scores import score_month_pandas  # noqa: E402

KEYS = {
    "excess_by_target": ["cnes", "alvo"],
    "municipal": ["municipio", "alvo", "sistema"],
    "excess_shares": ["cnes", "municipio", "alvo"],
    "ranking": ["cnes"],
    "scores": ["cnes", "alvo", "score"],
    "concentration": ["competencia"],
    "flags": ["flag", "cnes", "municipio", "alvo"],
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from vigia.sus import datasus

    landing = tmp_path_factory.mktemp("landing")
    ref = scored_month(landing, municipalities=120, sia_rows_per_month=40_000, seed=7)
    ref["population"] = datasus.read_population(landing)
    return ref


@pytest.fixture(scope="module")
def both(reference):
    got = score_month_pandas(reference["cube"], END, reference["population"], reference["registry"], MONTHS)
    return reference["result"], got


@pytest.mark.parametrize("name", list(KEYS))
def test_straightforward_pandas_scores_equal_vigia(both, name):
    ref, got = (getattr(r, name) for r in both)
    assert len(ref) > 0, name  # every table has rows on this month: the comparison is not vacuous
    keys = KEYS[name]
    assert_same(ref.sort_values(keys, kind="stable").reset_index(drop=True),
                got.sort_values(keys, kind="stable").reset_index(drop=True), name)


def test_the_compared_month_exercises_every_branch(both):
    ref, _ = both
    reasons = ref.scores["reason"].dropna()
    assert reasons.str.startswith("sem base").any()
    assert reasons.str.startswith("menos de 5 AIH").any()
    for col in ("excesso_per_capita", "excesso_preco", "excesso_salto"):
        assert ref.excess_by_target[col].sum() > 0, col
    assert pd.notna(ref.municipal["cutoff"]).any()


def test_a_month_missing_from_the_history_gives_the_same_scores(reference):
    """'sem histórico' and 'janela parcial' branches: the 12-month windows lack a covered month, the 6-month
    one does not."""
    from vigia.sus import scoring

    covered = [m for m in MONTHS if m != MONTHS[2]]
    args = (reference["cube"], END, reference["population"], reference["registry"], covered)
    want, got = scoring.score_month(*args), score_month_pandas(*args)
    assert want.scores["reason"].str.startswith("sem histórico: 11 de 12").sum() > 0
    assert (want.scores["reason"] == "janela parcial: 11 de 12 meses no armazém; fora do ranking").sum() > 0
    for name in ("scores", "ranking", "excess_by_target"):
        keys = KEYS[name]
        assert_same(getattr(want, name).sort_values(keys, kind="stable").reset_index(drop=True),
                    getattr(got, name).sort_values(keys, kind="stable").reset_index(drop=True), name)


def test_a_regional_spike_gives_the_same_flags():
    """'pico_regional' branch (absent from the generated month): four SP establishments of 12 units a
    month for a year, all tripled in the scored month; a fifth, small one, does not count."""
    from vigia.sus import scoring

    rows = []
    for month in MONTHS:
        for i, municipio in enumerate(["355030", "350950", "354980", "352590", "351880"]):
            qty = (12.0 if i < 4 else 2.0) * (3 if month == END and i < 4 else 1) + i
            rows.append({"competencia": month, "cnes": f"{i + 1:07d}", "municipio": municipio, "uf": "SP",
                         "alvo": "a1", "alvo_versao": 1, "sistema": "SIA", "quantidade": qty,
                         "valor": 10.0 * qty, "n_aih": 0})
    cube = pd.DataFrame(rows)
    population = pd.DataFrame([{"municipio": m, "ano": y, "populacao": 50_000 + 1000 * i}
                               for i, m in enumerate(cube["municipio"].unique()) for y in (2025, 2026)])
    registry = pd.DataFrame({"cnes": cube["cnes"].unique(), "uf": "SP", "tp_unid": "05"})
    want = scoring.score_month(cube, END, population, registry, MONTHS)
    got = score_month_pandas(cube, END, population, registry, MONTHS)
    assert (want.flags["flag"] == "pico_regional").sum() == 4
    for name in ("flags", "scores", "ranking", "excess_by_target", "municipal"):
        keys = KEYS[name]
        assert_same(getattr(want, name).sort_values(keys, kind="stable").reset_index(drop=True),
                    getattr(got, name).sort_values(keys, kind="stable").reset_index(drop=True), name)


def test_the_targets_measures_give_the_same_scores(reference):
    """With the default table's measures (its medicines target is scored on value only), as the DAG and the
    benchmark score."""
    from vigia.sus import scoring, targets

    measures = targets.measures(targets.load())
    args = (reference["cube"], END, reference["population"], reference["registry"], MONTHS)
    want, got = scoring.score_month(*args, measures=measures), score_month_pandas(*args, measures=measures)
    valor = [a for a, m in measures.items() if m == "valor"]
    assert want.scores["alvo"].isin(valor).any()
    assert not (want.scores["alvo"].isin(valor) & want.scores["score"].str.startswith("oscilacao_quantidade")).any()
    for name in ("scores", "ranking"):
        keys = KEYS[name]
        assert_same(getattr(want, name).sort_values(keys, kind="stable").reset_index(drop=True),
                    getattr(got, name).sort_values(keys, kind="stable").reset_index(drop=True), name)
