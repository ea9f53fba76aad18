"""CIFAR data: sources -> uint8 tensor cache -> on-device, seeded, augmented batches.

Where data comes from, in order:
  1. the `source` argument, or the `TAKD_DATA` environment variable, naming one of
     - a `.tar.gz` of a JPEG `ImageFolder` tree (`train/<class>/*.jpg`, `test/<class>/*.jpg`),
     - such a tree as a directory,
     - a torchvision CIFAR root holding `cifar-10-batches-py/` or `cifar-100-python/`;
  2. otherwise torchvision downloads CIFAR into `<cache>/torchvision`.
Decoded images are cached as uint8 tensors under `TAKD_CACHE` (default `~/.cache/takdlib`),
keyed by a hash of the source's content.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import tarfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock

from .files import CorruptFile, atomic_torch_save, atomic_write_text, discard, hash_into, verified_torch_load
from .locations import DATA_ENV, resolve_data

CACHE_ENV = "TAKD_CACHE"
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}
# The TAKD code normalises both CIFAR-10 and CIFAR-100 with these (CIFAR-100's) statistics.
MEAN = (0.507, 0.487, 0.441)
STD = (0.267, 0.256, 0.276)
_PICKLE_DIRS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


class DataUnavailable(RuntimeError):
    """The requested dataset cannot be found or fetched; the message says how to fix it."""


@dataclass(frozen=True)
class Arrays:
    """A whole dataset in memory: images (N, 3, 32, 32) uint8, labels (N,) int64."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    fingerprint: str  # sha256 of the source's content; part of every model address


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "takdlib")


def _sha256_files(paths: list[Path], root: Path) -> str:
    """The content's fingerprint: each file's bytes with its path under `root` (so a tree's layout counts, and
    a renamed or moved copy of the same files, or of the same archive, fingerprints alike)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        hash_into(digest, path)
    return digest.hexdigest()


def _decode_jpegs(items: list[tuple[str, str, str, bytes]], dataset: str, source: Path) -> dict:
    """items: (split, class name, file name, jpeg bytes) -> uint8 tensors per split, labels by sorted class."""
    classes = sorted({c for _, c, _, _ in items})
    if len(classes) != NUM_CLASSES[dataset]:  # checked before the slow part: decoding
        raise DataUnavailable(f"the JPEG source {source} has {len(classes)} classes; {dataset} has {NUM_CLASSES[dataset]}")
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for split in ("train", "test"):
        chosen = [(c, name, b) for s, c, name, b in items if s == split]
        if not chosen:
            raise DataUnavailable(f"no '{split}/' images found in the JPEG source {source}")
        x = np.stack([_decode_one(b, source, name) for _, name, b in chosen])
        out[split] = (torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.tensor([index[c] for c, _, _ in chosen]))
    return {"split": out, "classes": tuple(classes)}


def _decode_one(jpeg: bytes, source: Path, name: str) -> np.ndarray:
    """One image as (32, 32, 3) uint8; a damaged or foreign file is named, with what to do."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except Exception as err:
        raise DataUnavailable(f"cannot decode {name} in {source} ({type(err).__name__}: {err}): replace or remove "
                              f"that file, or fetch the data set again") from None
    if pixels.shape != (32, 32, 3):
        raise DataUnavailable(f"{name} in {source} is {pixels.shape[1]}x{pixels.shape[0]} pixels; CIFAR images are "
                              f"32x32: replace or remove that file")
    return pixels


def _read_jpeg_archive(path: Path, dataset: str) -> dict:
    items, member = [], None
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                parts = Path(member.name).parts
                if member.isfile() and len(parts) >= 3 and parts[-3] in ("train", "test"):
                    items.append((parts[-3], parts[-2], member.name, tar.extractfile(member).read()))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        where = f" after member {member.name}" if member is not None else ""
        raise DataUnavailable(f"the archive {path} is damaged or truncated{where} ({type(err).__name__}: {err}): "
                              f"download or copy it again and compare its sha256 with the published one") from None
    items.sort(key=lambda t: t[:3])  # deterministic order whatever the archive's order
    return _decode_jpegs(items, dataset, path)


def _jpeg_files(root: Path) -> list[Path]:
    return sorted(p for split in ("train", "test") for p in (root / split).glob("*/*") if p.is_file())


def _read_jpeg_dir(root: Path, dataset: str) -> dict:
    return _decode_jpegs([(p.parts[-3], p.parts[-2], str(p), p.read_bytes()) for p in _jpeg_files(root)], dataset, root)


