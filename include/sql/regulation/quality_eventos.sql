-- Counts of eventos that break a source rule (one row), for the source DQ gate.
-- :corte is the run's cutoff (a timestamp; an event dated on or after its day is after it),
-- :hoje is today's date (an event after it lies in the future).
SELECT COUNT(*) AS eventos,
       SUM(CASE WHEN e.data_realizacao >= CAST(:corte AS DATE) THEN 1 ELSE 0 END) AS eventos_apos_corte,
       SUM(CASE WHEN e.data_realizacao > :hoje THEN 1 ELSE 0 END) AS eventos_no_futuro,
       SUM(CASE WHEN p.codigo_procedimento IS NULL THEN 1 ELSE 0 END) AS eventos_codigo_fora_do_catalogo,
       SUM(CASE WHEN b.id_beneficiario IS NULL THEN 1 ELSE 0 END) AS eventos_beneficiario_fora_do_cadastro
FROM eventos e
LEFT JOIN (SELECT DISTINCT codigo_procedimento FROM procedimentos) p
       ON p.codigo_procedimento = e.codigo_procedimento
LEFT JOIN (SELECT DISTINCT id_beneficiario FROM beneficiarios) b
       ON b.id_beneficiario = e.id_beneficiario
