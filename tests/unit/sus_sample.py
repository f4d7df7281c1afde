"""A scored SUS month built from generated DATASUS-layout files (shared by the SUS tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from vigia import runs
from vigia.sample_data import sus as gen
from vigia.sus import cubes, datasus, scoring, targets

END = date(2026, 10, 1)
MONTHS = [runs.add_months(END, -i) for i in reversed(range(13))]


def scored_month(landing: Path, municipalities: int, sia_rows_per_month: int, seed: int = 11) -> dict:
    """Generate 13 months, build every month's cube, score END; codes must all be valid."""
    info = gen.generate(landing, END, months=13, municipalities=municipalities,
                        sia_rows_per_month=sia_rows_per_month, seed=seed)
    tgt = targets.load()
    cube_parts = []
    for month in MONTHS:
        parts = []
        for system in ("SIA", "SIH"):
            df = datasus.read_competencia(landing, system, month)
            assert (datasus.code_problems(df, system) == "").all()
            df["sistema"] = system
            if "n_aih" not in df:
                df["n_aih"] = None
            parts.append(df[cubes.PRODUCTION_COLUMNS])
        path = landing / f"producao_{month:%Y%m}.parquet"
        pd.concat(parts, ignore_index=True).to_parquet(path, index=False)
        cube_parts.append(cubes.build_cube([path], month, tgt))
    cube = pd.concat(cube_parts, ignore_index=True)
    registry = datasus.read_competencia(landing, "CNES", END)
    population = datasus.read_population(landing)
    result = scoring.score_month(cube, END, population, registry, MONTHS)
    return {"planted": {p["kind"]: p for p in info["planted"]}, "cube": cube, "result": result,
            "registry": registry, "names": dict(zip(tgt["alvo"], tgt["nome"])), "population": population}
