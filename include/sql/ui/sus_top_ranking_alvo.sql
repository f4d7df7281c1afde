-- The SUS audit ranking of one competência restricted to one target (alvo): the establishments with
-- a row for it in sus_provider_excess, by their excess on that target (ties by the overall rank),
-- with their overall ranking row. Bind variables:
--   :competencia  first day of the month (DATE)
--   :uf           one UF (two letters), or NULL for all
--   :alvo         the target (sus_provider_excess.alvo)
--   :top          how many rows
SELECT
    ROW_NUMBER() OVER (ORDER BY x.excesso_valor DESC, r.rank, x.cnes) AS posicao,
    r.rank,
    x.cnes,
    x.uf,
    x.municipio,
    x.excesso_valor                    AS excesso_alvo,
    x.excesso_per_capita,
    x.excesso_preco,
    x.excesso_salto,
    r.excesso_valor,
    r.escore_maximo,
    r.rank_escore,
    r.flags,
    r.folha_de_fatos
FROM sus_provider_excess x
LEFT JOIN sus_provider_ranking r
  ON r.competencia = x.competencia AND r.cnes = x.cnes
WHERE x.competencia = :competencia
  AND x.alvo = :alvo
  AND (CAST(:uf AS VARCHAR) IS NULL OR x.uf = :uf)
ORDER BY posicao
LIMIT :top
