"""Model cards: one JSON (machine-readable) and one Markdown (for people) per model version.

A card holds: the version and model, the run and its data window (training and holdout
periods), row counts and class balance, what preprocessing dropped and the gain ratio of every
attribute, cross-validation metrics in both protocols (mean and standard deviation across the
folds), the corrected t-tests, the holdout metrics, the promotion decision with its reason,
library versions and the git commit of the code that trained it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata

from vigia.paths import PROJECT_ROOT
from vigia.regulation.evaluation import METRIC_LABELS, METRICS, PROTOCOL_LABELS, kappa_band
from vigia.regulation.models import LABELS

LIBRARIES = ["scikit-learn", "imbalanced-learn", "numpy", "pandas", "scipy", "skops", "duckdb"]


def library_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The commit of the code that trained the model (``VIGIA_GIT_COMMIT`` overrides, for images without .git)."""
    if os.environ.get("VIGIA_GIT_COMMIT"):
        return os.environ["VIGIA_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def build_card(*, version: str, model: str, run: dict, data: dict, features: dict, cv: dict,
               significance: dict, holdout: dict, outcome: dict, champion_before: str | None) -> dict:
    """The JSON card. ``cv``: protocol -> {metric_mean, metric_std, ...}; ``holdout``: metric -> value."""
    return {
        "version": version,
        "model": model,
        "model_label": LABELS.get(model, model),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": run,
        "data": data,
        "features": features,
        "cross_validation": cv,
        "significance": significance,
        "holdout": {**holdout, **kappa_band(holdout.get("kappa", 0.0))},
        "promotion": {**outcome, "champion_before": champion_before},
        "libraries": library_versions(),
        "git_commit": git_commit(),
    }


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def render_markdown(card: dict) -> str:
    d, run, prom = card["data"], card["run"], card["promotion"]
    lines = [
        f"# Model card: {card['version']}",
        "",
        f"**Modelo:** {card['model_label']} (`{card['model']}`)  ",
        f"**Promovido a campeão:** {'sim' if prom.get('promoted') else 'não'}: {prom.get('reason', '')}  ",
        f"**Campeão anterior:** {prom.get('champion_before') or 'nenhum'}  ",
        f"**Criado em:** {card['created_at']} (run `{run.get('run_id')}`), commit `{card['git_commit']}`",
        "",
        "## Dados",
        "",
        f"- Treino: guias solicitadas em [{d['train_start']}, {d['holdout_start']}): {d['train_rows']} linhas"
        f" ({d['train_authorised']} autorizadas, {d['train_denied']} negadas; {_pct(d['train_share_authorised'])}"
        f" autorizadas){'; amostradas de ' + str(d['train_rows_available']) if d.get('train_rows_available', 0) > d['train_rows'] else ''}",
        f"- Holdout temporal (nunca visto no treino): [{d['holdout_start']}, {d['cutoff']}): {d['holdout_rows']} linhas"
        f" ({_pct(d['holdout_share_authorised'])} autorizadas)",
        f"- Quarentena dos gates de qualidade: {d.get('quarantined', 0)} linhas",
        "",
        "## Atributos",
        "",
        f"Descartados por serem nulos ou constantes: {_listing(card['features'].get('dropped_uninformative'))}.  ",
        f"Descartados por razão de ganho nula: {_listing(card['features'].get('dropped_zero_gain_ratio'))}.  ",
        f"Colunas após a codificação: {card['features'].get('encoded_features')}.",
        "",
        "| Atributo | Tipo | Razão de ganho | Ganho (bits) | Limiar | Mantido |",
        "|---|---|---|---|---|---|",
    ]
    for g in card["features"].get("gain_ratios", []):
        thr = "-" if g.get("threshold") is None else f"{g['threshold']:.4g}"
        lines.append(f"| {g['feature']} | {g['kind']} | {g['gain_ratio']:.4f} | {g['gain']:.4f} | {thr} | "
                     f"{'sim' if g.get('selected') else 'não'} |")
    lines += ["", f"## Validação cruzada estratificada ({run.get('folds')} folds), média ± desvio entre folds", "",
              "| Protocolo | " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " | Faixa Landis-Koch |",
              "|---|" + "---|" * (len(METRICS) + 1)]
    for protocol, row in card["cross_validation"].items():
        cells = [f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}" for m in METRICS]
        lines.append(f"| {PROTOCOL_LABELS.get(protocol, protocol)} | " + " | ".join(cells)
                     + f" | {row.get('landis_koch_pt', '')} |")
    lines += ["", "## Teste t corrigido (Nadeau-Bengio), kappa, 5%", ""]
    for protocol, sig in card["significance"].items():
        lines.append(f"- {PROTOCOL_LABELS.get(protocol, protocol)}: melhor modelo `{sig.get('best')}`")
        for t in sig.get("tests", []):
            verdict = "significativamente melhor" if t["significant"] else "sem diferença significativa"
            lines.append(f"  - `{t['better']}` vs `{t['other']}`: diferença média {t['mean_difference']:+.4f}, "
                         f"t = {t['t']:.3f}, p = {t['p_value']:.4f}: {verdict}")
    h = card["holdout"]
    lines += ["", "## Holdout temporal", "",
              "| " + " | ".join(METRIC_LABELS[m] for m in METRICS) + " | Faixa Landis-Koch |",
              "|" + "---|" * (len(METRICS) + 1),
              "| " + " | ".join(f"{h.get(m, float('nan')):.3f}" for m in METRICS) + f" | {h.get('landis_koch_pt')} |",
              "", "## Bibliotecas", ""]
    lines += [f"- {k}: {v}" for k, v in card["libraries"].items()]
    return "\n".join(lines) + "\n"


def _listing(items) -> str:
    if not items:
        return "nenhum"
    if isinstance(items, dict):
        return ", ".join(f"{k} ({v})" for k, v in items.items())
    return ", ".join(str(i) for i in items)
