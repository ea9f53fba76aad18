import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from takdlib import store as store_mod
from takdlib.recipes import with_data
from takdlib.profiles import recipes_for
from takdlib.store import Store, format_index
from conftest import tiny


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    return tmp_path


def weights(model):
    return list(model.state_dict().values())


def test_a_chain_is_trained_once_then_loaded(env, jpeg_archive, monkeypatch):
    logs = []
    store = Store(env / "store", jpeg_archive, log=logs.append)
    recipe = tiny(recipes_for("smoke").chain(["plain6", "plain4", "plain2"], 0))
    trained = store.get(recipe)
    assert trained.recipe == recipe and set(trained.summary) >= {"final_test_acc", "best_test_acc"}
    assert len(store.index()) == 3  # the teacher and the TA were trained first
    assert store.get(recipe) is trained  # memoised

    # a reader sees one line per model; each epoch's line is in the model's own log
    assert sum(line.startswith("trained ") for line in logs) == 3 and not any(" | epoch " in line for line in logs)
    epochs = (store.path(recipe) / "train.log").read_text().splitlines()
    assert len(epochs) == recipe.optim.epochs and all(" | epoch " in line for line in epochs)
    monkeypatch.setattr(store_mod, "train", lambda *a, **k: pytest.fail("trained a stored model again"))
    again = Store(env / "store", jpeg_archive).get(recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(trained.model), weights(again.model)))
    assert again.history == trained.history
    assert not list((env / "store").rglob("partial.pt"))


def test_a_store_without_room_stops_before_the_first_step(env, jpeg_archive, monkeypatch):
    from collections import namedtuple

    from takdlib.files import StorageError

    recipe = tiny(recipes_for("smoke").scratch("plain4", 0))
    store = Store(env / "store", jpeg_archive, log=lambda _: None)
    needed = store_mod.room_needed(recipe, 10)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(store_mod.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 65536, 65536))
    monkeypatch.setattr(store_mod, "train", lambda *a, **k: pytest.fail("a step ran on a full disk"))
    with pytest.raises(StorageError) as err:
        store.get(recipe)
    folder = store.path(recipe)
    assert str(folder) in str(err.value) and "0.1 MB free" in str(err.value)
    assert f"{needed / 1e6:.1f} MB needed" in str(err.value)
    assert not (folder / "partial.pt").exists() and not (folder / "meta.json").exists()
    monkeypatch.undo()
    monkeypatch.setattr(store_mod.shutil, "disk_usage", lambda path: usage(10**9, 0, needed))  # just enough
    assert Store(env / "store", jpeg_archive, log=lambda _: None).get(recipe).summary["final_test_acc"] >= 0


def test_room_needed_grows_with_the_model():
    small, large = (recipes_for("smoke").scratch(a, 0) for a in ("plain2", "plain10"))
    assert store_mod.room_needed(small, 10) < store_mod.room_needed(large, 10)
    assert store_mod.room_needed(large, 10) > store_mod.CHECKPOINT_COPIES * 4 * 300_000  # plain10: > 0.3 M params


def test_a_corrupt_checkpoint_is_reported_and_retrained(env, jpeg_archive):
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0))
    first = Store(env / "store", jpeg_archive).get(recipe)
    model_file = first.path / "model.pt"
    model_file.write_bytes(model_file.read_bytes()[:-10] + b"0123456789")
    logs = []
    second = Store(env / "store", jpeg_archive, log=logs.append).get(recipe)
    assert any("corrupt" in line and "retraining" in line for line in logs)
    assert all(torch.equal(a, b) for a, b in zip(weights(first.model), weights(second.model)))


def test_index_lists_what_is_stored(env, jpeg_archive, capsys):
    store = Store(env / "store", jpeg_archive, log=lambda _: None)
    store.get(tiny(recipes_for("smoke").scratch("plain2", 0)))
    (row,) = store.index()
    assert row["description"] == "plain2 seed 0 smoke" and row["megabytes"] > 0
    store_mod.main(["list", "--store", str(env / "store")])
    assert "plain2 seed 0 smoke" in capsys.readouterr().out
    assert "plain2 seed 0 smoke" in format_index(store.index())


