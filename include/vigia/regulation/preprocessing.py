"""The seed's preprocessing as one imbalanced-learn Pipeline, fitted inside each training fold.

Steps, in order (names are the Pipeline's step names):

1. ``atributos`` (:class:`RegulatoryAttributes`): keeps the model's input columns, extracts the
   request month from ``data_solicitacao`` (the seed's "extração do mês") and adds four
   expert-constructed flags that compare the request with its catalogue entry, as the seed's
   domain expert added history attributes:
   ``fora_da_periodicidade`` = dias_desde_mesmo_procedimento < periodicidade_dias,
   ``fora_da_faixa_etaria`` = idade < idade_minima or idade > idade_maxima,
   ``sexo_nao_permitido`` = sexo_permitido is set and differs from sexo,
   ``em_carencia`` = dias_de_adesao < carencia_dias (each 0 when an operand is missing).
   Numbers become float (nullable integers from the database become NaN), booleans 'sim'/'não',
   everything else text.
2. ``informativas`` (:class:`DropUninformative`): drops all-null and constant columns.
3. ``razao_ganho`` (:class:`~vigia.regulation.gain_ratio.GainRatioSelector`): drops attributes
   with zero C4.5 gain ratio and keeps every attribute's gain ratio for the model card.
4. ``codificacao``: numeric columns get mean imputation and standard scaling; text columns a
   constant "(ausente)" for missing values and one-hot encoding (categories unseen in training
   are ignored at prediction time).
5. ``sobreamostragem``: random oversampling of the minority class to a 1:1 balance (the seed
   replicated the minority class). In an imbalanced-learn Pipeline a sampler runs only in
   ``fit``: inside cross-validation it touches the training folds only, never a test fold.
6. ``modelo``: the classifier (see :mod:`vigia.regulation.models`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

# the contract's model-usable columns, as build_features returns them
from vigia.regulation.features import ATTRIBUTES
from vigia.regulation.features import FEATURE_COLUMNS as CONTRACT_FEATURES
from vigia.regulation.features import HISTORY_FEATURES as HISTORY
from vigia.regulation.gain_ratio import GainRatioSelector

DATE_COLUMN = "data_solicitacao"
MISSING_CATEGORY = "(ausente)"

DERIVED = ["mes_solicitacao", "fora_da_periodicidade", "fora_da_faixa_etaria", "sexo_nao_permitido",
           "em_carencia"]


def feature_columns() -> list[str]:
    """The feature columns a model may use: the features module's list when present, else the contract's."""
    try:
        from vigia.regulation.features import FEATURE_COLUMNS
    except ImportError:  # the features module is written by another engineer; the contract is fixed
        return list(CONTRACT_FEATURES)
    return list(FEATURE_COLUMNS)


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[col], errors="coerce").astype(float)


class RegulatoryAttributes(TransformerMixin, BaseEstimator):
    """Select the input columns, extract the month, add the four expert flags (see module docstring)."""

    def __init__(self, columns: list[str] | None = None):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        cols = list(self.columns) if self.columns is not None else feature_columns()
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ValueError(f"model input: missing feature column(s) {missing}; expected the columns of "
                             f"vigia.regulation.features.build_features")
        self.input_columns_ = cols
        self.numeric_ = [c for c in cols if _is_number(X[c])]
        self.feature_names_out_ = cols + [d for d in DERIVED if d != "mes_solicitacao" or DATE_COLUMN in X]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "input_columns_")
        out = {}
        for c in self.input_columns_:
            if c in self.numeric_:
                out[c] = _num(X, c).to_numpy()
            else:
                s = X[c].astype(object)
                out[c] = s.where(s.notna(), None).map(_text).to_numpy(object)
        frame = pd.DataFrame(out, index=X.index)
        if "mes_solicitacao" in self.feature_names_out_:
            frame["mes_solicitacao"] = pd.to_datetime(X[DATE_COLUMN]).dt.month.astype(float).to_numpy()
        idade, dias = _num(X, "idade"), _num(X, "dias_desde_mesmo_procedimento")
        frame["fora_da_periodicidade"] = (dias < _num(X, "periodicidade_dias")).astype(float).to_numpy()
        frame["fora_da_faixa_etaria"] = ((idade < _num(X, "idade_minima"))
                                         | (idade > _num(X, "idade_maxima"))).astype(float).to_numpy()
        if "sexo" in X and "sexo_permitido" in X:
            permitido = X["sexo_permitido"].astype(object)
            flag = permitido.notna() & (permitido.astype(str) != X["sexo"].astype(object).astype(str))
        else:
            flag = pd.Series(False, index=X.index)
        frame["sexo_nao_permitido"] = flag.astype(float).to_numpy()
        frame["em_carencia"] = (_num(X, "dias_de_adesao") < _num(X, "carencia_dias")).astype(float).to_numpy()
        return frame[self.feature_names_out_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "input_columns_")
        return np.asarray(self.feature_names_out_, dtype=object)


def _text(value):
    """Categories as text; booleans as 'sim'/'não' so exported rules read naturally."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "sim" if value else "não"
    return str(value)


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


