-- The event history a ruleset's functions read, with the catalogue fields they filter on.
-- DuckDB and PostgreSQL. Used by the SQL engine (as a CTE) and the reference interpreter.
SELECT
    e.id_beneficiario,
    e.codigo_procedimento,
    e.data_realizacao,
    CAST(e.valor AS DOUBLE PRECISION) AS valor,
    p.grupo,
    p.nivel_complexidade
FROM eventos e
LEFT JOIN procedimentos p ON p.codigo_procedimento = e.codigo_procedimento
