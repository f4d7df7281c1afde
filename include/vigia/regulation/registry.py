"""The model registry: versioned artifacts, model cards, the ``champion`` pointer and its loader.

Layout (under the models root)::

    champion                       one line: the champion's version
    promotions.jsonl               one JSON line per retraining decision (promoted or not, with reasons)
    reports/<cutoff>_<run>.md      a run's comparison: the seed's Tables 3-5, t-tests, the decision
    versions/<version>/model.skops the fitted Pipeline (preprocessing + model), skops format
    versions/<version>/model_card.json, model_card.md
    versions/<version>/regras.md, regras.json   (decision trees: the rules export)

The root is, first match wins: the ``models_dir`` argument, ``$VIGIA_MODELS_DIR``, or
``include/models/regulation/`` in the project. A string with ``://`` (``s3://bucket/models``,
``gs://...``, ``file:///...``) is opened with ``upath.UPath`` (fsspec); the DAG layer may pass an
Airflow ``ObjectStoragePath`` instead. Only path operations (``/``, ``read_bytes``,
``write_bytes``, ``read_text``, ``write_text``, ``exists``, ``mkdir``) are used, so any
pathlib-like object works.

Loading is safe: besides the types skops trusts by default, only the exact types the candidate
pipelines are made of are trusted (``TRUSTED_TYPES``, listed by name, not by module prefix: a prefix
such as ``builtins.`` or ``numpy.`` would also admit functions such as ``builtins.eval``, which skops
calls while loading). A file holding anything else raises :class:`RegistryError` naming the types.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vigia.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

ENV = "VIGIA_MODELS_DIR"
DEFAULT_DIR = PROJECT_ROOT / "include" / "models" / "regulation"
CHAMPION = "champion"
HISTORY = "promotions.jsonl"
MODEL_FILE = "model.skops"
# What skops reports as untrusted in the pipelines of every candidate of ``vigia.regulation.models``, with
# and without oversampling (``tests/unit/test_regulation_registry.py`` checks that this list covers them)
TRUSTED_TYPES = frozenset({
    "imblearn.over_sampling._random_over_sampler.RandomOverSampler",
    "imblearn.pipeline.Pipeline",
    "numpy.dtype",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
    "vigia.regulation.gain_ratio.GainRatioSelector",
    "vigia.regulation.preprocessing.DropUninformative",
    "vigia.regulation.preprocessing.RegulatoryAttributes",
})


class RegistryError(RuntimeError):
    """A registry file is missing, unreadable or holds untrusted types."""


def models_root(models_dir=None):
    """The registry root as a path-like object (see the module docstring)."""
    value = models_dir if models_dir is not None else os.environ.get(ENV) or DEFAULT_DIR
    if isinstance(value, str):
        if "://" in value:
            from upath import UPath

            return UPath(value)
        return Path(value)
    return value


def version_dir(root, version: str):
    return models_root(root) / "versions" / version


def dumps_model(model) -> bytes:
    import skops.io as sio

    return sio.dumps(model)


def loads_model(data: bytes, source: str = "model"):
    """Load skops bytes, trusting only the types in ``TRUSTED_TYPES`` beyond skops' own defaults."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if t not in TRUSTED_TYPES]
    if refused:
        raise RegistryError(f"{source}: refusing to load untrusted type(s) {refused}")
    return sio.loads(data, trusted=untrusted)


def save_version(root, version: str, model, card_json: dict, card_md: str) -> str:
    """Write one version's model and model card; return its folder as text."""
    folder = version_dir(root, version)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(dumps_model(model))
    (folder / "model_card.json").write_text(json.dumps(card_json, indent=2, ensure_ascii=False, default=str))
    (folder / "model_card.md").write_text(card_md)
    log.info("registry: saved version %s in %s", version, folder)
    return str(folder)


def write_file(root, version: str, name: str, text: str) -> str:
    """Write an extra file (e.g. the rules export) next to a version's model card."""
    path = version_dir(root, version) / name
    path.write_text(text)
    return str(path)


def write_report(root, name: str, text: str) -> str:
    """A run's comparison report under ``reports/``."""
    folder = models_root(root) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return str(folder / name)


def versions(root=None) -> list[str]:
    folder = models_root(root) / "versions"
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / MODEL_FILE).exists())


def champion_version(root=None) -> str | None:
    pointer = models_root(root) / CHAMPION
    if not pointer.exists():
        return None
    text = pointer.read_text().strip()
    return text or None


def set_champion(root, version: str) -> None:
    if not (version_dir(root, version) / MODEL_FILE).exists():
        raise RegistryError(f"cannot make {version} the champion: {version_dir(root, version)} has no {MODEL_FILE}")
    (models_root(root) / CHAMPION).write_text(version + "\n")
    log.info("registry: champion is now %s", version)


def append_history(root, record: dict) -> None:
    """Append one decision to ``promotions.jsonl`` (read + write, so object storage works too)."""
    path = models_root(root) / HISTORY
    models_root(root).mkdir(parents=True, exist_ok=True)
    before = path.read_text() if path.exists() else ""
    path.write_text(before + json.dumps(record, ensure_ascii=False, default=str) + "\n")


def history(root=None) -> list[dict]:
    path = models_root(root) / HISTORY
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_model(root, version: str):
    path = version_dir(root, version) / MODEL_FILE
    if not path.exists():
        raise RegistryError(f"model version {version}: {path} not found")
    return loads_model(path.read_bytes(), str(path))


def load_card(root, version: str) -> dict:
    path = version_dir(root, version) / "model_card.json"
    return json.loads(path.read_text()) if path.exists() else {}


@dataclass
class Champion:
    """The current champion: its version, fitted pipeline and model card."""

    version: str
    pipeline: object
    card: dict

    @property
    def model_name(self) -> str:
        return self.card.get("model", "")

    def predict_proba_authorized(self, features: pd.DataFrame) -> np.ndarray:
        """P(autorizado) for rows shaped like ``build_features``' output (extra columns are ignored)."""
        proba = self.pipeline.predict_proba(features)
        classes = list(self.pipeline.classes_)
        if 1 not in classes:
            raise RegistryError(f"champion {self.version} was not trained with class 1 (autorizado): {classes}")
        return np.asarray(proba[:, classes.index(1)], dtype=float)


def load_champion(models_dir=None) -> Champion | None:
    """The champion of the registry at ``models_dir`` (see :func:`models_root`), or None if none yet."""
    version = champion_version(models_dir)
    if version is None:
        return None
    return Champion(version, load_model(models_dir, version), load_card(models_dir, version))
