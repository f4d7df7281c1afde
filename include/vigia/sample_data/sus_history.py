"""Sample DATASUS landing, part 4: prior months as cubes, written straight into the warehouse.

A scoring run reads the cubes of earlier competências from ``sus_production_monthly``
(the DAG's own backfill builds them from raw files). At national shape, generating
36 months of raw rows (~1.8 billion SIA records) only to aggregate them again is
not needed: :func:`prior_cubes` draws each earlier month's cube directly from the
generator's model, and :func:`write_prior_cubes` publishes them, one partition per
competência (idempotent: a rerun replaces the same months).

The model of a cell (establishment e x municipality of residence m x target of
group g, month t) is the expectation the raw-row generator routes through
(``sus_production._calibrate``, ``_records``):

* records of residents of m: ``lam[m, g] = rows_pc[g] x pop_t[m] x propensity[m, g] x season_t[g]``;
* a share ``local[g]`` (when m has an establishment of the group's pool) stays in m
  and is split among m's establishments by size weight ``w_e``; the rest goes to the
  establishments of m's hub, split the same way;
* records ~ Poisson(expected cell); SIA quantity = records + Poisson(records x (qty[g] - 1)),
  value = quantity x the group's mean unit price (procedure mix weights); SIH quantity =
  n_aih = records, value = records x mean price x a lognormal(0, 0.2 / sqrt(records)) factor.

Ages: targeted groups with an age range draw every age inside the target's range, so every
record of a targeted group counts in its target, as in the raw rows. Groups outside every
target are not in the cube. The planted anomalies are not drawn into prior cubes (they are
planted in the raw months); the month-to-month noise of the raw files (a lognormal of 6% per
municipality and group) is included.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd

from vigia.sample_data.sus_geo import _month_index, _month_of, _World
from vigia.sample_data.sus_production import POOLS, SYSTEM_CODE, _season, _System

CUBE_COLUMNS = ["competencia", "cnes", "municipio", "uf", "alvo", "alvo_versao", "sistema", "quantidade", "valor",
                "n_aih"]


def _group_cells(system: _System, world: _World, g: int, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
    """(establishment, municipality of residence, expected records) of one group: local + hub routing."""
    picker = world.pickers[POOLS[system.pool[g]]]
    members = picker.members                       # sorted by owner municipality
    owner = world.e_muni[members]
    weight = world.e_w[members]
    total = np.bincount(owner, weights=weight, minlength=len(world.m_code))
    share = weight / total[owner]                  # of the municipality's pool
    local = system.local[g] * picker.has           # per municipality of residence
    # local: residents of the establishment's own municipality
    est_l, mun_l, exp_l = members, owner, share * local[owner] * lam[owner]
    # hub: residents of every municipality m routed to the pool of hub(m)
    rest = (1 - local) * lam
    m = np.flatnonzero(rest > 0)
    h = world.m_hub[m]
    n = picker.end[h] - picker.start[h]
    rep_m = np.repeat(m, n)
    first = np.repeat(picker.start[h], n)
    pos = first + np.arange(len(rep_m)) - np.repeat(np.cumsum(n) - n, n)
    est_h, mun_h, exp_h = members[pos], rep_m, share[pos] * rest[rep_m]
    return (np.concatenate([est_l, est_h]), np.concatenate([mun_l, mun_h]), np.concatenate([exp_l, exp_h]))


def _mean_price(system: _System, g: int) -> float:
    sel = system.proc_group == g
    codes_w = 1.0 / np.arange(1, sel.sum() + 1) ** 1.1   # the proc picker's weights, in code order
    return float(np.average(system.proc_price[sel], weights=codes_w))


def month_cube(system: _System, world: _World, versions: dict[str, int], month_idx: int, end_idx: int,
               seed: int) -> pd.DataFrame:
    """The cube of one system and competência, drawn from the model (see the module docstring)."""
    rng = np.random.default_rng([seed, 90 + SYSTEM_CODE[system.name], month_idx])
    pop = world.population(month_idx // 12, end_idx // 12)
    season = _season(system, month_idx, end_idx)
    noise = rng.lognormal(-0.06 ** 2 / 2, 0.06, (len(world.m_code), len(system.groups)))
    frames = []
    for g, alvo in enumerate(system.alvo):
        if alvo is None:
            continue
        lam = system.rows_pc[g] * season[g] * pop * system.propensity[:, g] * noise[:, g]
        est, mun, expected = _group_cells(system, world, g, lam)
        records = rng.poisson(expected)
        keep = records > 0
        est, mun, records = est[keep], mun[keep], records[keep]
        key = est.astype(np.int64) * len(world.m_code) + mun  # local and hub cells of a hub coincide
        key, inv = np.unique(key, return_inverse=True)
        records = np.bincount(inv, weights=records).astype(np.int64)
        est, mun = key // len(world.m_code), key % len(world.m_code)
        price = _mean_price(system, g)
        if system.name == "SIA":
            qty = records + rng.poisson(records * max(system.qty[g] - 1, 0.0))
            value = np.round(qty * price, 2)
            n_aih = np.zeros(len(records), dtype=np.int64)
        else:
            qty = records
            value = np.round(records * price * rng.lognormal(0.0, 0.2 / np.sqrt(records)), 2)
            n_aih = records
        frames.append(pd.DataFrame({
            "cnes": pd.Series(world.e_cnes[est]).map("{:07d}".format),
            "municipio": pd.Series(world.m_code[mun]).map("{:06d}".format),
            "uf": np.asarray(world.uf_sigla)[world.m_uf[mun]],
            "alvo": alvo, "alvo_versao": versions[alvo], "sistema": system.name,
            "quantidade": qty.astype(float), "valor": value, "n_aih": n_aih}))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "competencia", _month_of(month_idx))
    return out[CUBE_COLUMNS]


def prior_cubes(systems: list[_System], world: _World, versions: dict[str, int], first: date, months: int,
                end: date, seed: int) -> Iterator[tuple[date, pd.DataFrame]]:
    """(competência, cube of SIA + SIH) for ``months`` months starting at ``first``, one at a time."""
    end_idx = _month_index(end)
    for i in range(months):
        idx = _month_index(first) + i
        yield _month_of(idx), pd.concat([month_cube(s, world, versions, idx, end_idx, seed) for s in systems],
                                        ignore_index=True)


def write_prior_cubes(warehouse, cubes: Iterator[tuple[date, pd.DataFrame]], run_id: str = "sample_prior") -> dict:
    """Publish each cube as the competência's partition of ``sus_production_monthly``, with its coarser
    cubes (``sus_production_by_establishment``, ``sus_production_by_municipality``: summed by the cube
    step's SQL, as ``publish_cube`` publishes them), one transaction per month; cells per month. A record
    of landing files or covered UFs that a DAG run left for the month is cleared with it: these cubes have
    none (they count as covering every UF, and their files as unknown)."""
    from vigia.sus.cubes import COARSE_TABLES, CUBE_TABLE, coarse_cubes
    from vigia.warehouse import PartitionWrite

    no_record = {"sus_cube_files": ["sistema", "arquivo", "run_id"],
                 "sus_cube_uf_coverage": ["sistema", "uf", "uf_codigo", "run_id"]}
    written = {}
    for month, cube in cubes:
        part = {"competencia": month}
        coarse = coarse_cubes(cube, month)
        warehouse.replace_partitions([PartitionWrite(CUBE_TABLE, part, cube.assign(run_id=run_id))] + [
            PartitionWrite(table, part, coarse[name].drop(columns="competencia").assign(run_id=run_id))
            for name, table in COARSE_TABLES.items()] + [
            PartitionWrite(table, part, pd.DataFrame(columns=columns)) for table, columns in no_record.items()])
        written[f"{month:%Y-%m}"] = len(cube)
    return written
