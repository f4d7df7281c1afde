"""Sample rows of ``TASY.TB_GLOSA_APRIORI_RECENTE`` with known structure.

* Segment sizes are skewed: most segments are small (log-normal, a few with
  1-3 cells or identical cells, the seed's failure cases), and a few are big,
  20,000-50,000 cells at full size (2-5% of the rows at smaller sizes).
* About a quarter of the segments with 40 cells or more carry planted cluster
  structure: 3-5 tight groups in the feature space. The planted label of each
  cell is written to a separate truth file, so tests can check that clustering
  recovers it (adjusted Rand index).
* Some cells are split over two source rows (the features group them back),
  and TIPO_GRUPO carries padded and 'Não identificado-Não identificado' values.

Everything derives from ``seed``: the same arguments give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from vigia.glosa.contract import SOURCE_COLUMNS
from vigia.glosa.features import NAO_IDENTIFICADO

CONVENIOS = ["Unimed", "Bradesco Saúde", "SulAmérica", "Amil", "Cassi", "Geap", "Porto Seguro Saúde",
             "Hapvida", "NotreDame Intermédica", "Saúde Petrobras", "Postal Saúde", "Mediservice"]
TIPOS_GLOSA = ["Administrativa", "Técnica", "Linear", "Contratual"]
CATEGORIAS = ["Materiais", "Medicamentos", "Diárias", "Taxas", "Honorários", "SADT", "OPME", "Gases"]
# distinct after trimming, so no two cells of a segment merge; padding exercises the trim
GRUPOS = ["Clínico-Cirúrgico ", " Obstetrícia-Parto", "Pronto Socorro-Adulto", NAO_IDENTIFICADO,
          "Oncologia-Quimioterapia"]
ATENDIMENTOS = ["Internado", "Ambulatorial", "Pronto Socorro", "Externo"]
REGIONAIS = ["Regional Sul", "Regional Sudeste", "Regional Nordeste", "Regional Centro-Oeste"]

# planted cluster centres: (glosa, índice, glosa anterior, índice anterior)
CENTRES = [
    (1_000.0, 0.05, 900.0, 0.05),
    (10_000.0, 0.40, 4_000.0, 0.20),
    (3_000.0, 0.80, 6_000.0, 0.85),
    (20_000.0, 0.15, 21_000.0, 0.60),
    (6_000.0, 0.60, 1_000.0, 0.10),
]
NOISE = 0.03


@dataclass(frozen=True)
class GlosaSample:
    rows: pd.DataFrame   # the source table
    truth: pd.DataFrame  # planted cluster of every cell of planted segments


def segment_sizes(n_segments: int, n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cells per segment (skewed) and the index of the big segments."""
    n_big = max(1, n_segments // 150)
    if n_rows >= 500_000:
        big = rng.integers(20_000, 50_001, size=n_big)
    else:
        big = (rng.uniform(0.02, 0.05, size=n_big) * n_rows).astype(int) + 40
    rest_rows = max(n_rows - int(big.sum()), n_segments - n_big)
    small = rng.lognormal(mean=0.0, sigma=1.3, size=n_segments - n_big)
    small = np.maximum(1, np.round(small / small.sum() * rest_rows)).astype(int)
    # the seed's failure cases: tiny segments
    tiny = rng.choice(len(small), size=min(len(small), max(3, n_segments // 50)), replace=False)
    small[tiny] = rng.integers(1, 4, size=len(tiny))
    sizes = np.concatenate([big, small])
    order = rng.permutation(n_segments)
    sizes = sizes[order]
    big_index = np.flatnonzero(order < n_big)
    return sizes, big_index


def _dims(j: np.ndarray) -> dict:
    """Distinct cell dimensions for cell numbers j (mixed radix, so no two cells of a segment merge)."""
    setor = j // 160
    return {
        "I_ITEM_CATEGORIA": np.array(CATEGORIAS)[j % 8],
        "TIPO_GRUPO": np.array(GRUPOS, dtype=object)[(j // 8) % 5],
        "TIPO_ATENDIMENTO": np.array(ATENDIMENTOS)[(j // 40) % 4],
        "SETOR_N1": np.char.add("Área ", (setor // 20 + 1).astype(str)),
        "SETOR_N2": np.char.add("Setor ", np.char.zfill((setor + 1).astype(str), 4)),
    }


def _planted_values(n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    weights = rng.dirichlet(np.full(k, 4.0))
    weights = np.maximum(weights, 0.08)
    labels = rng.choice(k, size=n, p=weights / weights.sum())
    labels[:k] = np.arange(k)  # every planted group present
    centres = np.array(CENTRES[:k])[labels]
    values = centres * (1 + rng.normal(0, NOISE, size=centres.shape))
    return values, labels


def _random_values(n: int, rng: np.random.Generator) -> np.ndarray:
    cobrado = rng.lognormal(8.0, 1.2, n)
    ind = rng.beta(2, 14, n)
    cobrado_ant = cobrado * rng.lognormal(0, 0.35, n)
    ind_ant = rng.beta(2, 14, n)
    return np.column_stack([cobrado * ind, ind, cobrado_ant * ind_ant, ind_ant])


def generate(months: list[date], n_segments: int = 60, n_rows: int = 20_000, seed: int = 7) -> GlosaSample:
    """Rows for every month in ``months``; about ``n_rows`` cells per month in ``n_segments`` segments."""
    rng = np.random.default_rng(seed)
    sizes, big_index = segment_sizes(n_segments, n_rows, rng)
    n_hosp = int(np.ceil(n_segments / (len(CONVENIOS) * len(TIPOS_GLOSA))))
    combos = [(h, c, t) for h in range(n_hosp) for c in range(len(CONVENIOS)) for t in range(len(TIPOS_GLOSA))]
    combos = [combos[i] for i in rng.permutation(len(combos))[:n_segments]]
    eligible = np.flatnonzero(sizes >= 40)
    planted = set(rng.choice(eligible, size=len(eligible) // 4, replace=False).tolist()) if len(eligible) else set()
    planted |= set(big_index[: (len(big_index) + 1) // 2].tolist())
    identical = set(rng.choice(np.flatnonzero((sizes >= 4) & (sizes < 40)), size=2, replace=False).tolist()) \
        if ((sizes >= 4) & (sizes < 40)).sum() >= 2 else set()
    k_true = {s: int(rng.integers(3, 6)) for s in sorted(planted)}

    frames, truths = [], []
    for m_index, month in enumerate(months):
        mrng = np.random.default_rng([seed, m_index])
        for s, (h, c, t) in enumerate(combos):
            n = int(sizes[s])
            j = np.arange(n)
            if s in planted:
                values, labels = _planted_values(n, k_true[s], mrng)
            else:
                values, labels = _random_values(n, mrng), None
                if s in identical:
                    values[:] = values[0]
            glosa, ind, glosa_ant, ind_ant = values.T
            ind = np.clip(ind, 0.001, 1.0)
            ind_ant = np.clip(ind_ant, 0.001, 1.0)
            cell = pd.DataFrame({
                "MES_RECEBIMENTO": month,
                "HOSPITAL": f"Hospital {h + 1:02d}",
                "REGIONAL": REGIONAIS[h % len(REGIONAIS)],
                **_dims(j),
                "CONVENIO": CONVENIOS[c],
                "TIPO_GLOSA": TIPOS_GLOSA[t],
                "VALOR_COBRADO_GERAL": np.round(glosa / ind, 2),
                "VALOR_GLOSA": np.round(glosa, 2),
                "COBRADO_ANTERIOR": np.round(glosa_ant / ind_ant, 2),
                "GLOSA_ANTERIOR": np.round(glosa_ant, 2),
                "QTD_LINHAS_GLOSA": mrng.integers(1, 40, n).astype(float),
            })
            if labels is not None:
                truth = cell[["MES_RECEBIMENTO", "HOSPITAL", "CONVENIO", "TIPO_GLOSA", "I_ITEM_CATEGORIA",
                              "SETOR_N2", "TIPO_GRUPO", "TIPO_ATENDIMENTO"]].copy()
                truth["TIPO_GRUPO"] = truth["TIPO_GRUPO"].str.strip().replace(NAO_IDENTIFICADO, "N/A-N/A")
                truth["planted_cluster"] = labels
                truth["planted_k"] = k_true[s]
                truths.append(truth)
            frames.append(_split_some(cell, mrng))
    rows = pd.concat(frames, ignore_index=True)[SOURCE_COLUMNS]
    truth = pd.concat(truths, ignore_index=True) if truths else pd.DataFrame()
    return GlosaSample(rows, truth)


def _split_some(cell: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Split ~10% of cells over two source rows with the same keys (sums unchanged)."""
    pick = rng.random(len(cell)) < 0.10
    if not pick.any():
        return cell
    first = cell[pick].copy()
    second = cell[pick].copy()
    money = ["VALOR_COBRADO_GERAL", "VALOR_GLOSA", "COBRADO_ANTERIOR", "GLOSA_ANTERIOR", "QTD_LINHAS_GLOSA"]
    first[money] = (first[money] / 2).round(2)
    second[money] = second[money].to_numpy() - first[money].to_numpy()
    return pd.concat([cell[~pick], first, second], ignore_index=True)
