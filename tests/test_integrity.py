"""Nothing wrong is ever stored or used: damaged files, bad values and failing disks (issue 9's six cases)."""
from functools import partial
import os
import subprocess
import tarfile

import pytest
import torch

from takdlib.data import DataUnavailable, load_arrays
from takdlib.files import StorageError, atomic_torch_save, digest_path
from takdlib.losses import kd_term
from takdlib.profiles import recipes_for
from takdlib.store import Store
from conftest import tiny as _tiny

tiny = partial(_tiny, epochs=3)  # these tests' trainings


def flip_bytes(path):
    """Change 16 bytes in the middle of the file: inside tensor data, where the file still loads."""
    blob = bytearray(path.read_bytes())
    for i in range(len(blob) // 2, len(blob) // 2 + 16):
        blob[i] ^= 0xFF
    path.write_bytes(bytes(blob))


def weights(model):
    return list(model.state_dict().values())


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    return tmp_path


# 1. a damaged resume point
def test_a_damaged_resume_point_is_discarded_and_the_weights_equal_an_undamaged_run(env, jpeg_archive, monkeypatch):
    recipe = tiny(recipes_for("smoke").scratch("plain4", 0), epochs=4)
    store = Store(env / "s", jpeg_archive, log=lambda _: None)
    folder = store.path(recipe)
    # stop after two epochs by failing the third, leaving partial.pt behind
    import takdlib.train as train_mod

    real_save, calls = train_mod.atomic_torch_save, []

    def save_twice(obj, path):
        calls.append(path)
        if len(calls) > 2:
            raise KeyboardInterrupt
        real_save(obj, path)
    monkeypatch.setattr(train_mod, "atomic_torch_save", save_twice)
    with pytest.raises(KeyboardInterrupt):
        store.get(recipe)
    monkeypatch.setattr(train_mod, "atomic_torch_save", real_save)
    partial = folder / "partial.pt"
    assert torch.load(partial, weights_only=False)["epoch"] == 2
    flip_bytes(partial)  # still loads with torch.load: only the hash can tell
    torch.load(partial, weights_only=False)

    logs = []
    resumed = Store(env / "s", jpeg_archive, log=logs.append).get(recipe)
    assert any("resume point" in line and str(partial) in line and "from the start" in line for line in logs), logs
    assert not any(line.startswith("resuming") for line in logs)
    fresh = Store(env / "fresh", jpeg_archive, log=lambda _: None).get(recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(resumed.model), weights(fresh.model)))
    assert not partial.exists() and not digest_path(partial).exists()


# 2. a damaged data cache
def test_changed_bytes_in_the_data_cache_are_caught_and_rebuilt(jpeg_archive, tmp_path):
    cache = tmp_path / "cache"
    good = load_arrays("cifar10", jpeg_archive, cache)
    (cache_file,) = cache.glob("cifar10-*.pt")
    flip_bytes(cache_file)  # inside the pixel data: torch.load alone would serve it
    with pytest.warns(UserWarning, match=f"{cache_file}.*does not match its recorded sha256"):
        again = load_arrays("cifar10", jpeg_archive, cache)
    assert torch.equal(again.train_x, good.train_x) and torch.equal(again.test_x, good.test_x)
    assert load_arrays("cifar10", jpeg_archive, cache).train_x.sum() == good.train_x.sum()


# 3. nonsense recipes: tests/test_recipes.py (every field named, before any training)


