"""Benchmark: the Ymir SQL engine vs the row-at-a-time reference interpreter, same rules, same data.

    python bench/rules_engine.py                      # 1M requests, ~10M events, 200 rules
    python bench/rules_engine.py --requests 100000 --beneficiaries 50000   # a quick run

* Data: ``vigia.sample_data.regulation.generate`` (beneficiaries x events_per_beneficiary events),
  written once to ``--data`` (reused when it already has the requested size).
* Rules: the shipped ``include/rules/`` plus generated rules up to ``--rules`` (200), most of them
  with history functions (quantidade / valor_total / ultima_realizacao over the same procedure, given
  codes, groups, the same complexity level, any procedure, windows of 7..365 days, since adesão, whole life).
* Engine: ``vigia.rules.engine.evaluate`` end to end, from the source tables to decisions, every
  fired rule and its explanation, in a fresh child process (peak RSS measured there).
* Interpreter: ``vigia.rules.interpreter`` on a subset (the requests of ``--subset-days`` days),
  reading only those beneficiaries' events, in another child process; its rate is extrapolated to
  the full stream. The subset's decisions are checked equal to the engine's.
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
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

END = date(2026, 11, 1)
WINDOWS = [7, 30, 90, 182, 365]


def bench_rules(folder: Path, total: int) -> int:
    """Shipped rules + generated ones up to ``total``; returns the number of rules."""
    import shutil

    from vigia.sample_data.regulation import catalogue

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for f in (ROOT / "include" / "rules").glob("*.yaml"):
        shutil.copy(f, folder / f.name)
    from vigia.rules.ruleset import load

    have = len(load(folder).rules)
    cat = catalogue()
    codes = cat["codigo_procedimento"].tolist()
    groups = sorted(cat["grupo"].unique())
    templates = [
        ('procedimento = "{c}" e quantidade(mesmo procedimento, últimos {w} dias) >= {k}', "negar"),
        ('procedimento = "{c}" e quantidade(beneficiário, procedimento, data_solicitacao - {w} dias, '
         'data_solicitacao) >= {k} e idade >= {a}', "analise_tecnica"),
        ('quantidade(procedimento "{c}", últimos {w} dias) >= {k} e procedimento em grupo "{g}"', "negar"),
        ('valor_total(grupo "{g}", últimos {w} dias) > {v} e valor >= {v2}', "analise_tecnica"),
        ('quantidade(mesma complexidade, últimos {w} dias) >= {k} e nivel_complexidade >= {n}', "analise_tecnica"),
        ('ultima_realizacao(mesmo procedimento) < {w} e procedimento = "{c}" e não especial', "negar"),
        ('valor_total(qualquer procedimento, desde a adesão) > {v} e tipo de guia = "{t}" e idade < {a}', "bloquear"),
        ('quantidade(grupo "{g}", toda a vida) >= {k} e sexo = "{s}" e dias_de_adesao > {d}', "autorizar"),
        ('idade >= {a} e idade <= {a2} e procedimento em ["{c}", "{c2}"] e anexo contém "{kw}"', "analise_tecnica"),
    ]
    lines = ["area: benchmark", "regras:"]
    kws = ["urgência", "oncológico", "judicial", "laudo", "retorno"]
    types = ["consulta", "sadt", "internacao", "odontologia"]
    for i in range(total - have):
        text, outcome = templates[i % len(templates)]
        j = i // len(templates)
        cond = text.format(c=codes[(i * 7) % len(codes)], c2=codes[(i * 11 + 3) % len(codes)],
                           g=groups[(i * 5) % len(groups)], w=WINDOWS[j % len(WINDOWS)] + (i % 3),
                           k=1 + (i % 4), a=10 + (i * 3) % 60, a2=30 + (i * 3) % 60, v=500 + 250 * (i % 40),
                           v2=50 * (1 + i % 10), n=1 + i % 4, t=types[i % 4], s="MF"[i % 2], d=30 * (1 + i % 12),
                           kw=kws[i % len(kws)])
        lines += [f"  - id: B-{i:03d}", f"    descricao: regra gerada {i}", f"    condicao: '{cond}'",
                  f"    resultado: {outcome}", f"    mensagem: Regra gerada {i}.", f"    prioridade: {i % 50}",
                  "    vigencia: {inicio: 2024-01-01, fim: null}", "    autor: benchmark"]
    (folder / "benchmark.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(load(folder).rules)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_engine(args) -> dict:
    from vigia.rules import engine
    from vigia.rules.ruleset import load

    from vigia.rules import compiler

    rules = load(args.rules_dir).rules
    t0 = time.perf_counter()
    # exactly engine.evaluate, with the SQL part and the NumPy/Arrow part timed apart
    compiled, frame = engine.run_query(f"duckdb:///{Path(args.data).as_posix().lstrip('/')}", rules,
                                       datetime(2000, 1, 1), datetime(2100, 1, 1), pendentes=False)
    t1 = time.perf_counter()
    decisions, fired = engine.resolve(rules, frame, compiled.rule_columns, compiled.value_columns)
    result = engine.Result(decisions, fired, frame[list(compiler.KEY_COLUMNS)].copy())
    seconds = time.perf_counter() - t0
    sql_seconds = t1 - t0
    counts = result.decisions["resultado"].value_counts().to_dict()
    sub = _subset_window(args)
    mask = (result.requests["momento_solicitacao"] >= sub[0]) & (result.requests["momento_solicitacao"] < sub[1])
    ids = set(result.requests.loc[mask, "id_guia"])
    d = result.decisions[result.decisions["id_guia"].isin(ids)]
    f = result.fired[result.fired["id_guia"].isin(ids)]
    subset = {"decisions": sorted(map(list, d[["id_guia", "resultado"]].astype(str).values.tolist())),
              "fired": len(f), "why_sample": sorted(f["porque"].astype(str).tolist())[:50]}
    return {"seconds": seconds, "sql_seconds": sql_seconds, "requests": len(result.decisions),
            "fired_pairs": len(result.fired),
            "outcomes": {k: int(v) for k, v in counts.items()}, "peak_mib": _peak_mib(), "subset": subset}


def _subset_window(args) -> tuple[datetime, datetime]:
    end = datetime.combine(END, datetime.min.time()) - timedelta(days=30)
    return end - timedelta(days=args.subset_days), end


def phase_interpreter(args) -> dict:
    import duckdb

    from vigia import sql as sqlfiles
    from vigia.rules import interpreter
    from vigia.rules.ruleset import load

    rules = load(args.rules_dir).rules
    lo, hi = _subset_window(args)
    t0 = time.perf_counter()
    with duckdb.connect(args.data, read_only=True) as con:
        guias = con.execute(sqlfiles.to_driver(sqlfiles.load("rules/raw_guias.sql"), "duckdb"),
                            {"inicio": lo, "fim": hi, "pendentes": False}).df()
        procs = con.execute("SELECT * FROM procedimentos").df()
        benef = con.execute("SELECT * FROM beneficiarios WHERE id_beneficiario IN "
                            "(SELECT id_beneficiario FROM guias WHERE data_solicitacao >= ? AND data_solicitacao < ?)",
                            [lo, hi]).df()
        events = con.execute("SELECT id_beneficiario, codigo_procedimento, data_realizacao, valor FROM eventos "
                             "WHERE id_beneficiario IN (SELECT id_beneficiario FROM guias "
                             "WHERE data_solicitacao >= ? AND data_solicitacao < ?)", [lo, hi]).df()
    requests = interpreter.build_requests(guias, benef, procs)
    by_ben = interpreter.events_by_beneficiary(events, procs)
    loaded = time.perf_counter() - t0
    decisions, fired = interpreter.evaluate_frames(rules, requests, by_ben)
    seconds = time.perf_counter() - t0
    subset = {"decisions": sorted(map(list, decisions[["id_guia", "resultado"]].astype(str).values.tolist())),
              "fired": len(fired), "why_sample": sorted(fired["porque"].astype(str).tolist())[:50]}
    return {"seconds": seconds, "load_seconds": loaded, "requests": len(decisions), "events_read": len(events),
            "peak_mib": _peak_mib(), "subset": subset}


def child(phase: str, args) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--data", args.data, "--rules-dir", str(args.rules_dir),
           "--subset-days", str(args.subset_days)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--beneficiaries", type=int, default=500_000)
    p.add_argument("--events-per-beneficiary", type=float, default=20.0)
    p.add_argument("--rules", type=int, default=200)
    p.add_argument("--subset-days", type=int, default=2)
    p.add_argument("--data", default=str(ROOT / "data" / "bench" / "regulation_bench.duckdb"))
    p.add_argument("--rules-dir", type=Path, default=ROOT / "data" / "bench" / "rules_bench")
    p.add_argument("--phase", choices=["engine", "interpreter"], default=None)
    args = p.parse_args()
    if args.phase == "engine":
        print(json.dumps(phase_engine(args), default=str))
        return 0
    if args.phase == "interpreter":
        print(json.dumps(phase_interpreter(args), default=str))
        return 0

    import duckdb

    from vigia.sample_data import regulation as sample

    data = Path(args.data)
    size = None
    if data.exists():
        with duckdb.connect(str(data), read_only=True) as con:
            size = con.execute("SELECT (SELECT COUNT(*) FROM guias), (SELECT COUNT(*) FROM eventos)").fetchone()
    if size is None or size[0] != args.requests:
        t0 = time.perf_counter()
        sample.generate(data, args.beneficiaries, args.requests, END, seed=7,
                        events_per_beneficiary=args.events_per_beneficiary)
        print(f"generated in {time.perf_counter() - t0:.0f}s")
        with duckdb.connect(str(data), read_only=True) as con:
            size = con.execute("SELECT (SELECT COUNT(*) FROM guias), (SELECT COUNT(*) FROM eventos)").fetchone()
    n_rules = bench_rules(args.rules_dir, args.rules)
    from vigia.rules import ast
    from vigia.rules.ruleset import load

    rs = load(args.rules_dir)
    funcs = {f for r in rs.rules for f in ast.functions(r.node)}
    with_history = sum(1 for r in rs.rules if ast.functions(r.node))

    eng = child("engine", args)
    itp = child("interpreter", args)
    same = eng["subset"] == itp["subset"]
    eng_rate = eng["requests"] / eng["seconds"]
    itp_rate = itp["requests"] / itp["seconds"]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}; load average now {os.getloadavg()[0]:.2f}")
    print(f"data: {size[0]:,} guias, {size[1]:,} eventos ({data}); {n_rules} rules ({with_history} with history "
          f"functions, {len(funcs)} distinct functions)")
    print(f"engine (SQL, vectorised): {eng['requests']:,} decided requests in {eng['seconds']:.1f}s = "
          f"{eng_rate:,.0f} requests/s (SQL {eng['sql_seconds']:.1f}s, policy + explanations "
          f"{eng['seconds'] - eng['sql_seconds']:.1f}s); {eng['fired_pairs']:,} fired rules with explanations; "
          f"peak RSS {eng['peak_mib']:,.0f} MiB; outcomes {eng['outcomes']}")
    print(f"reference interpreter: {itp['requests']:,} requests ({args.subset_days} days) in {itp['seconds']:.1f}s "
          f"(of which loading {itp['load_seconds']:.1f}s, {itp['events_read']:,} events) = {itp_rate:,.0f} requests/s; "
          f"peak RSS {itp['peak_mib']:,.0f} MiB; extrapolated to the full stream: "
          f"{eng['requests'] / itp_rate / 60:,.1f} min")
    print(f"ratio engine/interpreter: {eng_rate / itp_rate:,.0f}x; subset decisions, fired counts and explanations "
          f"identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
