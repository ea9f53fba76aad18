"""Files that are never half-written and never silently wrong.

Every torch file takdlib writes (data caches, resume points, models) goes through `atomic_torch_save`: a
temporary file in the same folder, renamed into place, with its sha256 recorded beside it (<name>.sha256).
`verified_torch_load` refuses a file whose content does not match, so a damaged cache or resume point is
rebuilt, never used. A failed write (disk full, read-only, no permission) leaves no temporary file behind
and raises StorageError naming the path and the cause. Text a document quotes from a command's output sits between
two named comments (`quoted`, `with_quoted`), so the command can quote it again after a new run.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch


class StorageError(OSError):
    """A file could not be written; the message names the path and the cause."""


class CorruptFile(RuntimeError):
    """A file's content does not match its recorded hash, or it cannot be read."""


def hash_into(digest, path: Path) -> None:
    """Feed a file's bytes to a hashlib digest, 1 MiB at a time."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    hash_into(digest, path)
    return digest.hexdigest()


def digest_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".sha256")


def _cause(path: Path, err: BaseException) -> str:
    """What went wrong, in words: PyTorch's writer reports a full disk as 'unexpected pos …'."""
    code = getattr(err, "errno", None)
    if code == errno.ENOSPC:
        return "no space left on the device"
    if code == errno.EROFS:
        return "the file system is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    folder = path.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "the file system is read-only"
    except (OSError, AttributeError):  # no such folder yet, or no statvfs (Windows)
        pass
    if folder.exists() and not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable"
    try:
        free = shutil.disk_usage(folder).free
        if free < 64 << 20:
            return f"the disk is (nearly) full: {free / 1e6:.1f} MB free"
    except OSError:
        pass
    return f"{type(err).__name__}: {err}"


def _write(path: Path, write) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise StorageError(f"cannot write {path}: {_cause(path, err)}") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write text through a temporary file and a rename: readers never see half a file."""
    _write(path, lambda tmp: tmp.write_text(text))


def write_json(payload: dict, path: Path) -> Path:
    """Indented, key-sorted JSON written atomically (numpy and torch scalars as floats); its folder is made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=1, sort_keys=True, default=float) + "\n")
    return path


def atomic_torch_save(obj, path: Path) -> None:
    """torch.save through a temporary file and a rename, then record the file's sha256 beside it.

    The hash is written after the file: a crash in between leaves a mismatch, which reads as corrupt
    (rebuilt), never as valid."""
    path = Path(path)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # through a file object torch names the archive's folder "archive", not after
            torch.save(obj, f)      # the temporary file: the same object gives the same bytes in any process

    _write(path, save)
    atomic_write_text(digest_path(path), sha256_file(path) + "\n")


def verified_torch_load(path: Path, **load_kwargs):
    """torch.load, after checking the file against the sha256 recorded when it was written."""
    path = Path(path)
    try:
        expected = digest_path(path).read_text().strip()
    except OSError:
        raise CorruptFile(f"{path} has no recorded hash ({digest_path(path).name} is missing)") from None
    if sha256_file(path) != expected:
        raise CorruptFile(f"{path} does not match its recorded sha256 ({digest_path(path).name})")
    try:
        return torch.load(path, **load_kwargs)
    except Exception as err:  # a matching hash with unreadable content: written by something else
        raise CorruptFile(f"{path} cannot be read ({type(err).__name__}: {err})") from None


def discard(path: Path) -> None:
    """Remove a file and its recorded hash, if present."""
    for p in (Path(path), digest_path(path)):
        p.unlink(missing_ok=True)


def _quote_markers(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {re.escape(name)} -->)(.*?)(<!-- /{re.escape(name)} -->)", re.S)


def quoted(text: str, name: str) -> str:
    """What text quotes between <!-- name --> and <!-- /name --> (invisible where Markdown is rendered), its
    outer blank lines trimmed; ValueError where the markers are missing."""
    found = _quote_markers(name).search(text)
    if found is None:
        raise ValueError(f"no <!-- {name} -->...<!-- /{name} --> to quote in")
    return found.group(2).strip("\n")


def with_quoted(text: str, name: str, content: str) -> str:
    """text with content between its <!-- name --> markers (on lines of their own where the content has several)."""
    quoted(text, name)  # the markers are there
    inner = f"\n{content}\n" if "\n" in content else content
    return _quote_markers(name).sub(lambda m: m.group(1) + inner + m.group(3), text, count=1)


def quote_in(path: Path, name: str, content: str) -> None:
    """Write content between the <!-- name --> markers of the document at path (`with_quoted`), in place."""
    path = Path(path)
    atomic_write_text(path, with_quoted(path.read_text(), name, content))
