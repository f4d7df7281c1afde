-- The requests (guias) a ruleset evaluates, one row per guia, with every attribute a
-- condition may read (vigia.rules.catalog.ATTRIBUTES). DuckDB and PostgreSQL.
--   :inicio, :fim   data_solicitacao in [inicio, fim)
--   :pendentes      TRUE: only pending guias (decisao NULL); FALSE: only decided ones (backtest)
-- `g.cid` is replaced by NULL when the source's guias has no cid column (optional extension).
SELECT
    g.id_guia,
    g.id_beneficiario,
    g.data_solicitacao                                   AS momento_solicitacao,
    CAST(g.data_solicitacao AS DATE)                     AS data_solicitacao,
    g.decisao,
    b.data_adesao,
    b.sexo,
    CAST(EXTRACT(YEAR FROM g.data_solicitacao) - EXTRACT(YEAR FROM b.data_nascimento)
         - CASE WHEN EXTRACT(MONTH FROM g.data_solicitacao) * 100 + EXTRACT(DAY FROM g.data_solicitacao)
                     < EXTRACT(MONTH FROM b.data_nascimento) * 100 + EXTRACT(DAY FROM b.data_nascimento)
                THEN 1 ELSE 0 END AS INTEGER)           AS idade,
    b.tipo_beneficiario,
    CAST(CAST(g.data_solicitacao AS DATE) - b.data_adesao AS INTEGER) AS dias_de_adesao,
    g.tipo_guia,
    g.codigo_procedimento                                AS procedimento,
    g.id_prestador                                       AS prestador,
    CAST(g.cid AS VARCHAR)                               AS cid,
    g.texto_anexo,
    p.grupo,
    p.nivel_complexidade,
    p.periodicidade_dias,
    p.carencia_dias,
    p.idade_minima,
    p.idade_maxima,
    p.sexo_permitido,
    CAST(p.valor AS DOUBLE PRECISION)                    AS valor,
    CAST(p.valor_moderacao AS DOUBLE PRECISION)          AS valor_moderacao,
    p.ordem,
    p.especial,
    p.pericia_inicial
FROM guias g
LEFT JOIN beneficiarios b ON b.id_beneficiario = g.id_beneficiario
LEFT JOIN procedimentos p ON p.codigo_procedimento = g.codigo_procedimento
WHERE g.data_solicitacao >= :inicio
  AND g.data_solicitacao < :fim
  AND (CASE WHEN :pendentes THEN g.decisao IS NULL ELSE g.decisao IS NOT NULL END)
