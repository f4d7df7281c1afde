-- Raw beneficiaries, for the reference interpreter.
SELECT id_beneficiario, sexo, data_nascimento, tipo_beneficiario, data_adesao FROM beneficiarios
