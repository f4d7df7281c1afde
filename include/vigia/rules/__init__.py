"""Ymir: a rules engine regulators write in near-Portuguese (see docs/rules.md).

* :mod:`~vigia.rules.parser` (lark grammar ``grammar.lark``) -> :mod:`~vigia.rules.ast`
* :mod:`~vigia.rules.ruleset`: YAML rule files, the ruleset version
* :mod:`~vigia.rules.policy`: the conflict policy
* :mod:`~vigia.rules.interpreter`: row-at-a-time reference interpreter (the oracle)
* :mod:`~vigia.rules.compiler` + :mod:`~vigia.rules.engine`: the vectorised SQL engine
* :mod:`~vigia.rules.explain`: why a rule fired
* :mod:`~vigia.rules.linter`, :mod:`~vigia.rules.backtest`, ``python -m vigia.rules``
* :mod:`~vigia.rules.pipeline`, :mod:`~vigia.rules.quality`: the regulation_decisions DAG's steps

No Airflow imports here.
"""
