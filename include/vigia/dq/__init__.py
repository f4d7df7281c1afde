"""Data-quality gates on great-expectations, shared by every pipeline.

* Suites live in code: a :class:`~vigia.dq.gate.Suite` is a name and a list of
  great-expectations ``Expectation`` objects, built by a function in the
  pipeline's own ``quality`` module.
* :func:`~vigia.dq.gate.validate` runs a suite on a DataFrame (GX ephemeral
  context, nothing written to disk) and returns a :class:`~vigia.dq.gate.Report`.
* :func:`~vigia.dq.results.record` stores every report in the ``dq_results``
  warehouse table, passed or failed.
* :meth:`Report.raise_for_failure` stops the run with a :class:`DataQualityError`
  whose message names the column, the expectation and sample bad values.
* :func:`~vigia.dq.quarantine.split` moves the rows that row-level expectations
  flagged (within the suite's tolerance) out of the data, each with its reason.
"""

from vigia.dq.gate import DataQualityError, Report, Suite, validate

__all__ = ["DataQualityError", "Report", "Suite", "validate"]
