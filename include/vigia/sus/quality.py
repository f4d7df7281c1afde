"""Data-quality suites of the SUS pipeline, in code (great-expectations).

Gates sit between ingestion -> cubes -> scores:

* ``sus_ingest``: on the normalised production of the competência, after the
  rows ``datasus.code_problems`` flagged were quarantined: required columns,
  code formats (7-digit CNES, 10-digit procedure, 6-digit municipality),
  non-negative quantities and values, a population for every municipality of
  residence; and on the per-file summary: the share of quarantined rows stays
  under ``max_bad_share`` (default 1%), else the run fails naming the file.
* ``sus_cube``: the cube has rows, keys are not null, money is not negative.
* ``sus_ranking``: ranks are 1..n without gaps, excess is not negative.
"""

from __future__ import annotations

from vigia.dq import Suite

DEFAULT_MAX_BAD_SHARE = 0.01
PRODUCTION_REQUIRED = ["competencia", "sistema", "cnes", "procedimento", "municipio_residencia", "idade",
                       "quantidade", "valor"]


def ingest_suite(population_municipios: list[str]) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        out = [e.ExpectColumnToExist(column=c) for c in PRODUCTION_REQUIRED]
        out += [
            e.ExpectTableRowCountToBeBetween(min_value=1),
            e.ExpectColumnValuesToMatchRegex(column="cnes", regex=r"^\d{7}$"),
            e.ExpectColumnValuesToMatchRegex(column="procedimento", regex=r"^\d{10}$"),
            e.ExpectColumnValuesToMatchRegex(column="municipio_residencia", regex=r"^\d{6}$"),
            e.ExpectColumnValuesToNotBeNull(column="competencia"),
            e.ExpectColumnValuesToBeBetween(column="quantidade", min_value=0),
            e.ExpectColumnValuesToBeBetween(column="valor", min_value=0),
            e.ExpectColumnValuesToBeInSet(column="municipio_residencia", value_set=population_municipios),
        ]
        return out

    return Suite("sus_ingest", build, "normalised production: codes, money, population coverage")


def files_suite(max_bad_share: float = DEFAULT_MAX_BAD_SHARE) -> Suite:
    def build():
        import great_expectations as gx

        e = gx.expectations
        return [e.ExpectColumnValuesToBeBetween(column="bad_share", min_value=0, max_value=max_bad_share)]

    return Suite("sus_ingest_files", build, f"quarantined share per file <= {max_bad_share:.1%}")


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