def _read_cifar_pickles(folder: Path, dataset: str) -> dict:
    """The original CIFAR python format (as torchvision downloads it)."""
    if dataset == "cifar10":
        train_files, test_files = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]
        label_key, meta_file, names_key = "labels", "batches.meta", "label_names"
    else:
        train_files, test_files = ["train"], ["test"]
        label_key, meta_file, names_key = "fine_labels", "meta", "fine_label_names"

    def load(names):
        xs, ys = [], []
        for name in names:
            with open(folder / name, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.extend(entry[label_key])
        return torch.from_numpy(np.concatenate(xs)), torch.tensor(ys, dtype=torch.int64)

    with open(folder / meta_file, "rb") as f:
        classes = tuple(pickle.load(f, encoding="latin1")[names_key])
    return {"split": {"train": load(train_files), "test": load(test_files)}, "classes": classes}


def _download_with_torchvision(dataset: str, root: Path) -> Path:
    import torchvision

    cls = {"cifar10": torchvision.datasets.CIFAR10, "cifar100": torchvision.datasets.CIFAR100}[dataset]
    try:
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as err:  # urllib, socket and integrity errors all mean the same to the user
        raise DataUnavailable(
            f"{dataset} is not available: torchvision could not download it into {root} ({type(err).__name__}: {err}).\n"
            f"Fix it either way:\n"
            f"  - connect to the internet and run again (torchvision downloads it once), or\n"
            f"  - point {DATA_ENV} (or the `data` argument / notebook parameter) at a local copy: a torchvision "
            f"CIFAR root, a JPEG ImageFolder directory, or its .tar.gz archive."
        ) from None
    return root / _PICKLE_DIRS[dataset]


def _resolve(dataset: str, source: str | os.PathLike | None, cache: Path):
    """Returns (reader thunk, fingerprint)."""
    if source is None:
        source = resolve_data()
    if source is None:
        folder = _download_with_torchvision(dataset, cache / "torchvision")
        files = [p for p in folder.iterdir() if p.is_file()]
        return (lambda: _read_cifar_pickles(folder, dataset)), _sha256_files(files, folder)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataUnavailable(f"data source {path} (from the `data` argument or ${DATA_ENV}) does not exist")
    if path.is_file():
        if not tarfile.is_tarfile(path):
            raise DataUnavailable(f"{path} is not a tar archive of a JPEG ImageFolder tree")
        return (lambda: _read_jpeg_archive(path, dataset)), _sha256_files([path], path)
    if (path / _PICKLE_DIRS[dataset]).is_dir():
        folder = path / _PICKLE_DIRS[dataset]
        files = [p for p in folder.iterdir() if p.is_file()]
        return (lambda: _read_cifar_pickles(folder, dataset)), _sha256_files(files, folder)
    if (path / "train").is_dir() and (path / "test").is_dir():
        return (lambda: _read_jpeg_dir(path, dataset)), _sha256_files(_jpeg_files(path), path)
    raise DataUnavailable(
        f"{path} holds neither {_PICKLE_DIRS[dataset]}/ (torchvision CIFAR format) nor train/ and test/ "
        f"(JPEG ImageFolder) for {dataset}"
    )


def load_arrays(dataset: str = "cifar10", source: str | os.PathLike | None = None,
                cache_dir: str | os.PathLike | None = None) -> Arrays:
    """Decode the dataset once, then serve it from the uint8 cache."""
    if dataset not in NUM_CLASSES:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(NUM_CLASSES)}")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    read, fingerprint = _resolve(dataset, source, cache)
    cache_file = cache / f"{dataset}-{fingerprint[:16]}.pt"
    blob = _cached(cache_file)
    if blob is None:
        with _decode_lock(cache / f"{dataset}-{fingerprint[:16]}.lock"):
            blob = _cached(cache_file)  # another process may have decoded it while this one waited
            if blob is None:
                blob = _decode(read, dataset, fingerprint, cache, cache_file)
    return Arrays(blob["train_x"], blob["train_y"], blob["test_x"], blob["test_y"], tuple(blob["classes"]), fingerprint)


def _cached(cache_file: Path) -> dict | None:
    """The decoded images from the cache, or None where there are none (a damaged cache is removed)."""
    if not cache_file.exists():
        return None
    try:
        return verified_torch_load(cache_file, weights_only=True)
    except CorruptFile as err:  # a damaged cache is rebuilt, never used
        warnings.warn(f"data cache {err}; decoding the source again", stacklevel=3)
        discard(cache_file)
        return None


