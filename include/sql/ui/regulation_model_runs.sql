-- Champion history of the regulation model: one row per retraining run (cutoff x run_id),
-- newest first, with the candidate promoted in that run (NULL: the champion was kept) and the
-- champion after the run (NULL when it is a version from an earlier run). Bind: :top.
SELECT
    cutoff,
    run_id,
    COUNT(DISTINCT model_name)                                   AS candidatos,
    MAX(CASE WHEN promoted THEN model_version END)               AS promovido,
    MAX(CASE WHEN promoted THEN model_name END)                  AS modelo_promovido,
    MAX(CASE WHEN promoted THEN holdout_kappa END)               AS holdout_kappa,
    MAX(CASE WHEN promoted THEN holdout_f1 END)                  AS holdout_f1,
    MAX(CASE WHEN is_champion THEN model_version END)            AS campeao_apos
FROM regulation_model_runs
GROUP BY cutoff, run_id
ORDER BY cutoff DESC, run_id DESC
LIMIT :top
