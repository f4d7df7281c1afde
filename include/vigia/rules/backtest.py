"""Backtest: run a ruleset over historical requests that humans decided, and compare.

Definitions (``H`` = the human decision, ``autorizado`` or ``negado``; an engine
outcome maps to ``autorizado`` for ``autorizar`` and to ``negado`` for ``negar`` and
``bloquear``; ``analise_tecnica`` is not an automatic decision):

* ``taxa_automacao`` = requests whose outcome is not ``analise_tecnica`` / requests.
* ``concordancia`` (overall) = automated requests whose outcome maps to H / automated requests.
* ``valor_negado`` = sum of the requested procedure's catalogue ``valor`` over requests
  the ruleset denies or blocks.
* per rule, over the requests where it **fired** (whether or not it won):
  ``disparos``; ``concordancias`` / ``discordancias`` = its own outcome agrees / disagrees
  with H (only for rules that decide: autorizar, negar, bloquear); ``concordancia`` =
  concordancias / disparos. Also ``decisoes`` (requests it won) and ``valor_negado`` of those.
* the rules that disagree most = decided rules ordered by ``discordancias`` (then id).

A regulator runs this on a new rule before switching it on: a rule that fires often
and disagrees often with the human regulators is a rule to rethink.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import pandas as pd

from vigia.rules import engine, policy
from vigia.rules.ruleset import Ruleset

HUMAN = {"autorizar": "autorizado", "negar": "negado", "bloquear": "negado"}
TOTAL_ID = "(total)"
RULE_COLUMNS = ["id_regra", "resultado_regra", "disparos", "decisoes", "concordancias", "discordancias",
                "concordancia", "valor_negado"]


@dataclass
class Backtest:
    version: str
    inicio: date
    fim: date
    solicitacoes: int
    automatizadas: int
    concordancias: int
    valor_negado: float
    por_resultado: dict
    por_regra: pd.DataFrame

    @property
    def taxa_automacao(self) -> float | None:
        return self.automatizadas / self.solicitacoes if self.solicitacoes else None

    @property
    def concordancia(self) -> float | None:
        return self.concordancias / self.automatizadas if self.automatizadas else None

    def piores(self, n: int = 5) -> pd.DataFrame:
        decided = self.por_regra[self.por_regra["resultado_regra"] != "analise_tecnica"]
        worst = decided[decided["discordancias"] > 0]
        return worst.sort_values(["discordancias", "id_regra"], ascending=[False, True]).head(n)

    def rows(self) -> pd.DataFrame:
        """Rows of the ``rule_backtests`` table (one per rule, plus the total)."""
        total = pd.DataFrame([{
            "id_regra": TOTAL_ID, "resultado_regra": None, "disparos": None, "decisoes": self.solicitacoes,
            "concordancias": self.concordancias, "discordancias": self.automatizadas - self.concordancias,
            "concordancia": self.concordancia, "valor_negado": self.valor_negado}])
        out = pd.concat([total, self.por_regra[RULE_COLUMNS]], ignore_index=True)
        out["solicitacoes"] = self.solicitacoes
        out["automatizadas"] = self.automatizadas
        out["taxa_automacao"] = self.taxa_automacao
        return out

    def text(self) -> str:
        pct = lambda x: "-" if x is None or pd.isna(x) else f"{100 * x:.1f}%"  # noqa: E731
        lines = [
            f"Backtest do conjunto de regras {self.version}: solicitações de {self.inicio} a {self.fim} (fim exclusivo)",
            f"  solicitações com decisão humana: {self.solicitacoes}",
            f"  automação (sem análise técnica): {self.automatizadas} ({pct(self.taxa_automacao)})",
            "  resultados: " + ", ".join(f"{k} {v}" for k, v in self.por_resultado.items()),
            f"  concordância com a decisão humana (automatizadas): {self.concordancias} de {self.automatizadas} "
            f"({pct(self.concordancia)})",
            f"  valor negado ou bloqueado: R$ {self.valor_negado:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
            "",
            "Por regra (sobre as solicitações em que disparou):",
            f"  {'regra':<10} {'resultado':<16} {'disparos':>8} {'decisões':>8} {'concord.':>9} {'discord.':>8} {'% concord.':>10}",
        ]
        for r in self.por_regra.itertuples():
            lines.append(f"  {r.id_regra:<10} {r.resultado_regra:<16} {r.disparos:>8} {r.decisoes:>8} "
                         f"{'' if pd.isna(r.concordancias) else int(r.concordancias):>9} "
                         f"{'' if pd.isna(r.discordancias) else int(r.discordancias):>8} {pct(r.concordancia):>10}")
        worst = self.piores()
        lines.append("")
        if len(worst):
            lines.append("Regras que mais discordam dos reguladores:")
            for r in worst.itertuples():
                lines.append(f"  {r.id_regra}: {int(r.discordancias)} discordância(s) em {r.disparos} disparo(s) "
                             f"({pct(1 - r.concordancia)} de discordância)")
        else:
            lines.append("Nenhuma regra discorda dos reguladores no período.")
        return "\n".join(lines)


def summarise(rs: Ruleset, result: engine.Result, inicio: date, fim: date) -> Backtest:
    dec = result.decisions.merge(result.requests[["id_guia", "decisao", "valor"]], on="id_guia", how="left")
    automated = dec["resultado"] != policy.NO_RULE_OUTCOME
    agree = dec["resultado"].map(HUMAN) == dec["decisao"]
    denied = dec["resultado"].isin(["negar", "bloquear"])
    fired = result.fired.merge(result.requests[["id_guia", "decisao", "valor"]], on="id_guia", how="left")
    fired["decide"] = fired["resultado"].isin(list(HUMAN))
    fired["agree"] = fired["resultado"].map(HUMAN) == fired["decisao"]
    rows = []
    for rule in rs.rules:
        f = fired[fired["regra"] == rule.id]
        won = dec[dec["regra"] == rule.id]
        decides = rule.resultado in HUMAN
        agreeing = int(f["agree"].sum()) if decides else None
        rows.append({
            "id_regra": rule.id, "resultado_regra": rule.resultado, "disparos": len(f), "decisoes": len(won),
            "concordancias": agreeing, "discordancias": (len(f) - agreeing) if decides else None,
            "concordancia": (agreeing / len(f)) if decides and len(f) else None,
            "valor_negado": float(won.loc[won["resultado"].isin(["negar", "bloquear"]), "valor"].sum()),
        })
    por_regra = pd.DataFrame(rows, columns=RULE_COLUMNS)
    for col in ("concordancias", "discordancias"):
        por_regra[col] = por_regra[col].astype("Int64")
    por_regra["concordancia"] = por_regra["concordancia"].astype("Float64")
    counts = dec["resultado"].value_counts()
    return Backtest(
        version=rs.version, inicio=inicio, fim=fim, solicitacoes=len(dec), automatizadas=int(automated.sum()),
        concordancias=int((automated & agree).sum()), valor_negado=float(np.round(dec.loc[denied, "valor"].sum(), 2)),
        por_resultado={k: int(counts.get(k, 0)) for k in ("autorizar", "negar", "bloquear", "analise_tecnica")},
        por_regra=por_regra)


def run(rs: Ruleset, source, inicio: date, fim: date) -> Backtest:
    """Backtest ``rs`` on the guias decided by humans with data_solicitacao in [inicio, fim)."""
    result = engine.evaluate(source, rs.rules, datetime.combine(inicio, time()), datetime.combine(fim, time()),
                             pendentes=False)
    return summarise(rs, result, inicio, fim)
