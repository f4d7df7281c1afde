-- Guias requested since :inicio (including any after the run's cutoff), for the source DQ gate.
-- The helper columns hold the offending value, NULL when fine, so the gate's message shows them:
--   codigo_procedimento_fora_do_catalogo: the code, when procedimentos has no such code
--   id_beneficiario_fora_do_cadastro:     the beneficiary, when beneficiarios has no such id
SELECT g.id_guia,
       g.id_beneficiario,
       g.data_solicitacao,
       g.codigo_procedimento,
       g.tipo_guia,
       g.decisao,
       g.data_decisao,
       CASE WHEN NOT EXISTS (SELECT 1 FROM procedimentos p WHERE p.codigo_procedimento = g.codigo_procedimento)
            THEN g.codigo_procedimento END AS codigo_procedimento_fora_do_catalogo,
       CASE WHEN NOT EXISTS (SELECT 1 FROM beneficiarios b WHERE b.id_beneficiario = g.id_beneficiario)
            THEN g.id_beneficiario END AS id_beneficiario_fora_do_cadastro
FROM guias g
WHERE g.data_solicitacao >= :inicio
ORDER BY g.data_solicitacao, g.id_guia
