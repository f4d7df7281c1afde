"""Benchmark: point-in-time regulation features, Vigia (build_features: DuckDB window functions)
against a straightforward pandas implementation of the same features, side by side in one run.

1. Generates the sample source with ``vigia.sample_data.regulation.generate`` (``--beneficiaries``,
   ``--guias``, ``--eventos``; default 500,000 / 1,000,000 / 10,000,000), once per size, in ``--workdir``.
2. Measures, each in its own child process (so each peak RSS is its own: ru_maxrss of the child):
   (a) Vigia: ``build_features(spec, end - 396 days, end)`` on the DuckDB file (contract check,
       the feature SQL, dtype normalisation, pseudonymisation);
   (b) pandas: read the four tables into DataFrames, then merge each guia with all events and
       all guias of its beneficiary, filter by day difference and count per window (the obvious
       pandas formulation), the attributes by merges, the same normalisation and pseudonymisation.
   Both write their frame to Parquet; the parent checks they are equal on a random sample of
   ``--check-rows`` guias (every column).
3. Also measures ``vigia.regulation.quality.gate_source`` (the source DQ gate) on the same file, in
   its own child (``--no-gate`` skips it).
4. If the pandas child dies (memory) at full size, the run says so and measures both on
   ``--pandas-guias`` (same beneficiaries-to-guias-to-events ratios), plus Vigia alone at full size.
5. Prints a Markdown table: machine, data sizes, seconds, peak RSS, ratio, and ``uptime`` (the
   machine's load) at the start and the end.

    .venv/bin/python bench/regulation_features.py                       # full size (1M guias, 10M eventos)
    .venv/bin/python bench/regulation_features.py --beneficiaries 20000 --guias 40000 --eventos 400000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 21)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def _window():
    from vigia.sample_data import regulation as sample

    return END - timedelta(days=sample.REQUEST_DAYS), END


# ----------------------------------------------------------------------------- children
def run_vigia(db: Path, out: Path) -> dict:
    from vigia.connections import ConnectionSpec
    from vigia.regulation.features import build_features

    start, end = _window()
    t0 = time.perf_counter()
    df = build_features(ConnectionSpec.from_uri("regulation_source", f"duckdb:///{str(db).lstrip('/')}"), start, end)
    seconds = time.perf_counter() - t0
    df.to_parquet(out, index=False)
    return {"seconds": seconds, "rows": len(df)}


def run_gate(db: Path, out: Path) -> dict:
    from datetime import datetime

    from vigia.connections import ConnectionSpec
    from vigia.regulation.quality import gate_source

    from vigia.dq.gate import _context

    start, end = _window()
    t_gx = time.perf_counter()
    _context()  # importing great-expectations and creating its context: once per process, not timed
    gx_setup = time.perf_counter() - t_gx
    t0 = time.perf_counter()
    result = gate_source(ConnectionSpec.from_uri("regulation_source", f"duckdb:///{str(db).lstrip('/')}"), start,
                         end, now=datetime.combine(end, datetime.min.time()), eventos_after_cutoff="warn")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "gx_setup_seconds": gx_setup, "success": result.success, "kept": len(result.clean),
            "quarantined": len(result.quarantined)}


def pandas_features(tables: dict, start: date, end: date):
    """The same features with pandas merges (one row per guia decided in [start, end))."""
    import numpy as np
    import pandas as pd

    from vigia.regulation.features import OUTPUT_COLUMNS, WINDOWS, normalise, pseudonymise_ids

    ben, cat, guias, ev = (tables[t] for t in ("beneficiarios", "procedimentos", "guias", "eventos"))
    day = lambda s: (pd.to_datetime(s).values.astype("datetime64[D]").astype("int64"))  # noqa: E731
    nivel = cat.set_index("codigo_procedimento")["nivel_complexidade"]
    t_start, t_end = pd.Timestamp(start), pd.Timestamp(end)
    g = guias[(guias["data_solicitacao"] >= t_start) & (guias["data_solicitacao"] < t_end)
              & guias["decisao"].notna()].reset_index(drop=True)
    g["pos"] = np.arange(len(g))
    g["dia"] = day(g["data_solicitacao"])
    g["nivel"] = g["codigo_procedimento"].map(nivel)
    e = pd.DataFrame({"id_beneficiario": ev["id_beneficiario"], "proc_e": ev["codigo_procedimento"],
                      "dia_e": day(ev["data_realizacao"]), "nivel_e": ev["codigo_procedimento"].map(nivel)})
    e = e[e["dia_e"] < day(pd.Series([t_end]))[0]]
    m = g[["pos", "id_beneficiario", "dia", "codigo_procedimento", "nivel"]].merge(e, on="id_beneficiario")
    delta = (m["dia"] - m["dia_e"]).to_numpy()
    before = delta >= 1
    same_p = (m["codigo_procedimento"] == m["proc_e"]).to_numpy()
    same_n = (m["nivel"] == m["nivel_e"]).to_numpy()
    pos = m["pos"].to_numpy()
    out = {}
    n = len(g)
    for name, days in WINDOWS.items():
        w = before & (delta <= days)
        out[f"exames_{name}"] = np.bincount(pos[w], minlength=n)
        out[f"mesmo_procedimento_{name}"] = np.bincount(pos[w & same_p], minlength=n)
        out[f"mesma_complexidade_{name}"] = np.bincount(pos[w & same_n], minlength=n)
    last = pd.Series(m["dia_e"].to_numpy()[before & same_p]).groupby(pos[before & same_p]).max()
    since = g["dia"] - last.reindex(g["pos"]).to_numpy()
    del m, delta, before, same_p, same_n, pos
    hist = guias[(guias["data_solicitacao"] >= t_start - pd.Timedelta(days=366))
                 & (guias["data_solicitacao"] < t_end)][["id_beneficiario", "data_solicitacao"]]
    hist = hist.rename(columns={"data_solicitacao": "ts_o"})
    m2 = g[["pos", "id_beneficiario", "data_solicitacao", "dia"]].merge(hist, on="id_beneficiario")
    earlier = (m2["ts_o"] < m2["data_solicitacao"]).to_numpy()
    d2 = (m2["dia"] - day(m2["ts_o"])).to_numpy()
    for name, days in WINDOWS.items():
        out[f"guias_{name}"] = np.bincount(m2["pos"].to_numpy()[earlier & (d2 <= days)], minlength=n)
    del m2
    f = g.merge(ben, on="id_beneficiario", how="left").merge(
        cat.drop(columns=["descricao"]), on="codigo_procedimento", how="left")
    sol = pd.to_datetime(f["data_solicitacao"])
    birth = pd.to_datetime(f["data_nascimento"])
    before_birthday = (sol.dt.month < birth.dt.month) | ((sol.dt.month == birth.dt.month) & (sol.dt.day < birth.dt.day))
    frame = f.assign(
        autorizado=np.where(f["decisao"] == "autorizado", 1, 0),
        idade=sol.dt.year - birth.dt.year - before_birthday.astype(int),
        dias_de_adesao=f["dia"] - day(f["data_adesao"]),
        dias_desde_mesmo_procedimento=since.to_numpy(),
        **out,
    ).sort_values(["data_solicitacao", "id_guia"], ignore_index=True)
    frame = normalise(frame)
    frame["beneficiario"] = pseudonymise_ids(frame.pop("id_beneficiario"))
    return frame[OUTPUT_COLUMNS]


def run_pandas(db: Path, out: Path) -> dict:
    import duckdb

    t0 = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {t: con.execute(f"SELECT * FROM {t}").df()
                  for t in ("beneficiarios", "procedimentos", "guias", "eventos")}
    loaded = time.perf_counter()
    df = pandas_features(tables, *_window())
    seconds = time.perf_counter() - t0
    df.to_parquet(out, index=False)
    return {"seconds": seconds, "load_seconds": loaded - t0, "rows": len(df)}


def child(kind: str, db: Path, out: Path) -> None:
    os.environ.setdefault("VIGIA_PSEUDONYM_KEY", "benchmark-key-not-a-secret-000")
    result = {"vigia": run_vigia, "pandas": run_pandas, "gate": run_gate}[kind](db, out)
    result["peak_mb"] = _peak_mb()
    print("RESULT " + json.dumps(result))


# ----------------------------------------------------------------------------- parent
def generate(workdir: Path, beneficiaries: int, guias: int, eventos: int) -> tuple[Path, dict]:
    from vigia.sample_data import regulation as sample

    db = workdir / f"regulation_{beneficiaries}_{guias}_{eventos}.duckdb"
    meta = db.with_suffix(".json")
    if db.exists() and meta.exists():
        return db, json.loads(meta.read_text())
    t0 = time.perf_counter()
    counts = sample.generate(db, beneficiaries, guias, END, seed=7, events_per_beneficiary=eventos / beneficiaries)
    counts["generate_seconds"] = round(time.perf_counter() - t0, 1)
    meta.write_text(json.dumps(counts))
    return db, counts


def measure(kind: str, db: Path, workdir: Path) -> dict:
    out = workdir / f"{kind}_{db.stem}.parquet"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'include'}:{ROOT}"}
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--db", str(db), "--out", str(out)],
                          capture_output=True, text=True, env=env)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"failed": True, "returncode": proc.returncode, "error": " | ".join(tail)}
    result = json.loads(line[0][len("RESULT "):])
    result["out"] = str(out)
    return result


def same_on_sample(a: str, b: str, rows: int) -> str:
    import pandas as pd

    left, right = pd.read_parquet(a), pd.read_parquet(b)
    if len(left) != len(right) or (left["id_guia"].to_numpy() != right["id_guia"].to_numpy()).any():
        return f"DIFFERENT row sets ({len(left)} vs {len(right)})"
    pick = left.sample(n=min(rows, len(left)), random_state=0).index
    pd.testing.assert_frame_equal(left.loc[pick].reset_index(drop=True), right.loc[pick].reset_index(drop=True))
    return f"identical on {len(pick):,} random guias (all {left.shape[1]} columns)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beneficiaries", type=int, default=500_000)
    p.add_argument("--guias", type=int, default=1_000_000)
    p.add_argument("--eventos", type=int, default=10_000_000)
    p.add_argument("--pandas-guias", type=int, default=None,
                   help="size for the pandas comparison if it cannot hold the full size (default: full size)")
    p.add_argument("--check-rows", type=int, default=20_000)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/vigia_bench_regulation"))
    p.add_argument("--no-gate", action="store_true", help="do not measure gate_source")
    p.add_argument("--child", choices=["vigia", "pandas", "gate"])
    p.add_argument("--db", type=Path)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.child:
        child(args.child, args.db, args.out)
        return 0

    args.workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VIGIA_DATA_DIR", str(args.workdir / "data"))
    sizes = [(args.beneficiaries, args.guias, args.eventos)]
    if args.pandas_guias and args.pandas_guias != args.guias:
        f = args.pandas_guias / args.guias
        sizes.append((int(args.beneficiaries * f), args.pandas_guias, int(args.eventos * f)))
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    print(f"uptime at start: {_uptime()}", flush=True)
    rows, gates = [], []
    for i, (b, g, e) in enumerate(sizes):
        db, counts = generate(args.workdir, b, g, e)
        label = f"{counts['guias']:,} guias, {counts['eventos']:,} eventos, {counts['beneficiarios']:,} beneficiários"
        print(f"data: {label} (generated in {counts.get('generate_seconds', '?')} s) -> {db}", flush=True)
        vig = measure("vigia", db, args.workdir)
        print(f"  vigia:  {vig}", flush=True)
        run_pandas_here = i > 0 or not args.pandas_guias or args.pandas_guias == args.guias
        pan = measure("pandas", db, args.workdir) if run_pandas_here else {"skipped": True}
        print(f"  pandas: {pan}", flush=True)
        check = same_on_sample(vig["out"], pan["out"], args.check_rows) \
            if not vig.get("failed") and "out" in pan else "-"
        rows.append((label, vig, pan, check, os.getloadavg()[0]))
        if i == 0 and not args.no_gate:
            gate = measure("gate", db, args.workdir)
            print(f"  gate_source: {gate}", flush=True)
            gates.append((label, gate))
    print("\n| data | implementation | seconds | peak RSS | time ratio | memory ratio | same results |")
    print("|---|---|---:|---:|---:|---:|---|")
    for label, vig, pan, check, _ in rows:
        print(f"| {label} | Vigia (DuckDB SQL) | {vig.get('seconds', float('nan')):.1f} | "
              f"{vig.get('peak_mb', float('nan')):,.0f} MB | 1 | 1 | {check} |")
        if pan.get("skipped"):
            continue
        if pan.get("failed"):
            print(f"| {label} | pandas | failed ({pan['error'][:80]}) | | | | |")
            continue
        print(f"| {label} | pandas (load {pan['load_seconds']:.1f} s + compute) | {pan['seconds']:.1f} | "
              f"{pan['peak_mb']:,.0f} MB | {pan['seconds'] / vig['seconds']:.1f}x | "
              f"{pan['peak_mb'] / vig['peak_mb']:.1f}x | |")
    for label, gate in gates:
        if gate.get("failed"):
            print(f"\ngate_source on {label}: failed ({gate['error'][:120]})")
        else:
            print(f"\ngate_source on {label}: {gate['seconds']:.1f} s, peak RSS {gate['peak_mb']:,.0f} MB, "
                  f"success={gate['success']}, {gate['kept']:,} guias kept, {gate['quarantined']:,} quarantined "
                  f"(plus {gate['gx_setup_seconds']:.1f} s importing great-expectations, not timed)")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}; uptime at end: {_uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
