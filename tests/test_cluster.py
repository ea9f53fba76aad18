"""Scale-out on Dask: every scheduler and worker here is started on 127.0.0.1 by the test and stopped by it."""
from functools import partial
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("distributed")

from takdlib.cluster import close, connect, dependencies, train_on_cluster  # noqa: E402
from takdlib.profiles import recipes_for  # noqa: E402
from takdlib.store import Store  # noqa: E402
from takdlib.methods import HintSettings
from conftest import tiny as _tiny  # noqa: E402

tiny = partial(_tiny, epochs=2)  # these tests' trainings

REPO = Path(__file__).resolve().parent.parent


def weights(model):
    return list(model.state_dict().values())


def trainings(store_root: Path) -> dict[str, int]:
    """Trainings started per stored address, counted from the store's own records."""
    return {f.parent.name: len(f.read_text().splitlines()) for f in store_root.rglob("trainings.jsonl")}


@pytest.fixture(autouse=True)
def environment_unchanged():
    """Nothing here may leave Dask's thread settings (OMP_NUM_THREADS=1 …) in this process's environment."""
    before = dict(os.environ)
    yield
    assert {k: v for k, v in os.environ.items() if "THREADS" in k} == {k: v for k, v in before.items() if "THREADS" in k}


@pytest.fixture
def one_thread():
    """Workers train with one torch thread; the in-process reference does the same."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))  # workers started after this inherit it
    return tmp_path


def test_dependencies_are_guides_and_init():
    t = recipes_for("smoke").teacher("plain10", 0)
    fit = recipes_for("smoke").fitnet("resnet14", t, HintSettings(layers=(1, 2)))
    assert dependencies(fit) == (t, fit.init)
    assert dependencies(t) == ()


def test_bad_cluster_specs_are_refused():
    with pytest.raises(ValueError, match="local:N"):
        connect("local:zero")
    with pytest.raises(ValueError, match="unknown cluster"):
        connect("slurm")


def test_a_local_cluster_trains_each_recipe_once_and_bitwise_like_in_process(env, jpeg_archive, one_thread):
    recipes = [tiny(recipes_for("smoke").chain(["plain6", "plain4", "plain2"], 0)),
               tiny(recipes_for("smoke").dgkd(["plain6", "plain4", "plain2"], 0)),
               tiny(recipes_for("smoke").chain(["plain6", "plain2"], 0))]
    client = connect("local:2")
    try:
        cluster_store = Store(env / "cluster", jpeg_archive, log=lambda _: None)
        train_on_cluster(client, cluster_store, recipes)
        on_cluster = [cluster_store.get(r) for r in recipes]  # loaded: the workers trained them
    finally:
        close(client)
    here_store = Store(env / "here", jpeg_archive, log=lambda _: None)
    here = [here_store.get(r) for r in recipes]
    for a, b in zip(on_cluster, here):
        assert all(torch.equal(x, y) for x, y in zip(weights(a.model), weights(b.model))), a.recipe.short()
        assert a.summary == {**b.summary, "train_seconds": a.summary["train_seconds"]}
    counts = trainings(env / "cluster")
    # teacher, TA, chain student, DGKD's second TA is the chain's TA (shared), DGKD student, BLKD student
    assert len(counts) == 5 and set(counts.values()) == {1}, counts


def test_a_killed_worker_is_retried_and_resumes_to_the_same_weights(env, jpeg_archive, one_thread):
    recipe = tiny(recipes_for("smoke").scratch("plain10", 3), epochs=30)
    store = Store(env / "cluster", jpeg_archive, log=lambda _: None)
    client = connect("local:1")
    try:
        future = client.submit(__import__("takdlib.cluster", fromlist=["train_task"]).train_task,
                               str(store.root), str(jpeg_archive), "cpu", 1, recipe, pure=False, retries=3)
        partial = store.path(recipe) / "partial.pt"
        deadline = time.time() + 120
        while not (partial.exists() and torch.load(partial, weights_only=False)["epoch"] >= 3):
            assert time.time() < deadline, "training made no progress"
            time.sleep(0.2)
        (pid,) = client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)  # the nanny starts a new worker; the scheduler reruns the task there
        summary = future.result(timeout=300)
    finally:
        close(client)
    fresh = Store(env / "fresh", jpeg_archive, log=lambda _: None).get(recipe)
    again = Store(env / "cluster", jpeg_archive, log=lambda _: None).get(recipe)
    assert all(torch.equal(x, y) for x, y in zip(weights(again.model), weights(fresh.model)))
    assert summary["final_test_acc"] == fresh.summary["final_test_acc"]
    assert list(trainings(env / "cluster").values()) == [2]  # started twice, the second resumed
    assert not list((env / "cluster").rglob("partial.pt")) and not list((env / "cluster").rglob("*.tmp"))


CHILD = textwrap.dedent("""
    import sys
    from dataclasses import replace
    import torch
    from takdlib.recipes import with_data
    from takdlib.profiles import recipes_for
    from takdlib.store import Store
    torch.set_num_threads(1)
    recipe = with_data(recipes_for("smoke").scratch("plain8", 5), train_per_class=3, val_per_class=1, test_per_class=None)
    recipe = replace(recipe, optim=replace(recipe.optim, epochs=8))
    trained = Store(sys.argv[1], sys.argv[2], log=lambda line: print(line, flush=True)).get(recipe)
    print("RESULT", trained.summary["final_test_acc"], sum(float(p.sum()) for p in trained.model.parameters()))
