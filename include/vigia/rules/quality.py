"""The data-quality gate on a batch of pending requests (``regulation_requests``).

* the columns the engine needs exist; id_guia is unique (a duplicate fails the run);
* row level, with a tolerance (``mostly = 1 - tolerance``): a beneficiary id is
  present, the procedure code is in the catalogue, ``data_solicitacao`` falls in the
  run's interval [inicio, fim). Flagged rows are quarantined (kept with the reason in
  ``dq_quarantine``), counted, and not decided; beyond the tolerance the run fails.
"""

from __future__ import annotations

from datetime import datetime

from vigia.dq import Suite

DEFAULT_TOLERANCE = 0.05
BATCH_COLUMNS = ["id_guia", "beneficiario", "momento_solicitacao", "procedimento", "valor"]


def batch_suite(codes: list[str], inicio: datetime, fim: datetime, tolerance: float = DEFAULT_TOLERANCE) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        mostly = 1.0 - tolerance
        out = [e.ExpectColumnToExist(column=c) for c in BATCH_COLUMNS]
        out += [
            e.ExpectColumnValuesToBeUnique(column="id_guia"),
            e.ExpectColumnValuesToNotBeNull(column="id_guia"),
            e.ExpectColumnValuesToNotBeNull(column="beneficiario", mostly=mostly),
            e.ExpectColumnValuesToBeInSet(column="procedimento", value_set=sorted(codes), mostly=mostly),
            e.ExpectColumnValuesToNotBeNull(column="momento_solicitacao", mostly=mostly),
            e.ExpectColumnValuesToBeBetween(column="momento_solicitacao", min_value=inicio, max_value=fim,
                                            strict_max=True, mostly=mostly),
        ]
        return out

    return Suite("regulation_requests", build,
                 "pending requests: unique ids, beneficiary present, known procedure, date in the interval")
