"""The candidate models: the seed's three paradigms plus a gradient-boosting challenger.

* ``decision_tree``: the symbolic paradigm, in the spirit of C4.5 (what WEKA calls J48): splits by
  entropy (information gain), at least 5 cases per leaf (C4.5's ``-M`` minimum, there 2) and
  cost-complexity pruning (``ccp_alpha = 0.001``) in place of C4.5's pessimistic error pruning:
  with label noise, 2-case leaves memorise noisy labels. Differences from C4.5:
  binary splits only (categorical attributes arrive one-hot encoded), information gain rather
  than gain ratio at each split (scikit-learn has no gain-ratio criterion; the gain-ratio
  *filter* runs before it in the pipeline).
* ``naive_bayes``: the statistical paradigm; Gaussian Naive Bayes on the encoded features
  (one-hot columns are 0/1 Gaussians, a documented approximation of WEKA's NaiveBayes).
* ``mlp``: the connectionist paradigm; one hidden layer of 32 ReLU units, Adam, early stopping
  on a 10% validation split of the training fold.
* ``gradient_boosting``: ``HistGradientBoostingClassifier``, the challenger the issue asks for.
"""

from __future__ import annotations

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.tree import DecisionTreeClassifier

LABELS = {
    "decision_tree": "C4.5 (árvore de decisão, entropia)",
    "naive_bayes": "Naive Bayes",
    "mlp": "MLP",
    "gradient_boosting": "Gradient boosting",
}
MODEL_NAMES = list(LABELS)
TREE = "decision_tree"


def make_model(name: str, random_state: int = 0):
    """A fresh, unfitted estimator for one candidate name."""
    if name == "decision_tree":
        return DecisionTreeClassifier(criterion="entropy", min_samples_leaf=5, ccp_alpha=1e-3,
                                      random_state=random_state)
    if name == "naive_bayes":
        return GaussianNB(var_smoothing=1e-6)
    if name == "mlp":
        return MLPClassifier(hidden_layer_sizes=(32,), activation="relu", alpha=1e-4, batch_size=256,
                             learning_rate_init=1e-3, max_iter=60, early_stopping=True,
                             validation_fraction=0.1, n_iter_no_change=5, random_state=random_state)
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, early_stopping=False,
                                              random_state=random_state)
    raise ValueError(f"unknown model '{name}': expected one of {MODEL_NAMES}")


def check_names(names) -> list[str]:
    """Validate a list of model names (the DAG's Param); the message lists the valid ones."""
    names = list(names or [])
    unknown = [n for n in names if n not in LABELS]
    if unknown or not names:
        raise ValueError(f"models to try: {unknown or 'none given'} not valid; choose from {MODEL_NAMES}")
    return list(dict.fromkeys(names))
