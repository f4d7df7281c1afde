-- Raw guias of [:inicio, :fim), pending (:pendentes TRUE) or decided, for the reference interpreter.
SELECT *
FROM guias
WHERE data_solicitacao >= :inicio
  AND data_solicitacao < :fim
  AND (CASE WHEN :pendentes THEN decisao IS NULL ELSE decisao IS NOT NULL END)
ORDER BY id_guia
