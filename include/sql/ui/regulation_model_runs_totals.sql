-- How many retraining runs and promotions regulation_model_runs holds.
SELECT
    COUNT(DISTINCT run_id)                                                   AS execucoes,
    COUNT(DISTINCT CASE WHEN promoted THEN run_id END)                       AS promocoes
FROM regulation_model_runs