""")


def test_two_processes_asking_for_one_recipe_train_it_once(env, jpeg_archive):
    Store(env / "warm", jpeg_archive, log=lambda _: None).arrays("cifar10")  # decode once, outside the race
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(env / "shared"), str(jpeg_archive)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [c.communicate(timeout=300)[0] for c in children]
    assert all(c.returncode == 0 for c in children), outputs
    results = [next(line for line in out.splitlines() if line.startswith("RESULT")) for out in outputs]
    assert results[0] == results[1]
    assert list(trainings(env / "shared").values()) == [1]
    assert sum("trained " in out for out in outputs) == 1  # the other waited, then loaded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.usefixtures("real_cifar10")
@pytest.mark.xdist_group("longest")  # `make test`: the two longest tests one after the other, not side by side
def test_a_scheduler_and_two_workers_run_the_smoke_profile(tmp_path):
    """The multi-machine recipe, rehearsed on localhost: `dask scheduler`, two `dask worker`s, run_all.sh. The
    decoded images come from the run's cache ($TAKD_CACHE), as for the notebooks' tests: decoding CIFAR-10 again
    here would be most of the test."""
    port = free_port()
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker_cmd = [sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                  "--host", "127.0.0.1", "--no-dashboard", "--nworkers", "1"]
    workers = [subprocess.Popen(worker_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        env_vars = dict(os.environ, TAKD_STORE=str(tmp_path / "store"))
        result = subprocess.run([str(REPO / "run_all.sh"), "--profile", "smoke", "--cluster", f"tcp://127.0.0.1:{port}",
                                 "--only", "08_landscape", "-p", "out_dir", str(tmp_path / "out")],
                                capture_output=True, text=True, env=dict(env_vars, PYTHON=sys.executable), timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        run = json.loads((tmp_path / "out" / "results" / "manifest.json").read_text())["runs"][-1]
        assert run["cluster"] == f"tcp://127.0.0.1:{port}"
        split = run["split"]["08_landscape"]  # workers' seconds, summed: no wall-time remainder to call "other"
        assert split["trained"] >= 1 and split["other"] is None
        counts = trainings(tmp_path / "store")
        assert counts and set(counts.values()) == {1}
        pids = {json.loads(line)["pid"] for f in (tmp_path / "store").rglob("trainings.jsonl") for line in f.read_text().splitlines()}
        assert os.getpid() not in pids and 1 <= len(pids) <= 2  # trained by the workers, not here
    finally:
        stop_cluster(f"tcp://127.0.0.1:{port}", [*workers, scheduler])


def stop_cluster(address: str, processes: list[subprocess.Popen]) -> None:
    """Stop a scheduler and its workers: through the scheduler (it closes the workers' nannies at once), then,
    for whatever still runs, SIGINT, and a kill after 30 s."""
    from distributed import Client

    try:
        with Client(address, timeout=10) as client:
            client.shutdown()
    except OSError:  # no scheduler to ask (it never started, or died): the signals below
        pass
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def _worker_malloc_setting():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_workers_keep_glibcs_adaptive_malloc():
    """distributed sets MALLOC_TRIM_THRESHOLD_ for its workers, which makes torch's allocations mmap'ed one by
    one (a third of a training's time in the kernel on a 2-core Xeon); takdlib's workers start without it."""
    from takdlib.cluster import close, connect

    client = connect("local:1")
    try:
        assert client.run(_worker_malloc_setting) == {w: None for w in client.scheduler_info()["workers"]}
    finally:
        close(client)
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
