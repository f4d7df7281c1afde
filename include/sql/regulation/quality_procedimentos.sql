-- The procedimentos catalogue, for the source DQ gate.
SELECT codigo_procedimento, descricao, grupo, periodicidade_dias, idade_minima, idade_maxima, sexo_permitido,
       carencia_dias, valor, valor_moderacao, nivel_complexidade, ordem, especial, pericia_inicial
FROM procedimentos
ORDER BY codigo_procedimento
