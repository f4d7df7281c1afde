-- One row per candidate model and CV protocol of a regulation_model_retraining run: CV metrics
-- (mean and std across folds), the corrected t-test against the protocol's best model, the
-- temporal-holdout metrics (same on both protocol rows of a model), promoted and the reason.
-- Partition: cutoff (the exclusive end of the run's training window).
CREATE TABLE IF NOT EXISTS regulation_model_runs (
    cutoff                          DATE NOT NULL,
    run_id                          VARCHAR NOT NULL,
    model_version                   VARCHAR NOT NULL,
    model_name                      VARCHAR NOT NULL,   -- decision_tree | naive_bayes | mlp | gradient_boosting
    protocol                        VARCHAR NOT NULL,   -- in_fold | paper
    train_start                     DATE NOT NULL,
    holdout_start                   DATE NOT NULL,
    train_rows                      BIGINT NOT NULL,
    holdout_rows                    BIGINT NOT NULL,
    folds                           INTEGER NOT NULL,
    precision_mean                  DOUBLE PRECISION,
    precision_std                   DOUBLE PRECISION,
    recall_mean                     DOUBLE PRECISION,
    recall_std                      DOUBLE PRECISION,
    accuracy_mean                   DOUBLE PRECISION,
    accuracy_std                    DOUBLE PRECISION,
    f1_mean                         DOUBLE PRECISION,
    f1_std                          DOUBLE PRECISION,
    roc_auc_mean                    DOUBLE PRECISION,
    roc_auc_std                     DOUBLE PRECISION,
    kappa_mean                      DOUBLE PRECISION,
    kappa_std                       DOUBLE PRECISION,
    kappa_band                      VARCHAR,            -- Landis-Koch band of kappa_mean
    significantly_worse_than_best   BOOLEAN NOT NULL,   -- corrected resampled t-test, 5%
    p_value_vs_best                 DOUBLE PRECISION,   -- NULL for the best model itself
    holdout_precision               DOUBLE PRECISION,
    holdout_recall                  DOUBLE PRECISION,
    holdout_accuracy                DOUBLE PRECISION,
    holdout_f1                      DOUBLE PRECISION,
    holdout_roc_auc                 DOUBLE PRECISION,
    holdout_kappa                   DOUBLE PRECISION,
    promoted                        BOOLEAN NOT NULL,
    is_champion                     BOOLEAN NOT NULL,   -- the champion after this run
    reason                          VARCHAR NOT NULL    -- why promoted or not (Portuguese)
)
