"""A synthetic frame shaped like ``vigia.regulation.features.build_features``' output, with a planted policy.

Policy (deny = 0): a repeat within the procedure's periodicity, an age outside the procedure's
range, a sex the procedure does not allow, or a request in carência; everything else is
authorised. ``noise`` of the labels are flipped at random (the label noise).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from vigia.regulation.preprocessing import HISTORY

CATALOGUE = pd.DataFrame([
    # codigo, grupo, periodicidade, idade_min, idade_max, sexo_permitido, carencia, valor, complexidade, especial
    ("40301630", "exames-laboratoriais", 30, None, None, None, 0, 12.0, 1, False),
    ("40304361", "exames-laboratoriais", 180, None, None, None, 0, 25.0, 1, False),
    ("31003079", "cirurgia-geral", 36500, None, None, None, 180, 2500.0, 3, True),
    ("31309054", "obstetricia", 270, 12, 55, "F", 300, 1800.0, 3, False),
    ("85000094", "odontologia-ortodontia", 365, 6, 18, None, 0, 300.0, 2, False),
    ("10101012", "consultas", 0, None, None, None, 0, 90.0, 1, False),
], columns=["codigo_procedimento", "grupo", "periodicidade_dias", "idade_minima", "idade_maxima",
            "sexo_permitido", "carencia_dias", "valor", "nivel_complexidade", "especial"])


def policy(frame: pd.DataFrame) -> np.ndarray:
    """The planted decision (1 autorizado, 0 negado) before noise."""
    repeat = frame["dias_desde_mesmo_procedimento"] < frame["periodicidade_dias"]
    age = (frame["idade"] < frame["idade_minima"]) | (frame["idade"] > frame["idade_maxima"])
    sex = frame["sexo_permitido"].notna() & (frame["sexo_permitido"] != frame["sexo"])
    carencia = frame["dias_de_adesao"] < frame["carencia_dias"]
    return (~(repeat.fillna(False) | age.fillna(False) | sex | carencia)).astype(int).to_numpy()


def synthetic_frame(n: int = 2000, seed: int = 0, noise: float = 0.05,
                    start: datetime = datetime(2025, 10, 1), days: int = 395) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cat = CATALOGUE.iloc[rng.integers(0, len(CATALOGUE), n)].reset_index(drop=True)
    frame = pd.DataFrame({
        "id_guia": np.arange(1, n + 1),
        "beneficiario": [f"b{int(i):05d}" for i in rng.integers(0, n // 3 + 1, n)],
        "data_solicitacao": [start + timedelta(days=float(d)) for d in rng.uniform(0, days, n)],
        "sexo": rng.choice(["M", "F"], n),
        "idade": rng.integers(0, 90, n),
        "tipo_beneficiario": rng.choice(["titular", "dependente", "agregado"], n, p=[0.5, 0.4, 0.1]),
        "tipo_guia": rng.choice(["consulta", "sadt", "internacao", "odontologia"], n),
        "id_prestador": rng.choice([f"P{i:03d}" for i in range(12)], n),
        **{c: cat[c] for c in cat.columns},
        "valor_moderacao": cat["valor"] * 0.1,
        "ordem": 1,                                              # constant: dropped by preprocessing
        "pericia_inicial": False,
        "dias_de_adesao": rng.integers(0, 2000, n),
    })
    last = rng.integers(1, 400, n).astype(float)
    last[rng.random(n) < 0.6] = np.nan                           # never performed before
    frame["dias_desde_mesmo_procedimento"] = last
    for col in HISTORY:
        frame[col] = rng.poisson(2 if col.endswith("mes") else 6, n)
    frame["data_solicitacao"] = pd.to_datetime(frame["data_solicitacao"])
    frame["data_decisao"] = frame["data_solicitacao"] + pd.Timedelta(hours=20)
    truth = policy(frame)
    flip = rng.random(n) < noise
    frame["autorizado"] = np.where(flip, 1 - truth, truth)
    frame["decisao"] = np.where(frame["autorizado"] == 1, "autorizado", "negado")
    frame["idade_minima"] = frame["idade_minima"].astype(float)
    frame["idade_maxima"] = frame["idade_maxima"].astype(float)
    return frame.sort_values("data_solicitacao", ignore_index=True)
