-- The single pass of the SIH ingestion over one group of landed RD files (DuckDB): join every row to the
-- dictionaries of its raw values (each distinct value checked once: dicionario_codigo.sql,
-- sih_dicionario_competencia.sql, sih_dicionario_idade.sql) and keep it, one AIH per row (the cube counts
-- them). Run by vigia.sus.ingest_sih. Inputs:
--   bruto       the landed rows: arquivo_id (DuckDB's file_index), linha (row number in its file), as stored:
--               cnes_bruto (CNES), ano_bruto (ANO_CMPT), mes_bruto (MES_CMPT), proc_bruto (PROC_REA),
--               munres_bruto (MUNIC_RES), munest_bruto (MUNIC_MOV or NULL), idade_bruto (IDADE),
--               cod_idade_bruto (COD_IDADE or NULL); n_aih (N_AIH as stripped text), valor (VAL_TOT as
--               DOUBLE, NULL when missing or not a number)
--   dic_competencia, dic_idade, dic_cnes, dic_procedimento, dic_municipio_residencia,
--   dic_municipio_estabelecimento   the dictionaries of those columns
-- Output, one row per landed row of the competência, the columns of vigia.sus.dictionaries.PASSAGEM;
-- problema says what is wrong in the order of datasus.code_problems (NULL for a good row); ruim is
-- problema IS NOT NULL worked out from the same parts without joining their text (each part is NULL or a
-- non-empty message), so that the good rows are told apart without building a text per row. A missing
-- MUNIC_MOV is fine (an RD file may not have it); a missing CNES, procedure or residence is not.
-- vigia.sus.ingest_sih makes this query the temporary view passagem when the files are one group: the rows
-- then stream from the landed files to the staged Parquet (vigia.sus.ingest_sql), never into a table.
WITH linhas AS (
    SELECT
        c.arquivo,
        c.uf,
        c.competencia,
        dc.texto                                    AS cnes,
        dp.texto                                    AS procedimento,
        dm.texto                                    AS municipio_residencia,
        i.idade,
        b.linha,
        b.valor,
        b.n_aih,
        de.texto                                    AS municipio_estabelecimento,
        c.mes_processamento,
        -- the problems, in the order of datasus.code_problems; each NULL or a non-empty message
        dc.problema                                 AS p_cnes,
        c.problema_competencia                      AS p_competencia,
        dp.problema                                 AS p_procedimento,
        dm.problema                                 AS p_municipio_residencia,
        CASE WHEN de.texto IS NOT NULL THEN de.problema END AS p_municipio_estabelecimento,
        CASE WHEN b.valor IS NULL THEN 'valor missing or not numeric' END AS p_valor_ausente,
        CASE WHEN b.valor < 0 THEN 'valor is negative (' || CAST(b.valor AS VARCHAR) || ')' END AS p_valor_negativo,
        c.problema_janela                           AS p_janela,
        CASE WHEN b.n_aih IS NULL OR b.n_aih = '' THEN 'n_aih missing' END AS p_n_aih  -- n_aih is stripped already
    FROM bruto b
    JOIN dic_competencia c
      ON c.arquivo_id = b.arquivo_id
     AND c.ano_bruto IS NOT DISTINCT FROM b.ano_bruto
     AND c.mes_bruto IS NOT DISTINCT FROM b.mes_bruto
    JOIN dic_cnes dc ON dc.bruto IS NOT DISTINCT FROM b.cnes_bruto
    JOIN dic_procedimento dp ON dp.bruto IS NOT DISTINCT FROM b.proc_bruto
    JOIN dic_municipio_residencia dm ON dm.bruto IS NOT DISTINCT FROM b.munres_bruto
    JOIN dic_municipio_estabelecimento de ON de.bruto IS NOT DISTINCT FROM b.munest_bruto
    JOIN dic_idade i
      ON i.idade_bruto IS NOT DISTINCT FROM b.idade_bruto
     AND i.cod_idade_bruto IS NOT DISTINCT FROM b.cod_idade_bruto
)
SELECT
    arquivo,
    uf,
    competencia,
    'SIH'                                       AS sistema,
    cnes,
    procedimento,
    municipio_residencia,
    idade,
    linha,
    nullif(concat_ws('; ', p_cnes, p_competencia, p_procedimento, p_municipio_residencia,
                     p_municipio_estabelecimento, p_valor_ausente, p_valor_negativo, p_janela, p_n_aih),
           '')                                  AS problema,
    (p_cnes IS NOT NULL OR p_competencia IS NOT NULL OR p_procedimento IS NOT NULL OR
     p_municipio_residencia IS NOT NULL OR p_municipio_estabelecimento IS NOT NULL OR
     p_valor_ausente IS NOT NULL OR p_valor_negativo IS NOT NULL OR p_janela IS NOT NULL OR
     p_n_aih IS NOT NULL) AS ruim,
    CAST(1 AS BIGINT)                           AS linhas,
    1.0::DOUBLE                                 AS quantidade,
    valor,
    n_aih,
    municipio_estabelecimento,
    mes_processamento
FROM linhas
