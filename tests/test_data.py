import urllib.error

import pytest
import torch

from takdlib import data as data_mod
from takdlib.data import (DataUnavailable, augment, epoch_generator, load_arrays, make_split, normalize,
                          train_batches)


def test_archive_and_folder_decode_to_the_same_tensors(jpeg_archive, jpeg_tree, cache):
    a = load_arrays("cifar10", jpeg_archive, cache)
    b = load_arrays("cifar10", jpeg_tree, cache)
    assert a.train_x.shape == (40, 3, 32, 32) and a.train_x.dtype == torch.uint8
    assert a.test_x.shape == (20, 3, 32, 32)
    assert a.classes[0] == "airplane" and a.classes[-1] == "truck"
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert sorted(a.train_y.bincount().tolist()) == [4] * 10


def test_decoding_happens_once_then_the_cache_serves(jpeg_archive, cache, monkeypatch):
    first = load_arrays("cifar10", jpeg_archive, cache)
    files = list(cache.glob("cifar10-*.pt"))
    assert len(files) == 1 and not list(cache.glob(".*tmp"))  # written atomically, no temp left behind
    monkeypatch.setattr(data_mod, "_read_jpeg_archive", lambda *a: pytest.fail("decoded twice"))
    again = load_arrays("cifar10", jpeg_archive, cache)
    assert torch.equal(first.train_x, again.train_x) and first.fingerprint == again.fingerprint


