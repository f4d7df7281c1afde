-- The single pass of the SQL ingestion over one system's landed files for one competência (DuckDB):
-- normalise + check every row + aggregate, in one GROUP BY. Run by vigia.sus.ingest_sql, which
-- prepends the normalisation query as the CTE `normalizado` (normalise_sia.sql / normalise_sih.sql)
-- and keeps the result in a temporary table; the staged production, the quarantine and the
-- per-file counts are all read from that (small) table, so the landed files are read once.
-- Inputs:
--   normalizado   the rows of normalise_<system>.sql: PRODUCTION_COLUMNS + municipio_estabelecimento,
--                 mes_processamento, uf, arquivo, linha, problema (NULL for a good row)
--   faixas_idade  idade -> faixa: ingest_sql.age_bands(targets), ages 0..150
-- Output, one row per group:
--   * a good SIA row is summed into its group (arquivo, competencia, cnes, procedimento truncated to
--     :comprimento digits, municipio_residencia, faixa de idade). The cube only compares
--     substr(procedimento, 1, L) with target prefixes of L <= :comprimento digits and the age with
--     target bounds; with faixa = the largest band start <= idade (see ingest_sql.age_bands) every
--     such comparison gives the same answer as on the row, so the cube is exactly the same.
--   * a good row of a system read row by row (:linha_a_linha, SIH: one AIH per row, n_aih counted by
--     the cube), and every bad row, stay one row each (linha in the key): nothing is dropped.
-- linhas = the number of landed rows in the group.
-- Bind variables: :comprimento (INTEGER), :linha_a_linha (BOOLEAN)
SELECT
    n.arquivo,
    any_value(n.uf)                                   AS uf,
    n.competencia,
    any_value(n.sistema)                              AS sistema,
    n.cnes,
    CASE WHEN n.problema IS NULL AND NOT :linha_a_linha THEN substr(n.procedimento, 1, :comprimento)
         ELSE n.procedimento END                      AS procedimento,
    n.municipio_residencia,
    CASE WHEN n.problema IS NULL AND NOT :linha_a_linha THEN coalesce(f.faixa, n.idade)
         ELSE n.idade END                             AS idade,
    CASE WHEN n.problema IS NOT NULL OR :linha_a_linha THEN n.linha END AS linha,
    n.problema,
    count(*)                                          AS linhas,
    sum(n.quantidade)                                 AS quantidade,
    sum(n.valor)                                      AS valor,
    any_value(n.n_aih)                                AS n_aih,
    any_value(n.municipio_estabelecimento)            AS municipio_estabelecimento,
    any_value(n.mes_processamento)                    AS mes_processamento
FROM normalizado n
LEFT JOIN faixas_idade f ON f.idade = n.idade
GROUP BY ALL