def test_different_data_sources_never_share_an_address(env, jpeg_archive, jpeg_tree):
    recipe = tiny(recipes_for("smoke").scratch("plain2", 0))
    other = jpeg_tree.parent / "other.tar.gz"
    import tarfile

    with tarfile.open(other, "w:gz") as tar:  # same images, one file fewer
        for p in sorted(jpeg_tree.rglob("*.jpg"))[1:]:
            tar.add(p, arcname=str(p.relative_to(jpeg_tree)))
    assert Store(env / "s", jpeg_archive).address(recipe) != Store(env / "s", other).address(recipe)


CHILD = textwrap.dedent("""
    import sys
    from dataclasses import replace
    from takdlib.recipes import with_data
    from takdlib.profiles import recipes_for
    from takdlib.store import Store
    recipe = with_data(recipes_for("smoke").scratch("plain10", 3), train_per_class=3, val_per_class=1, test_per_class=None)
    recipe = replace(recipe, optim=replace(recipe.optim, epochs=EPOCHS))
    if __name__ == "__main__":
        Store(sys.argv[1], sys.argv[2], log=lambda line: print(line, flush=True)).get(recipe)
""")


def test_a_killed_run_resumes_to_the_same_weights(env, jpeg_archive):
    """SIGKILL a training subprocess mid-run; the resumed model equals an uninterrupted one bitwise."""
    epochs = 40
    script = CHILD.replace("EPOCHS", str(epochs))
    child = subprocess.Popen([sys.executable, "-c", script, str(env / "killed"), str(jpeg_archive)],
                             stdout=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 300
    while child.poll() is None and time.monotonic() < deadline:  # each epoch's line lands in the model's train.log
        logs = list((env / "killed").rglob("train.log"))
        if logs and "epoch 3/" in logs[0].read_text():
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    (partial,) = (env / "killed").rglob("partial.pt")
    done = torch.load(partial, weights_only=False)["epoch"]
    assert 2 <= done < epochs
    # killed while writing its next checkpoint: the half-written file it leaves is cleared when training resumes
    half_written = partial.with_name(".partial.pt.99999.tmp")
    half_written.write_bytes(b"half")

    ns = {"__name__": "recipe_only"}
    exec(script, ns)
    recipe = ns["recipe"]
    logs = []
    resumed = Store(env / "killed", jpeg_archive, log=logs.append).get(recipe)
    assert logs[0].startswith(f"resuming plain10 seed 3 smoke at epoch {done + 1}")
    assert not half_written.exists() and not list((env / "killed").rglob("*.tmp"))
    fresh = Store(env / "fresh", jpeg_archive, log=lambda _: None).get(recipe)
    assert all(torch.equal(a, b) for a, b in zip(weights(resumed.model), weights(fresh.model)))
    assert [h["train_loss"] for h in resumed.history["epochs"]] == [h["train_loss"] for h in fresh.history["epochs"]]
    same = ("final_test_acc", "val_selected_test_acc", "best_test_acc")  # the kept best-validation weights survive too
    assert {k: resumed.summary[k] for k in same} == {k: fresh.summary[k] for k in same}


def test_students_of_one_teacher_share_its_logits_and_train_as_without_the_store(env, jpeg_archive):
    from dataclasses import replace

    from takdlib.train import train

    store = Store(env / "store", jpeg_archive, log=lambda _: None)
    student = tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0))
    head = student.guides[0]
    first, second = store.get(student), store.get(replace(student, seed=1000))
    assert len(list(store.path(head).glob("train_logits-*.pt"))) == 1  # one pass over the images for both
    alone, _ = train(student, store.split(student.data), [store.get(head).model], log=lambda _: None)
    assert all(torch.equal(a, b) for a, b in zip(weights(first.model), weights(alone)))
    assert not all(torch.equal(a, b) for a, b in zip(weights(first.model), weights(second.model)))

    augmented = with_data(student, augment=True)
    assert store.guide_logits(augmented) is None  # its guides see new crops every step
    with pytest.raises(ValueError, match="change from step to step"):
        train(augmented, store.split(augmented.data), [store.get(augmented.guides[0]).model],
              guide_logits=store.guide_logits(student), log=lambda _: None)


