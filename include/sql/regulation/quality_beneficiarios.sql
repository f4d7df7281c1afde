-- The beneficiarios table, for the source DQ gate (ids are pseudonymised before anything else).
SELECT id_beneficiario, sexo, data_nascimento, tipo_beneficiario, data_adesao
FROM beneficiarios
