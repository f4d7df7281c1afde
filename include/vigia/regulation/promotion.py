"""Champion / challenger on the temporal holdout.

The holdout is the most recent month of the training window; no candidate saw it in training.
Every candidate and the current champion are scored on it. The *challenger* is the candidate
with the highest holdout kappa (ties: the name that sorts first). The rule::

    promote  <=>  DQ gates passed
                  and (there is no champion
                       or the champion cannot score this data
                       or kappa(challenger) - kappa(champion) > margin)

Kappa (not accuracy) decides because it discounts the agreement expected by chance: on a
70/30 data set a model that always says "autorizado" has 70% accuracy and kappa 0. The margin
(default 0.01, the DAG's ``promotion_margin`` Param) keeps the champion when the difference is
within noise, so the decisions DAG does not switch models every month for nothing.
Every candidate gets an outcome with a reason (Portuguese, stored in ``regulation_model_runs``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_MARGIN = 0.01
EPSILON = 1e-9  # 0.80 - 0.78 is 0.0200000000000000018 in floating point: not "more than" a 0.02 margin
METRIC = "kappa"


@dataclass
class Outcome:
    model: str
    holdout_kappa: float | None
    promoted: bool
    reason: str


@dataclass
class Decision:
    promoted: str | None                # the candidate promoted, or None (the champion stays)
    challenger: str | None
    champion_version: str | None
    champion_kappa: float | None
    margin: float
    outcomes: list[Outcome]

    @property
    def reason(self) -> str:
        best = next((o for o in self.outcomes if o.model == self.challenger), None)
        return best.reason if best else "nenhum candidato"

    def as_dict(self) -> dict:
        out = asdict(self)
        out["reason"] = self.reason
        return out

    def outcome(self, model: str) -> Outcome:
        return next(o for o in self.outcomes if o.model == model)


def decide(holdout: dict[str, dict], *, champion_version: str | None, champion_metrics: dict | None,
           margin: float = DEFAULT_MARGIN, dq_passed: bool = True, dq_message: str = "",
           champion_error: str | None = None) -> Decision:
    """Decide the promotion from each candidate's holdout metrics (``{model: {'kappa': ...}}``)."""
    if margin < 0:
        raise ValueError(f"promotion margin must be >= 0; got {margin}")
    kappas = {m: float(v[METRIC]) for m, v in holdout.items()}
    challenger = min(kappas, key=lambda m: (-kappas[m], m)) if kappas else None
    champion_kappa = float(champion_metrics[METRIC]) if champion_metrics else None
    outcomes = []
    promoted = None
    for model in sorted(kappas):
        k = kappas[model]
        if not dq_passed:
            ok, reason = False, f"não promovido: os gates de qualidade falharam ({dq_message or 'ver dq_results'})"
        elif model != challenger:
            ok, reason = False, (f"não promovido: {challenger} teve kappa maior no holdout "
                                 f"({kappas[challenger]:.4f} contra {k:.4f})")
        elif champion_version is None:
            ok, reason = True, f"promovido: primeiro modelo, não havia campeão (kappa no holdout {k:.4f})"
        elif champion_kappa is None:
            ok, reason = True, (f"promovido: o campeão {champion_version} não conseguiu avaliar o holdout "
                                f"({champion_error or 'sem métricas'}); kappa do desafiante {k:.4f}")
        elif k - champion_kappa > margin + EPSILON:
            ok, reason = True, (f"promovido: kappa no holdout {k:.4f} supera o do campeão {champion_version} "
                                f"({champion_kappa:.4f}) por mais que a margem {margin:.4f}")
        else:
            ok, reason = False, (f"não promovido: kappa no holdout {k:.4f} não supera o do campeão "
                                 f"{champion_version} ({champion_kappa:.4f}) por mais que a margem {margin:.4f}; "
                                 f"o campeão continua")
        if ok:
            promoted = model
        outcomes.append(Outcome(model, k, ok, reason))
    return Decision(promoted, challenger, champion_version, champion_kappa, margin, outcomes)
