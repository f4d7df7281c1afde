SELECT
    r.rank,
    r.cnes,
    r.uf,
    ROUND(CAST(r.excesso_valor AS NUMERIC), 2)     AS excesso_valor,
    r.rank_escore,
    r.flags,
    r.folha_de_fatos
FROM sus_provider_ranking r
WHERE r.competencia = (SELECT MAX(competencia) FROM sus_provider_ranking)
ORDER BY r.rank
LIMIT 8
