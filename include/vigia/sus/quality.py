"""Data-quality suites of the SUS pipeline, in code (great-expectations).

Gates sit between ingestion -> cubes -> scores:

* Row level, once, in SQL (``include/sql/sus/normalise_*.sql``, or
  ``datasus.code_problems`` for CSV/.dbc): code formats (7-digit CNES,
  10-digit procedure, 6-digit municipality, AAAAMM competência), numbers
  present and not negative, the processing window. A bad row goes to the
  quarantine with its problem; nothing is dropped.
* ``sus_ingest_files``: on the per-file summary (rows, bad, bad_share,
  bad_by_rule, examples): the share of quarantined rows stays under
  ``max_bad_share`` (default 1%), else the run fails naming the file, the
  counts per broken rule and examples.
* ``sus_quarantine``: on the first ``QUARANTINE_SAMPLE`` quarantined rows:
  each names its file, row and problem.
* ``sus_ingest``: on the staged production summarised per system x
  competência x municipality of residence (``production_summary.sql``):
  required columns, 6-digit municipality, non-negative quantities and values,
  a population for every municipality of residence (``municipio_sem_populacao``:
  the municipality where the IBGE table has none for the competência's year, else
  null; its failure lists those municipalities).
* ``sus_population``: on ``IBGE/populacao.csv``: 6-digit municipality, a year, a population
  that is a positive integer, one row per municipality x year; its failure names the file's lines
  (a zero or blank population would turn every empirical-Bayes rate of its target and month into NaN).
* ``sus_registry``: the establishments with production are in the CNES registry of the competência
  (per UF its ST file of the month, else the latest earlier one), up to the bad-share threshold.
* ``sus_cube``: the cube has rows, keys are not null, money is not negative.
* ``sus_ranking``: ranks are 1..n without gaps, excess is not negative.
"""

from __future__ import annotations

from vigia.dq import Suite

DEFAULT_MAX_BAD_SHARE = 0.01
# quarantined rows great-expectations looks at (all of them stay in the quarantine)
QUARANTINE_SAMPLE = 1_000
SUMMARY_REQUIRED = ["competencia", "sistema", "municipio_residencia", "linhas", "estabelecimentos",
                    "quantidade_min", "valor_min", "municipio_sem_populacao"]


def ingest_suite() -> Suite:
    """On ``production_summary`` (one row per system x competência x municipality of residence) with
    ``municipio_sem_populacao`` (:func:`vigia.sus.pipeline.with_population_coverage`).

    Population coverage is a null check on that column rather than ``ExpectColumnValuesToBeInSet``
    with the 5,570 municipalities: great-expectations copies an expectation's arguments each time it
    reads its configuration, and a value set that long cost ~0.6 s of the gate (dq_ingest 4.9 -> 4.3 s at
    national shape, 3.9 -> 3.2 s at 5M rows: docs/benchmarks.md)."""
    def build():
        import great_expectations as gx

        e = gx.expectations
        out = [e.ExpectColumnToExist(column=c) for c in SUMMARY_REQUIRED]
        out += [
            e.ExpectTableRowCountToBeBetween(min_value=1),
            e.ExpectColumnValuesToMatchRegex(column="municipio_residencia", regex=r"^\d{6}$"),
            e.ExpectColumnValuesToNotBeNull(column="competencia"),
            e.ExpectColumnValuesToBeBetween(column="quantidade_min", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="valor_min", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="linhas", min_value=1),
            e.ExpectColumnValuesToBeNull(column="municipio_sem_populacao"),
        ]
        return out

    return Suite("sus_ingest", build, "staged production per municipality: codes, money, population coverage")


def population_suite() -> Suite:
    """On the IBGE population table as read (``datasus.read_population``: municipio, ano, populacao)."""
    def build():
        import great_expectations as gx

        e = gx.expectations
        out = [e.ExpectColumnToExist(column=c) for c in ("municipio", "ano", "populacao")]
        out += [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("municipio", "ano", "populacao")]
        out += [
            e.ExpectTableRowCountToBeBetween(min_value=1),
            e.ExpectColumnValuesToMatchRegex(column="municipio", regex=r"^\d{6}$"),
            e.ExpectColumnValuesToBeBetween(column="populacao", min_value=1),
            e.ExpectCompoundColumnsToBeUnique(column_list=["municipio", "ano"]),
        ]
        return out

    return Suite("sus_population", build,
                 "IBGE/populacao.csv: codes, positive population, one row per municipality x year")


def quarantine_suite() -> Suite:
    """On a bounded sample of the quarantined rows: each names its file, row and problem."""
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("dq_reason", "arquivo", "linha")]

    return Suite("sus_quarantine", build, f"quarantined rows (first {QUARANTINE_SAMPLE:,}) carry file, row, reason")


def files_suite(max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [e.ExpectColumnValuesToBeBetween(column="bad_share", min_value=0, max_value=max_bad_share)]

    return Suite("sus_ingest_files", build, f"quarantined share per file <= {max_bad_share:.1%}")


def registry_suite(max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> Suite:
    """On :func:`vigia.sus.pipeline.registry_coverage` (one row per establishment with production): at most
    ``max_bad_share`` of them missing from the CNES registry. A UF with no ST file fails it; a few
    establishments newer than the registry's month pass, named in the report's notes."""
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [e.ExpectColumnValuesToBeNull(column="cnes_sem_cadastro", mostly=1 - max_bad_share)]

    return Suite("sus_registry", build,
                 f"establishments with production in the CNES registry (missing <= {max_bad_share:.1%})")


def cube_suite() -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        out = [e.ExpectTableRowCountToBeBetween(min_value=1)]
        out += [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("cnes", "municipio", "alvo", "competencia")]
        out += [e.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("quantidade", "valor")]
        return out

    return Suite("sus_cube", build, "cube keys and money")


def ranking_suite(n: int) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [
            e.ExpectColumnValuesToBeUnique(column="rank"),
            e.ExpectColumnValuesToBeBetween(column="rank", min_value=1, max_value=max(n, 1)),
            e.ExpectColumnValuesToBeUnique(column="cnes"),
            e.ExpectColumnValuesToBeBetween(column="excesso_valor", min_value=0),
        ]

    return Suite("sus_ranking", build, "ranks 1..n, excess not negative")
