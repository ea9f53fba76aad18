"""Where things are: the repository, the model store, the data source. One default each, whoever asks.

Pure standard library, so anything (the book builder included) can import it without torch.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STORE_ENV = "TAKD_STORE"
DATA_ENV = "TAKD_DATA"
PROFILE_ENV = "TAKD_PROFILE"  # the profile every notebook opens on (a class sets it once), else smoke


def resolve_store(store: str | os.PathLike | None = None) -> Path:
    """The store's root: `store`, else $TAKD_STORE, else <repo>/artifacts, the same from any working folder."""
    return Path(store or os.environ.get(STORE_ENV) or REPO_ROOT / "artifacts").expanduser().resolve()


def resolve_data(data: str | os.PathLike | None = None) -> str | None:
    """The data source: `data`, else $TAKD_DATA, else None (torchvision downloads CIFAR)."""
    return str(data) if data else os.environ.get(DATA_ENV) or None


def resolve_profile(name: str | None = None) -> str:
    """A notebook's profile: the one given, else $TAKD_PROFILE, else "smoke" (every code path in minutes)."""
    return name or os.environ.get(PROFILE_ENV) or "smoke"


def stored_files(root: str | Path, name: str) -> list[Path]:
    """Every model folder's file `name` (meta.json, recipe.json, ...) under a store root: <root>/<ab>/<address>/."""
    return sorted(Path(root).glob(f"*/*/{name}"))
