-- make demo's report: decisions per outcome of the latest regulation_decisions interval.
SELECT resultado,
       COUNT(*)                       AS guias,
       ROUND(SUM(valor), 2)           AS valor,
       COUNT(dica_modelo)             AS com_dica_do_modelo,
       ROUND(AVG(dica_modelo), 3)     AS dica_media
FROM regulation_decisions
WHERE intervalo_fim = (SELECT MAX(intervalo_fim) FROM regulation_decisions)
GROUP BY resultado
ORDER BY guias DESC
