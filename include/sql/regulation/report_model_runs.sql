-- make demo's report: the latest regulation_model_retraining run, one row per model (in_fold protocol),
-- with the paper protocol's kappa beside it to show how optimistic replication before CV is.
SELECT h.model_name,
       ROUND(h.kappa_mean, 3)       AS kappa_cv,
       ROUND(p.kappa_mean, 3)       AS kappa_cv_paper,
       h.kappa_band,
       ROUND(h.holdout_kappa, 3)    AS kappa_holdout,
       ROUND(h.holdout_accuracy, 3) AS accuracy_holdout,
       h.promoted,
       h.is_champion,
       h.reason
FROM regulation_model_runs h
LEFT JOIN regulation_model_runs p
       ON p.run_id = h.run_id AND p.model_name = h.model_name AND p.protocol = 'paper'
WHERE h.protocol = 'in_fold'
  AND h.run_id = (SELECT run_id FROM regulation_model_runs ORDER BY cutoff DESC, run_id DESC LIMIT 1)
ORDER BY h.holdout_kappa DESC
