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
-- problema says what is wrong in the order of datasus.code_problems (NULL for a good row). A missing
-- MUNIC_MOV is fine (an RD file may not have it); a missing CNES, procedure or residence is not.
SELECT
    c.arquivo,
    c.uf,
    c.competencia,
    'SIH'                                       AS sistema,
    dc.texto                                    AS cnes,
    dp.texto                                    AS procedimento,
    dm.texto                                    AS municipio_residencia,
    i.idade,
    b.linha,
    nullif(concat_ws('; ',
        dc.problema,
        c.problema_competencia,
        dp.problema,
        dm.problema,
        CASE WHEN de.texto IS NOT NULL THEN de.problema END,
        CASE WHEN b.valor IS NULL THEN 'valor missing or not numeric' END,
        CASE WHEN b.valor < 0 THEN 'valor is negative (' || CAST(b.valor AS VARCHAR) || ')' END,
        c.problema_janela,
        CASE WHEN b.n_aih IS NULL OR trim(b.n_aih) = '' THEN 'n_aih missing' END
    ), '')                                      AS problema,
    CAST(1 AS BIGINT)                           AS linhas,
    1.0::DOUBLE                                 AS quantidade,
    b.valor,
    b.n_aih,
    de.texto                                    AS municipio_estabelecimento,
    c.mes_processamento
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
