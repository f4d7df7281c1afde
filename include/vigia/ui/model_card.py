"""The regulation model card shown on the page: the champion's, else the newest one.

The retraining DAG keeps a registry (``vigia.regulation.registry``) under
``$VIGIA_MODELS_DIR`` or ``include/models/regulation/``: a ``champion`` file naming the
champion's version, and ``versions/<version>/model_card.{json,md}``. The page shows the
champion's card; without a champion pointer, the newest card by modification time; with
no card at all, "no model yet". The JSON card's scalar fields are shown flattened one
level (``metrics.f1``). Object-storage registries (``s3://``) are not read by the page.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vigia.paths import PROJECT_ROOT

ENV = "VIGIA_MODELS_DIR"


def default_dir() -> Path | None:
    value = os.environ.get(ENV)
    if value and "://" in value:
        return None
    return Path(value) if value else PROJECT_ROOT / "include" / "models" / "regulation"


@dataclass
class ModelCard:
    version: str | None = None
    champion: bool = False
    markdown_path: Path | None = None
    json_path: Path | None = None
    fields: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def exists(self) -> bool:
        return self.markdown_path is not None or self.json_path is not None


def flatten(data: dict, max_fields: int = 40) -> dict:
    """Scalar fields of a JSON object, nested objects one level down as ``parent.child``."""
    out: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if not isinstance(v, (dict, list)):
                    out[f"{key}.{sub}"] = v
        elif not isinstance(value, list):
            out[str(key)] = value
        if len(out) >= max_fields:
            break
    return out


def _card_files(folder: Path) -> tuple[Path | None, Path | None]:
    md, js = folder / "model_card.md", folder / "model_card.json"
    return (md if md.is_file() else None), (js if js.is_file() else None)


def load(folder: Path | None) -> ModelCard:
    if folder is None or not Path(folder).is_dir():
        return ModelCard()
    folder = Path(folder)
    card = ModelCard()
    pointer = folder / "champion"
    version = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    if version and "/" not in version and (folder / "versions" / version).is_dir():
        card.version, card.champion = version, True
        card.markdown_path, card.json_path = _card_files(folder / "versions" / version)
    else:
        cards = [p for p in folder.rglob("model_card.*") if p.suffix in (".md", ".json")]
        if cards:
            newest = max(cards, key=lambda p: (p.stat().st_mtime, str(p)))
            card.version = newest.parent.name
            card.markdown_path, card.json_path = _card_files(newest.parent)
    if card.json_path is not None:
        try:
            data = json.loads(card.json_path.read_text(encoding="utf-8"))
            card.fields = flatten(data) if isinstance(data, dict) else {}
        except (OSError, ValueError) as exc:
            card.error = f"{card.json_path.name}: not valid JSON ({exc})"
    return card