class DropUninformative(TransformerMixin, BaseEstimator):
    """Drop columns that are null on every row or hold a single value. ``dropped_`` maps column -> reason."""

    def fit(self, X: pd.DataFrame, y=None):
        X = pd.DataFrame(X)
        self.dropped_ = {}
        for c in X.columns:
            if X[c].isna().all():
                self.dropped_[c] = "todos os valores nulos"
            elif X[c].nunique(dropna=False) == 1:  # null counts as a value: 'F' or null is informative
                self.dropped_[c] = f"constante ({_plain(X[c].iloc[0])!r})"
        self.kept_ = [c for c in X.columns if c not in self.dropped_]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "kept_")
        return pd.DataFrame(X)[self.kept_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "kept_")
        return np.asarray(self.kept_, dtype=object)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def encoder() -> ColumnTransformer:
    numeric = Pipeline([("imputacao", SimpleImputer(strategy="mean", keep_empty_features=True)),
                        ("escala", StandardScaler())])
    categorical = Pipeline([
        ("imputacao", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
        ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=60)),
    ])
    return ColumnTransformer(
        [("num", numeric, make_column_selector(dtype_include="number")),
         ("cat", categorical, make_column_selector(dtype_exclude="number"))],
        verbose_feature_names_out=True,
    )


def build_pipeline(model, *, oversample: bool = True, random_state: int = 0,
                   columns: list[str] | None = None, min_gain_ratio: float = 0.0) -> Pipeline:
    """The full pipeline around ``model``; ``oversample=False`` for the paper protocol (replicated before CV)."""
    steps = [
        ("atributos", RegulatoryAttributes(columns)),
        ("informativas", DropUninformative()),
        ("razao_ganho", GainRatioSelector(min_gain_ratio=min_gain_ratio)),
        ("codificacao", encoder()),
    ]
    if oversample:
        steps.append(("sobreamostragem", RandomOverSampler(random_state=random_state)))
    steps.append(("modelo", model))
    return Pipeline(steps)


def replicate_minority(X: pd.DataFrame, y: pd.Series, random_state: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """The seed's protocol: replicate minority rows until both classes have the majority's count,
    on the whole data set *before* any split (so copies of a row land in training and test folds)."""
    sampler = RandomOverSampler(random_state=random_state)
    idx = np.arange(len(X)).reshape(-1, 1)
    res_idx, res_y = sampler.fit_resample(idx, np.asarray(y))
    rows = res_idx.ravel()
    return X.iloc[rows].reset_index(drop=True), pd.Series(res_y, name=getattr(y, "name", None))


def feature_report(pipeline: Pipeline) -> dict:
    """What the fitted preprocessing did: dropped columns with reasons, gain ratios, encoded features."""
    drop = pipeline.named_steps["informativas"]
    gr = pipeline.named_steps["razao_ganho"]
    ratios = gr.table()
    return {
        "dropped_uninformative": dict(drop.dropped_),
        "dropped_zero_gain_ratio": list(gr.dropped_),
        "kept": list(gr.selected_),
        "gain_ratios": [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in ratios.to_dict(orient="records")
        ],
        "encoded_features": int(len(pipeline.named_steps["codificacao"].get_feature_names_out())),
    }
