"""The conflict policy: which of the rules that fired decides a request.

1. Outcome severity: ``bloquear`` > ``negar`` > ``analise_tecnica`` > ``autorizar``.
2. Among rules of the same outcome, the higher ``prioridade`` wins.
3. Then the smaller rule id (text order), so the choice never depends on file order.

A request no rule settles goes to ``analise_tecnica`` with :data:`NO_RULE_MESSAGE`
(and no winning rule). Every rule that fired is recorded, in this order, whoever won.
"""

from __future__ import annotations

from vigia.rules.catalog import OUTCOMES

SEVERITY = {outcome: i for i, outcome in enumerate(OUTCOMES)}   # 0 = strongest
NO_RULE_OUTCOME = "analise_tecnica"
NO_RULE_MESSAGE = "Nenhuma regra se aplicou: a solicitação segue para análise técnica."
AUTOMATED = ("autorizar", "negar", "bloquear")


def sort_key(rule) -> tuple:
    """Smaller is stronger."""
    return (SEVERITY[rule.resultado], -rule.prioridade, rule.id)


def order(rules: list) -> list:
    """Rules in policy order (rank 0 is the strongest)."""
    return sorted(rules, key=sort_key)


def decide(fired: list) -> tuple[str, object | None]:
    """(outcome, winning rule or None) for the rules that fired on one request."""
    if not fired:
        return NO_RULE_OUTCOME, None
    winner = min(fired, key=sort_key)
    return winner.resultado, winner


def outranks(a, b) -> bool:
    """True when rule ``a`` wins over rule ``b`` whenever both fire."""
    return sort_key(a) < sort_key(b)
