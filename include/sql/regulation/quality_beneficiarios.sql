-- The whole beneficiarios table (ids are pseudonymised before anything else). The source DQ gate no
-- longer loads it (quality_beneficiarios_regras.sql / _violacoes.sql); tests validate it row by row with
-- great-expectations to check that the SQL rules find the same.
SELECT id_beneficiario, sexo, data_nascimento, tipo_beneficiario, data_adesao
FROM beneficiarios
