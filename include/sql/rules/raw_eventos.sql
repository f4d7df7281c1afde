-- Raw events, for the reference interpreter (joined to the catalogue in Python).
SELECT id_beneficiario, codigo_procedimento, data_realizacao, valor FROM eventos