def test_two_processes_on_an_empty_cache_decode_once(jpeg_archive, cache, monkeypatch):
    """The second waits on the cache's lock, then loads the first one's cache (a count: each decode is slowed
    so that both would decode without the lock)."""
    import threading
    import time

    decodes, real = [], data_mod._read_jpeg_archive

    def slow_decode(*args):
        decodes.append(1)
        time.sleep(0.5)
        return real(*args)

    monkeypatch.setattr(data_mod, "_read_jpeg_archive", slow_decode)
    results = []
    threads = [threading.Thread(target=lambda: results.append(load_arrays("cifar10", jpeg_archive, cache)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(decodes) == 1 and len(results) == 2
    assert torch.equal(results[0].train_x, results[1].train_x)


def test_two_processes_on_an_empty_cache_decode_once_between_them(jpeg_archive, cache, tmp_path):
    """As above, across processes (two Dask workers, two notebooks): each decode appends a line to a file."""
    import subprocess
    import sys
    import textwrap

    count = tmp_path / "decodes.txt"
    code = textwrap.dedent(f"""
        import time
        from takdlib import data
        real = data._read_jpeg_archive
        def slow(*args):
            with open({str(count)!r}, "a") as f:
                f.write("decode\\n")
            time.sleep(1.0)
            return real(*args)
        data._read_jpeg_archive = slow
        data.load_arrays("cifar10", {str(jpeg_archive)!r}, {str(cache)!r})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert count.read_text().splitlines() == ["decode"]


def test_a_renamed_or_moved_copy_of_the_data_has_the_same_fingerprint(jpeg_archive, jpeg_tree, cache, tmp_path):
    import shutil

    renamed = tmp_path / "elsewhere" / "cifar10.tar.gz"
    renamed.parent.mkdir()
    shutil.copy(jpeg_archive, renamed)
    assert load_arrays("cifar10", renamed, cache).fingerprint == load_arrays("cifar10", jpeg_archive, cache).fingerprint
    moved = tmp_path / "another-root"
    shutil.copytree(jpeg_tree, moved)
    assert load_arrays("cifar10", moved, cache).fingerprint == load_arrays("cifar10", jpeg_tree, cache).fingerprint
    (moved / "train" / "cat" / "0000.jpg").unlink()  # other content, another fingerprint
    assert load_arrays("cifar10", moved, cache).fingerprint != load_arrays("cifar10", jpeg_tree, cache).fingerprint


def test_a_corrupt_cache_is_rebuilt(jpeg_archive, cache):
    good = load_arrays("cifar10", jpeg_archive, cache)
    (cache_file,) = cache.glob("cifar10-*.pt")
    cache_file.write_bytes(b"not a tensor file")
    assert torch.equal(load_arrays("cifar10", jpeg_archive, cache).train_x, good.train_x)


def test_environment_variable_names_the_source(jpeg_archive, cache, monkeypatch):
    monkeypatch.setenv("TAKD_DATA", str(jpeg_archive))
    assert load_arrays("cifar10", None, cache).train_x.shape[0] == 40


def test_cifar100_reads_the_real_pickle_format(cifar100_root, cache):
    arrays = load_arrays("cifar100", cifar100_root, cache)
    assert arrays.train_x.shape == (300, 3, 32, 32) and arrays.test_x.shape == (200, 3, 32, 32)
    assert len(arrays.classes) == 100 and arrays.train_y.max().item() == 99
    # pixels keep the CIFAR layout: the first 1024 bytes of a row are the red channel
    import pickle

    with open(cifar100_root / "cifar-100-python" / "train", "rb") as f:
        raw = pickle.load(f, encoding="latin1")["data"][0]
    assert torch.equal(arrays.train_x[0, 0].flatten(), torch.from_numpy(raw[:1024]))


def test_offline_download_gives_one_clear_error(cache, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("TAKD_DATA", raising=False)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataUnavailable) as err:
        load_arrays("cifar10", None, cache)
    message = str(err.value)
    assert "connect to the internet" in message and "TAKD_DATA" in message
    assert err.value.__cause__ is None  # no urllib traceback chained under it


@pytest.mark.parametrize("bad", ["/no/such/place", "."])
def test_bad_sources_are_named(bad, cache):
    with pytest.raises(DataUnavailable, match="does not exist|holds neither"):
        load_arrays("cifar10", bad, cache)


def test_a_cifar10_source_is_not_taken_for_cifar100(jpeg_archive, cache, monkeypatch):
    with pytest.raises(DataUnavailable, match="has 10 classes; cifar100 has 100"):
        load_arrays("cifar100", jpeg_archive, cache)
    # found out by reading the whole archive once; asked again, the answer comes without reading it
    monkeypatch.setattr(data_mod, "_read_jpeg_archive", lambda *a: pytest.fail("read the archive again"))
    with pytest.raises(DataUnavailable, match="has 10 classes; cifar100 has 100"):
        load_arrays("cifar100", jpeg_archive, cache)


def test_unknown_dataset_is_refused(cache):
    with pytest.raises(ValueError, match="known: cifar10, cifar100"):
        load_arrays("mnist", None, cache)


def test_split_is_stratified_disjoint_and_seeded(jpeg_archive, cache):
    arrays = load_arrays("cifar10", jpeg_archive, cache)
    split = make_split(arrays, train_per_class=2, val_per_class=1, test_per_class=1, seed=0)
    assert split.train_y.bincount().tolist() == [2] * 10 and split.val_y.bincount().tolist() == [1] * 10
    assert split.test_x.shape[0] == 10
    flat = lambda t: {tuple(r.tolist()) for r in t.flatten(1)}  # noqa: E731
    assert not flat(split.train_x) & flat(split.val_x)
    again = make_split(arrays, train_per_class=2, val_per_class=1, test_per_class=1, seed=0)
    assert torch.equal(split.train_x, again.train_x)
    with pytest.raises(ValueError, match="fewer than"):
        make_split(arrays, train_per_class=4, val_per_class=1)


def test_augment_crops_and_flips_within_the_padded_image():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    out = augment(x, g, pad=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for b in range(2):
        windows = [padded[b, :, i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        assert any(torch.equal(out[b], w) or torch.equal(out[b], w.flip(2)) for w in windows)
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(0), pad=2))


def test_augment_is_its_definition_drawn_in_a_fixed_order():
    """Row offsets, then column offsets, then flips, from the epoch's generator: the draws every stored teacher
    was trained with, so a faster augment gives the same images."""
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    g = torch.Generator().manual_seed(3)
    dy, dx = torch.randint(0, 5, (16,), generator=g), torch.randint(0, 5, (16,), generator=g)
    flip = torch.rand(16, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    expected = torch.stack([(lambda crop: crop.flip(2) if flip[k] else crop)(
        padded[k, :, dy[k]:dy[k] + 8, dx[k]:dx[k] + 8]) for k in range(16)])
    assert flip.any() and not flip.all() and len(set(dy.tolist())) > 1
    assert torch.equal(augment(x, torch.Generator().manual_seed(3), pad=2), expected)


def test_batches_are_deterministic_per_epoch_and_cover_the_data():
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    y = torch.arange(10)
    labels = lambda epoch: torch.cat([yb for _, yb, _ in train_batches(x, y, 4, epoch_generator(0, epoch, "cpu"), False, 1.0)])  # noqa: E731
    assert torch.equal(labels(0), labels(0))
    assert not torch.equal(labels(0), labels(1))
    assert sorted(labels(0).tolist()) == list(range(10))
    assert all(torch.equal(yb, y[idx]) for _, yb, idx in train_batches(x, y, 4, epoch_generator(0, 0, "cpu"), False, 1.0))
    # a trailing batch of one would break BatchNorm: it is dropped
    assert len(list(train_batches(x[:9], y[:9], 4, epoch_generator(0, 0, "cpu"), False, 1.0))) == 2


def test_normalize_uses_the_takd_constants():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor(data_mod.MEAN)) / torch.tensor(data_mod.STD)
    assert torch.allclose(normalize(x, 1.0)[0, :, 0, 0], expected, atol=1e-5)


def test_the_offline_cifar10_copy_matches_its_readme(real_cifar10, tmp_path):
    arrays = load_arrays("cifar10", real_cifar10)
    assert arrays.train_x.shape == (50000, 3, 32, 32) and arrays.test_x.shape == (10000, 3, 32, 32)
    mean = arrays.train_x.float().mean((0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor([0.4913, 0.4821, 0.4465]), atol=2e-3)


def test_a_smaller_training_set_is_a_subset_with_the_same_validation_and_test_images():
    from takdlib.data import Arrays

    n = 60  # 6 classes x 10 images, each image tagged by its index
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    y = torch.arange(n) % 6
    arrays = Arrays(x, y, x.clone(), y.clone(), tuple("abcdef"), "test")
    small, large = make_split(arrays, 3, 2, 4, seed=5), make_split(arrays, 8, 2, 4, seed=5)
    tags = lambda t: set(t[:, 0, 0, 0].tolist())  # noqa: E731
    assert tags(small.train_x) < tags(large.train_x)
    assert torch.equal(small.val_x, large.val_x) and torch.equal(small.test_x, large.test_x)
    assert not tags(small.val_x) & tags(large.train_x)
