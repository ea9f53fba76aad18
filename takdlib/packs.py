"""A store that travels: chosen models of a store packed into one archive, and unpacked into another store with
every file's checksum verified, so a class can share the trained teachers (or everything) instead of retraining.

A pack is a tar.gz holding `takdlib-pack.json` (its index: each model's folder and the sha256 of each of its
files) and the model folders as the store lays them out (<ab>/<address>/...). Addresses carry the data's
content fingerprint, not its file name, so a pack unpacked beside a renamed copy of the same data is used as is.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

from .files import StorageError, sha256_file
from .locations import stored_files

INDEX = "takdlib-pack.json"
KEPT = ("model.pt", "model.pt.sha256", "history.json", "recipe.json", "meta.json", "train.log")  # not locks, resumes


class BadPack(ValueError):
    """An archive that is not a takdlib pack, or whose content does not match its index; names the file."""


def select(store_root: str | Path, roles: tuple[str, ...] = (), profile: str | None = None) -> list[Path]:
    """The model folders of a store to pack: those of the given roles (all roles if none) and profile."""
    out = []
    for meta in stored_files(store_root, "meta.json"):
        recipe = json.loads((meta.parent / "recipe.json").read_text())
        if (not roles or recipe.get("role") in roles) and (profile is None or recipe.get("profile") == profile):
            out.append(meta.parent)
    return out


def pack(store_root: str | Path, archive: str | Path, folders: list[Path]) -> dict:
    """Write `folders` (model folders of the store) and their index to `archive`; returns the index."""
    root = Path(store_root)
    index = {"format": 1, "models": {}}
    for folder in folders:
        files = {name: sha256_file(folder / name) for name in KEPT if (folder / name).exists()}
        index["models"][folder.relative_to(root).as_posix()] = files
    archive = Path(archive)
    with tarfile.open(archive, "w:gz") as tar:
        blob = json.dumps(index, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(INDEX)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
        for relative, files in index["models"].items():
            for name in files:
                tar.add(root / relative / name, arcname=f"{relative}/{name}")
    return index


def unpack(archive: str | Path, store_root: str | Path) -> tuple[int, int]:
    """Add a pack's models to a store, each file checked against the pack's index before any is used; a model
    the store holds already is left as it is. Returns (models added, models already there). Raises BadPack,
    naming the archive and the file, for a foreign or damaged archive; nothing of a bad model is kept."""
    archive, root = Path(archive), Path(store_root)
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as err:
        raise BadPack(f"{archive} is not a takdlib pack: {err}") from None
    with tar:
        try:
            index = json.loads(tar.extractfile(INDEX).read())
            models = index["models"]
        except (KeyError, AttributeError, ValueError, TypeError):
            raise BadPack(f"{archive} is not a takdlib pack: it has no readable {INDEX}") from None
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        added = present = 0
        root.mkdir(parents=True, exist_ok=True)
        for relative, files in models.items():
            parts = Path(relative).parts
            if len(parts) != 2 or any(p in ("..", "") or os.sep in p for p in parts):
                raise BadPack(f"{archive}: model folder {relative!r} is not a store address")
            target = root / relative
            if (target / "meta.json").exists():
                present += 1
                continue
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
            try:
                for name, digest in files.items():
                    member = members.get(f"{relative}/{name}")
                    if member is None or name not in KEPT:
                        raise BadPack(f"{archive}: {relative}/{name} is listed in its index but not packed")
                    data = tar.extractfile(member).read()
                    if hashlib.sha256(data).hexdigest() != digest:
                        raise BadPack(f"{archive}: {relative}/{name} is damaged (its sha256 differs from the "
                                      "pack's index); nothing of that model was added")
                    (staging / name).write_bytes(data)
                try:  # every file verified: moved in, meta.json (which marks a stored model) last
                    target.mkdir(parents=True, exist_ok=True)
                    for name in sorted(files, key=lambda n: n == "meta.json"):
                        os.replace(staging / name, target / name)
                except OSError as err:
                    raise StorageError(f"cannot write {target}: {err.strerror or err}") from None
                added += 1
            finally:
                if staging.exists():
                    for f in staging.iterdir():
                        f.unlink()
                    staging.rmdir()
    return added, present