@contextlib.contextmanager
def _decode_lock(path: Path):
    """One decode per cache: a second process (or Dask worker) waits here for the first one's cache. Where the
    cache folder cannot be written there is no lock and no cache: each process decodes in memory."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path)
        lock.acquire()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _decode(read, dataset: str, fingerprint: str, cache: Path, cache_file: Path) -> dict:
    """Decode the source and write the cache; a source that is not this dataset is refused (and remembered)."""
    # a source that is not this dataset is found out by reading all of it (a CIFAR-10 archive asked for CIFAR-100):
    # the verdict is a property of the content, so it is kept beside the cache and not read for again
    refusal = cache / f"{dataset}-{fingerprint[:16]}.unavailable"
    if refusal.exists():
        raise DataUnavailable(refusal.read_text())
    try:
        raw = read()
    except DataUnavailable as err:
        with contextlib.suppress(OSError):  # not kept: found out again next time
            cache.mkdir(parents=True, exist_ok=True)
            atomic_write_text(refusal, str(err))
        raise
    (trx, try_), (tex, tey) = raw["split"]["train"], raw["split"]["test"]
    blob = {"train_x": trx, "train_y": try_, "test_x": tex, "test_y": tey, "classes": list(raw["classes"])}
    try:
        cache.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(blob, cache_file)
    except OSError as err:  # StorageError included: the decoded images still serve this process
        warnings.warn(f"could not cache the decoded images ({err}); using them from memory, and decoding "
                      f"again next time (set {CACHE_ENV} to a writable folder to keep them)", stacklevel=3)
    return blob


@dataclass(frozen=True)
class Split:
    """Train / validation / test tensors on the training device: x (N, 3, 32, 32) uint8, y (N,) int64, and the
    standard deviation the images are normalised to when fed to a model (`normalize`)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    input_std: float


def _stratified(y: torch.Tensor, counts: list[int | None], seed: int) -> list[torch.Tensor]:
    """Disjoint index sets taking counts[k] images per class (None: all that remain)."""
    gen = torch.Generator().manual_seed(seed)
    picks: list[list[torch.Tensor]] = [[] for _ in counts]
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        start = 0
        for k, n in enumerate(counts):
            stop = len(idx) if n is None else start + n
            if stop > len(idx):
                raise ValueError(f"class {c} has {len(idx)} images, fewer than the {sum(x or 0 for x in counts)} asked for")
            picks[k].append(idx[start:stop])
            start = stop
    return [torch.sort(torch.cat(p)).values for p in picks]


def make_split(arrays: Arrays, train_per_class: int | None = None, val_per_class: int = 0,
               test_per_class: int | None = None, seed: int = 0, device: str | torch.device = "cpu",
               input_std: float = 1.0) -> Split:
    """Stratified subset of the training set with a held-out validation part; optional test subset; inputs
    normalised to `input_std` (1.0 as the TAKD code, 0.5 as its paper's text)."""
    val_idx, train_idx = _stratified(arrays.train_y, [val_per_class, train_per_class], seed)
    (test_idx,) = _stratified(arrays.test_y, [test_per_class], seed)
    to = lambda t: t.to(device)  # noqa: E731
    return Split(to(arrays.train_x[train_idx]), to(arrays.train_y[train_idx]),
                 to(arrays.train_x[val_idx]), to(arrays.train_y[val_idx]),
                 to(arrays.test_x[test_idx]), to(arrays.test_y[test_idx]), len(arrays.classes), input_std)


def normalize(x: torch.Tensor, input_std: float) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32 channels_last, zero mean and standard deviation `input_std` per channel
    (the TAKD code's constants; its paper's text says 0.5, its code gives 1)."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1) * (255 / input_std)
    return ((x.float() - mean) / std).contiguous(memory_format=torch.channels_last)


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding `pad` and horizontal flip, batched: (B, C, H, W) -> same shape."""
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator, device=x.device)
    # every crop of the padded images is a view (B, C, 2 pad + 1, 2 pad + 1, H, W); picking one per image copies
    # whole rows, 3x faster on a CPU than indexing each pixel (benchmarks/RESULTS.md), the same bytes
    crops = padded.unfold(2, h, 1).unfold(3, w, 1)
    out = crops[torch.arange(b, device=x.device), :, dy, dx]
    flip = torch.rand(b, generator=generator, device=x.device) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def epoch_generator(seed: int, epoch: int, device: str | torch.device) -> torch.Generator:
    """The one source of randomness for an epoch (order, augmentation, guide drops): resumable by epoch."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


def train_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator, augmented: bool,
                  input_std: float):
    """Shuffled, optionally augmented, normalised batches (images, labels, indices into x); a trailing
    batch of one is dropped (BatchNorm)."""
    order = torch.randperm(len(x), generator=generator, device=x.device)
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            break
        xb = x[idx]
        if augmented:
            xb = augment(xb, generator)
        yield normalize(xb, input_std), y[idx], idx


# a CPU scores batches of 128 images 1.5-2x faster than batches of 1,000, which spill out of its caches
# (benchmarks/RESULTS.md)
EVAL_BATCH = 128


def eval_batches(x: torch.Tensor, y: torch.Tensor, input_std: float, batch_size: int = EVAL_BATCH):
    for start in range(0, len(x), batch_size):
        yield normalize(x[start:start + batch_size], input_std), y[start:start + batch_size]
