-- Glosa extract for one month (Oracle, Philips Tasy; production source via the Oracle provider).
-- Same semantics as extract.sql. Bind variables:
--   :mes_inicio  first day of the month analysed (DATE)
--   :mes_fim     first day of the following month (DATE)
--   :hospital    one hospital, or NULL for all
SELECT
    TRUNC(MES_RECEBIMENTO, 'MM') AS MES_RECEBIMENTO,
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
FROM TASY.TB_GLOSA_APRIORI_RECENTE
WHERE MES_RECEBIMENTO >= :mes_inicio
  AND MES_RECEBIMENTO < :mes_fim
  AND (:hospital IS NULL OR HOSPITAL = :hospital)
