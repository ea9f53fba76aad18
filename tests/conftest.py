import io
import os
import pickle
import tarfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # plain pytest draws off-screen; papermill runs keep their inline backend
if os.environ.get("PYTEST_XDIST_WORKER"):  # one of several test processes: one thread each (and its children's)
    os.environ["OMP_NUM_THREADS"] = "1"

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="session")
def real_cifar10() -> str:
    """The offline CIFAR-10 copy that CI points TAKD_DATA at."""
    source = os.environ.get("TAKD_DATA")
    if not source or not Path(source).exists():
        pytest.skip("TAKD_DATA does not name the offline CIFAR-10 copy (CI sets it in .ci/run)")
    return source


def _jpeg(rng) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def jpeg_tree(tmp_path_factory) -> Path:
    """A tiny CIFAR-10 in ImageFolder layout: 4 train and 2 test images per class."""
    root = tmp_path_factory.mktemp("jpeg") / "tree"
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        for c in CIFAR10_CLASSES:
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                (root / split / c / f"{i:04d}.jpg").write_bytes(_jpeg(rng))
    return root


@pytest.fixture(scope="session")
def jpeg_archive(jpeg_tree) -> Path:
    path = jpeg_tree.parent / "tiny.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(jpeg_tree / split, arcname=split)
    return path


def write_cifar100(root: Path, train_per_class: int, test_per_class: int, seed: int = 0) -> Path:
    """Files in the real CIFAR-100 python format (as torchvision downloads it), with random pixels."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name, n in (("train", train_per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(100), n)
        entry = {"filenames": [f"{i}.png" for i in range(len(labels))], "fine_labels": labels.tolist(),
                 "coarse_labels": (labels // 5).tolist(),
                 "data": rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"class{i:03d}" for i in range(100)],
                     "coarse_label_names": [f"super{i:02d}" for i in range(20)]}, f)
    return root


def write_cifar10(root: Path, train_per_class: int, test_per_class: int, seed: int = 0) -> Path:
    """Files in the real CIFAR-10 python format (five training batches, a test batch), with random pixels."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    train_labels = np.repeat(np.arange(10), train_per_class)
    batches = {f"data_batch_{i + 1}": part for i, part in enumerate(np.array_split(rng.permutation(train_labels), 5))}
    for name, labels in {**batches, "test_batch": np.repeat(np.arange(10), test_per_class)}.items():
        entry = {"labels": labels.tolist(), "data": rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8),
                 "filenames": [f"{i}.png" for i in range(len(labels))]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR10_CLASSES}, f)
    return root


@pytest.fixture(scope="session")
def cifar100_root(tmp_path_factory) -> Path:
    return write_cifar100(tmp_path_factory.mktemp("c100"), train_per_class=3, test_per_class=2)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def tiny(recipe, epochs: int | None = None, **data_changes):
    """A recipe shrunk for tests: 3 training and 1 validation image per class (guides too), optionally
    `epochs` epochs and other data changes."""
    from dataclasses import replace

    from takdlib.recipes import with_data

    recipe = with_data(recipe, train_per_class=3, val_per_class=1, test_per_class=None, **data_changes)
    return recipe if epochs is None else replace(recipe, optim=replace(recipe.optim, epochs=epochs))
