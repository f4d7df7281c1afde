-- Up to 5 example eventos for each source rule the gate counts (quality_eventos.sql).
(SELECT 'eventos_apos_corte' AS regra, e.id_beneficiario, e.codigo_procedimento, e.data_realizacao
   FROM eventos e WHERE e.data_realizacao >= CAST(:corte AS DATE)
   ORDER BY e.data_realizacao DESC, e.id_beneficiario LIMIT 5)
UNION ALL
(SELECT 'eventos_no_futuro', e.id_beneficiario, e.codigo_procedimento, e.data_realizacao
   FROM eventos e WHERE e.data_realizacao > :hoje
   ORDER BY e.data_realizacao DESC, e.id_beneficiario LIMIT 5)
UNION ALL
(SELECT 'eventos_codigo_fora_do_catalogo', e.id_beneficiario, e.codigo_procedimento, e.data_realizacao
   FROM eventos e
   WHERE NOT EXISTS (SELECT 1 FROM procedimentos p WHERE p.codigo_procedimento = e.codigo_procedimento)
   ORDER BY e.data_realizacao, e.id_beneficiario LIMIT 5)
UNION ALL
(SELECT 'eventos_beneficiario_fora_do_cadastro', e.id_beneficiario, e.codigo_procedimento, e.data_realizacao
   FROM eventos e
   WHERE NOT EXISTS (SELECT 1 FROM beneficiarios b WHERE b.id_beneficiario = e.id_beneficiario)
   ORDER BY e.data_realizacao, e.id_beneficiario LIMIT 5)