def test_the_store_cli_lists_the_notebooks_store_from_any_folder(tmp_path, monkeypatch):
    """`python -m takdlib.store` and the notebooks default to one store, <repo>/artifacts, wherever they run."""
    import subprocess
    import sys

    from takdlib.experiment import start
    from takdlib.locations import REPO_ROOT

    monkeypatch.delenv("TAKD_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Store().root == REPO_ROOT / "artifacts" == start("x", "smoke").store.root
    env = {k: v for k, v in os.environ.items() if k != "TAKD_STORE"}
    out = subprocess.run([sys.executable, "-m", "takdlib.store"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert str(REPO_ROOT / "artifacts") in out.stdout + out.stderr, out.stdout + out.stderr


def test_a_copied_store_is_reused_not_retrained(env, jpeg_archive, monkeypatch):
    """An instructor trains the store once and hands students a copy (another folder, another machine): every
    model, and a value derived from one, loads from the copy."""
    import shutil

    recipe = tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0))
    original = Store(env / "original", jpeg_archive, log=lambda _: None)
    trained = original.get(recipe)
    original.derived(recipe, "answer", {"n": 1}, lambda: {"value": torch.tensor([42.0])})
    shutil.copytree(env / "original", env / "class" / "copy")
    shutil.rmtree(env / "original")  # nothing may point back at the instructor's folder
    monkeypatch.setattr(store_mod, "train", lambda *a, **k: pytest.fail("a copied model was trained again"))
    copy = Store(env / "class" / "copy", jpeg_archive, log=lambda _: None)
    assert all(torch.equal(a, b) for a, b in zip(weights(trained.model), weights(copy.get(recipe).model)))
    assert copy.derived(recipe, "answer", {"n": 1}, lambda: pytest.fail("recomputed"))["value"].item() == 42.0


def test_an_early_stopped_teacher_is_kept_from_its_whole_run_not_trained_again(env, jpeg_archive, monkeypatch):
    """A teacher's whole run keeps each epoch's state; its early stop is then that state, scored as a stopped run
    scores it: the same weights, epochs and accuracies as the stopped run trained on its own, bitwise."""
    from takdlib.budget import census
    from takdlib.recipes import early_stopped
    from takdlib.train import kept_point

    whole = tiny(recipes_for("smoke").teacher("plain4", 0), epochs=4)
    stopped = early_stopped(whole, 2)
    store = Store(env / "store", jpeg_archive, log=lambda _: None)
    store.get(whole)
    assert [kept_point(store.path(whole), k).exists() for k in (1, 2, 3, 4)] == [True, True, True, False]
    alone = Store(env / "alone", jpeg_archive, log=lambda _: None).get(stopped)  # no whole run there: trained
    assert not list((env / "alone").rglob("kept_epoch*.pt"))  # a stopped run keeps nothing
    logs = []
    monkeypatch.setattr(store_mod, "train", lambda *a, **k: pytest.fail("trained an early stop of a stored run"))
    kept = Store(env / "store", jpeg_archive, log=logs.append).get(stopped)
    assert logs[-1].startswith("kept from its whole run (not trained again) plain4")
    assert all(torch.equal(a, b) for a, b in zip(weights(kept.model), weights(alone.model)))
    untimed = lambda epochs: [{k: v for k, v in h.items() if k != "seconds"} for h in epochs]  # noqa: E731
    assert untimed(kept.history["epochs"]) == untimed(alone.history["epochs"])
    assert {k: v for k, v in kept.summary.items() if k != "train_seconds"} == \
        {k: v for k, v in alone.summary.items() if k != "train_seconds"}
    assert sum(census(env / "store", "smoke").values()) == 1  # the census counts the whole run only


def test_a_damaged_kept_epoch_is_reported_and_the_early_stop_trained(env, jpeg_archive):
    from takdlib.recipes import early_stopped
    from takdlib.train import kept_point

    whole = tiny(recipes_for("smoke").teacher("plain4", 0), epochs=3)
    logs = []
    store = Store(env / "store", jpeg_archive, log=logs.append)
    store.get(whole)
    kept_point(store.path(whole), 1).write_bytes(b"damaged")
    stopped = store.get(early_stopped(whole, 1))
    assert any(line.startswith("WARNING:") and "kept_epoch1.pt" in line for line in logs)
    assert logs[-1].startswith("trained plain4") and len(stopped.history["epochs"]) == 1
