-- Glosa extract for one month (DuckDB and PostgreSQL; the sample source).
-- Same semantics as extract.oracle.sql. Bind variables:
--   :mes_inicio  first day of the month analysed (DATE)
--   :mes_fim     first day of the following month (DATE)
--   :hospital    one hospital, or NULL for all
SELECT
    CAST(date_trunc('month', MES_RECEBIMENTO) AS DATE) AS MES_RECEBIMENTO,
    HOSPITAL,
    REGIONAL,
    I_ITEM_CATEGORIA,
    SETOR_N1,
    SETOR_N2,
    TIPO_GRUPO,
    TIPO_ATENDIMENTO,
    CONVENIO,
    TIPO_GLOSA,
    VALOR_COBRADO_GERAL,
    VALOR_GLOSA,
    COBRADO_ANTERIOR,
    GLOSA_ANTERIOR,
    QTD_LINHAS_GLOSA
FROM tasy.tb_glosa_apriori_recente
WHERE MES_RECEBIMENTO >= :mes_inicio
  AND MES_RECEBIMENTO < :mes_fim
  AND (CAST(:hospital AS VARCHAR) IS NULL OR HOSPITAL = :hospital)
