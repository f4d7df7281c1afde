-- The SUS audit ranking of one competência, by estimated excess value. Bind variables:
--   :competencia  first day of the month (DATE)
--   :uf           one UF (two letters), or NULL for all
--   :top          how many rows
SELECT
    rank,
    cnes,
    uf,
    municipio,
    excesso_valor,
    escore_maximo,
    rank_escore,
    flags,
    folha_de_fatos
FROM sus_provider_ranking
WHERE competencia = :competencia
  AND (CAST(:uf AS VARCHAR) IS NULL OR uf = :uf)
ORDER BY rank
LIMIT :top