# 4. data errors name the file
def test_a_truncated_archive_is_named(jpeg_archive, tmp_path):
    half = tmp_path / "half.tar.gz"
    half.write_bytes(jpeg_archive.read_bytes()[: jpeg_archive.stat().st_size // 2])
    with pytest.raises(DataUnavailable, match=f"the archive {half} is damaged or truncated.*download or copy it again"):
        load_arrays("cifar10", half, tmp_path / "cache")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_bad_jpeg_is_named_with_its_member(jpeg_tree, tmp_path, damage):
    bad = tmp_path / f"{damage}.tar.gz"
    victim = sorted((jpeg_tree / "train" / "cat").glob("*.jpg"))[1]
    with tarfile.open(bad, "w:gz") as tar:
        for p in sorted(jpeg_tree.rglob("*.jpg")):
            name = str(p.relative_to(jpeg_tree))
            if p == victim:
                payload = b"this is not a jpeg" if damage == "garbage" else p.read_bytes()[:100]
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                import io

                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.add(p, arcname=name)
    with pytest.raises(DataUnavailable, match=f"cannot decode train/cat/{victim.name} in {bad}.*replace or remove"):
        load_arrays("cifar10", bad, tmp_path / "cache")


# 5. a full or read-only disk
@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (needs root and mount); skipped with the reason elsewhere."""
    mount = tmp_path / "tiny_disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_names_the_path_and_leaves_no_temporary_file(small_tmpfs):
    target = small_tmpfs / "model.pt"
    with pytest.raises(StorageError, match=f"cannot write {target}: .*(no space|full)"):
        atomic_torch_save({"w": torch.zeros(1_000_000)}, target)
    assert list(small_tmpfs.iterdir()) == []


def test_a_full_store_disk_keeps_what_is_stored(env, jpeg_archive, small_tmpfs):
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0), epochs=1)
    stored = Store(small_tmpfs, jpeg_archive, log=lambda _: None).get(recipe)  # plain2 is small: it fits
    big = tiny(recipes_for("smoke").scratch("plain10", 0), epochs=1)  # plain10's checkpoints do not: refused first
    with pytest.raises(StorageError, match=f"no room to train plain10 .* in {small_tmpfs}.* MB free, .* MB needed"):
        Store(small_tmpfs, jpeg_archive, log=lambda _: None).get(big)
    assert not list(small_tmpfs.rglob("*.tmp"))
    again = Store(small_tmpfs, jpeg_archive, log=lambda _: None).get(recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(stored.model), weights(again.model)))


def test_a_read_only_cache_falls_back_to_memory_and_stored_models_still_load(env, jpeg_archive, tmp_path, monkeypatch):
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0), epochs=1)
    stored = Store(tmp_path / "store", jpeg_archive, log=lambda _: None).get(recipe)
    read_only = tmp_path / "ro_cache"
    read_only.mkdir()
    read_only.chmod(0o555)
    monkeypatch.setenv("TAKD_CACHE", str(read_only))
    if os.access(read_only, os.W_OK):  # root ignores permission bits: make the write itself fail instead
        import takdlib.files as files_mod

        def read_only_write(path, write):
            raise StorageError(f"cannot write {path}: the file system is read-only")
        monkeypatch.setattr(files_mod, "_write", read_only_write)
    with pytest.warns(UserWarning, match="could not cache the decoded images.*using them from memory"):
        again = Store(tmp_path / "store", jpeg_archive, log=lambda _: pytest.fail("retrained")).get(recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(stored.model), weights(again.model)))
    # nothing cached; as root (permission bits ignored) the decode's empty lock file is the one thing there,
    # which a truly read-only folder refuses too (the decode then runs unlocked, in memory)
    assert [p.name for p in read_only.iterdir() if not p.name.endswith(".lock")] == []


def test_a_read_only_store_gives_a_clear_error(env, jpeg_archive, tmp_path, monkeypatch):
    import takdlib.files as files_mod

    monkeypatch.setattr(files_mod, "_cause", lambda path, err: "the file system is read-only")
    real_write = files_mod._write

    def failing(path, write):
        if "store" in str(path):
            return real_write(path, lambda tmp: (_ for _ in ()).throw(OSError(30, "Read-only file system")))
        return real_write(path, write)
    monkeypatch.setattr(files_mod, "_write", failing)
    with pytest.raises(StorageError, match="cannot write .*store.*recipe.json: the file system is read-only"):
        Store(tmp_path / "store", jpeg_archive, log=lambda _: None).get(tiny(recipes_for("smoke").scratch("plain2", 0)))
    assert not list((tmp_path / "store").rglob("*.tmp"))


# 6. the element-mean KL no longer leans on reduction="mean"
def test_both_kl_reductions_match_a_float64_formula():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(16, 10, generator=g), torch.randn(16, 10, generator=g)
    tau = 4.0
    p_t = torch.softmax(t.double() / tau, 1)
    kl = (p_t * (torch.log(p_t) - torch.log_softmax(s.double() / tau, 1))).sum()
    assert kd_term(s, t, tau, "batchmean").item() == pytest.approx((tau**2 * kl / 16).item(), rel=1e-5)
    assert kd_term(s, t, tau, "elementmean").item() == pytest.approx((tau**2 * kl / (16 * 10)).item(), rel=1e-5)


def test_a_read_only_mount_keeps_stored_models_loadable_and_names_the_path(env, jpeg_archive, small_tmpfs, monkeypatch):
    """A real read-only file system (the tmpfs remounted ro) for both the store and the cache."""
    store_root, cache = small_tmpfs / "store", small_tmpfs / "cache"
    monkeypatch.setenv("TAKD_CACHE", str(cache))
    stored_recipe = tiny(recipes_for("smoke").scratch("plain2", 0), epochs=1)
    stored = Store(store_root, jpeg_archive, log=lambda _: None).get(stored_recipe)
    for f in cache.iterdir():
        f.unlink()  # the cache is empty when the disk turns read-only: it cannot be written
    result = subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {result.stderr.strip()}")
    with pytest.warns(UserWarning, match=f"could not cache the decoded images \\(cannot write {cache}.*read-only"):
        again = Store(store_root, jpeg_archive, log=lambda _: pytest.fail("retrained")).get(stored_recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(stored.model), weights(again.model)))
    with pytest.raises(StorageError, match=f"cannot write {store_root}.*[Rr]ead-only"):
        Store(store_root, jpeg_archive, log=lambda _: None).get(tiny(recipes_for("smoke").scratch("plain4", 0), epochs=1))


def test_the_same_weights_are_the_same_bytes_whatever_file_they_were_written_to(tmp_path):
    state = {"w": torch.arange(6.0).view(2, 3), "b": torch.zeros(3)}
    atomic_torch_save(state, tmp_path / "model.pt")
    atomic_torch_save(state, tmp_path / "copy.pt")  # torch names a path's archive after the file
    assert (tmp_path / "model.pt").read_bytes() == (tmp_path / "copy.pt").read_bytes()
    assert digest_path(tmp_path / "model.pt").read_text() == digest_path(tmp_path / "copy.pt").read_text()
