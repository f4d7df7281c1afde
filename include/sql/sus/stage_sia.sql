-- The single pass of the SIA ingestion over one group of landed files (DuckDB): join every row to the
-- dictionaries of its raw values (sia_dicionario_*.sql, dicionario_codigo.sql: each distinct value
-- checked once), sum the good rows to the grain the cube needs, and keep every bad row on its own.
-- Run by vigia.sus.ingest_sia. Inputs:
--   bruto       the landed rows as stored: arquivo_id (DuckDB's file_index), linha (row number in its
--               file), cnes_bruto (PA_CODUNI), cmp_bruto (PA_CMP), mvm_bruto (PA_MVM or NULL), proc_bruto
--               (PA_PROC_ID), munres_bruto (PA_MUNPCN), munest_bruto (PA_UFMUN), idade_bruto (PA_IDADE),
--               quantidade and valor (DOUBLE, NULL when missing or not a number)
--   dic_competencia, dic_idade, dic_cnes, dic_procedimento, dic_municipio_residencia,
--   dic_municipio_estabelecimento   the dictionaries of those columns
-- Output, one row per group, the columns of vigia.sus.dictionaries.PASSAGEM (as stage_sih.sql): arquivo,
-- uf, competencia, sistema, cnes, procedimento, municipio_residencia, idade, linha, problema, ruim
-- (problema IS NOT NULL, from the same parts: each is NULL or a non-empty message), linhas, quantidade,
-- valor, n_aih, municipio_estabelecimento, mes_processamento.
--   * a good row is summed into its group (file and competência, CNES, procedure cut to the dictionary's
--     chave, municipality of residence, age band): the cube compares the same prefixes and age bounds,
--     so it comes out the same as from the rows (see ingest_sql.age_bands);
--   * a bad row, and every row when :linha_a_linha, stays one row with its linha and the exact values,
--     problema saying what is wrong in the order of datasus.code_problems. Nothing is dropped.
-- A row belongs to a competência through dic_competencia (an inner join: the rows of other competências
-- are not read further). NULL raw codes are bad (they are not N digits).
-- Bind variables: :linha_a_linha (BOOLEAN)
WITH agrupado AS (
    SELECT
        c.id                                      AS id_competencia,
        b.cnes_bruto,
        p.chave,
        b.munres_bruto,
        i.faixa,
        CASE WHEN :linha_a_linha
                  OR b.quantidade IS NULL OR b.quantidade < 0 OR b.valor IS NULL OR b.valor < 0
                  OR c.problema_competencia IS NOT NULL OR c.problema_janela IS NOT NULL
                  OR p.problema IS NOT NULL
                  -- the IN lists are a dictionary's bad values: with none (the usual case) DuckDB plans an
                  -- empty result, and the check costs next to nothing per row (~1.5% of this pass, measured)
                  OR b.cnes_bruto IS NULL
                  OR b.cnes_bruto IN (SELECT bruto FROM dic_cnes WHERE problema IS NOT NULL AND bruto IS NOT NULL)
                  OR b.munres_bruto IS NULL
                  OR b.munres_bruto IN (SELECT bruto FROM dic_municipio_residencia
                                        WHERE problema IS NOT NULL AND bruto IS NOT NULL)
                  OR b.munest_bruto IS NULL
                  OR b.munest_bruto IN (SELECT bruto FROM dic_municipio_estabelecimento
                                        WHERE problema IS NOT NULL AND bruto IS NOT NULL)
             THEN b.linha END                      AS linha,
        count(*)                                  AS linhas,
        sum(b.quantidade)                         AS quantidade,
        sum(b.valor)                              AS valor,
        any_value(p.id)                           AS id_procedimento,
        any_value(i.id)                           AS id_idade,
        any_value(b.munest_bruto)                 AS munest_bruto
    FROM bruto b
    JOIN dic_competencia c
      ON c.arquivo_id = b.arquivo_id
     AND c.cmp_bruto IS NOT DISTINCT FROM b.cmp_bruto
     AND c.mvm_bruto IS NOT DISTINCT FROM b.mvm_bruto
    JOIN dic_procedimento p ON p.bruto IS NOT DISTINCT FROM b.proc_bruto
    JOIN dic_idade i ON i.bruto IS NOT DISTINCT FROM b.idade_bruto
    GROUP BY ALL
),
linhas AS (
    SELECT
        c.arquivo,
        c.uf,
        c.competencia,
        dc.texto                                                      AS cnes,
        CASE WHEN g.linha IS NULL THEN g.chave ELSE p.texto END       AS procedimento,
        dm.texto                                                      AS municipio_residencia,
        CASE WHEN g.linha IS NULL THEN g.faixa ELSE i.idade END       AS idade,
        g.linha,
        g.linhas,
        g.quantidade,
        g.valor,
        de.texto                                                      AS municipio_estabelecimento,
        c.mes_processamento,
        -- the problems, in the order of datasus.code_problems; each NULL or a non-empty message
        dc.problema                                                   AS p_cnes,
        c.problema_competencia                                        AS p_competencia,
        p.problema                                                    AS p_procedimento,
        dm.problema                                                   AS p_municipio_residencia,
        de.problema                                                   AS p_municipio_estabelecimento,
        CASE WHEN g.linha IS NOT NULL AND g.quantidade IS NULL THEN 'quantidade missing or not numeric' END
                                                                      AS p_quantidade_ausente,
        CASE WHEN g.quantidade < 0 THEN 'quantidade is negative (' || CAST(g.quantidade AS VARCHAR) || ')' END
                                                                      AS p_quantidade_negativa,
        CASE WHEN g.linha IS NOT NULL AND g.valor IS NULL THEN 'valor missing or not numeric' END
                                                                      AS p_valor_ausente,
        CASE WHEN g.valor < 0 THEN 'valor is negative (' || CAST(g.valor AS VARCHAR) || ')' END
                                                                      AS p_valor_negativo,
        c.problema_janela                                             AS p_janela
    FROM agrupado g
    JOIN dic_competencia c ON c.id = g.id_competencia
    JOIN dic_cnes dc ON dc.bruto IS NOT DISTINCT FROM g.cnes_bruto
    JOIN dic_procedimento p ON p.id = g.id_procedimento
    JOIN dic_municipio_residencia dm ON dm.bruto IS NOT DISTINCT FROM g.munres_bruto
    JOIN dic_municipio_estabelecimento de ON de.bruto IS NOT DISTINCT FROM g.munest_bruto
    JOIN dic_idade i ON i.id = g.id_idade
)
SELECT
    arquivo,
    uf,
    competencia,
    'SIA'                                                             AS sistema,
    cnes,
    procedimento,
    municipio_residencia,
    idade,
    linha,
    nullif(concat_ws('; ', p_cnes, p_competencia, p_procedimento, p_municipio_residencia,
                     p_municipio_estabelecimento, p_quantidade_ausente, p_quantidade_negativa, p_valor_ausente,
                     p_valor_negativo, p_janela), '')                 AS problema,
    (p_cnes IS NOT NULL OR p_competencia IS NOT NULL OR p_procedimento IS NOT NULL OR
     p_municipio_residencia IS NOT NULL OR p_municipio_estabelecimento IS NOT NULL OR
     p_quantidade_ausente IS NOT NULL OR p_quantidade_negativa IS NOT NULL OR
     p_valor_ausente IS NOT NULL OR p_valor_negativo IS NOT NULL OR p_janela IS NOT NULL) AS ruim,
    linhas,
    quantidade,
    valor,
    CAST(NULL AS VARCHAR)                                             AS n_aih,
    municipio_estabelecimento,
    mes_processamento
FROM linhas
