"""Scale-out: the store's trainings as Dask tasks, on one machine or many.

Only *who* trains changes. Each recipe becomes one task keyed by its store address; its guides (and a
FitNets stage 2's hint stage) are tasks it depends on, so chains run in order and independent branches in
parallel. A task calls `Store.get` on the worker, against the same store root and data source, so the
model lands where every process finds it, the store's lock means one training however many ask, and a
task retried after a lost worker resumes from the checkpoint the lost one left.

    connect("local:2")               # a LocalCluster of 2 single-thread worker processes on this machine
    connect("tcp://10.0.0.5:8786")   # the scheduler of `dask scheduler` + `dask worker ...` on other machines
"""
from __future__ import annotations

import os

from .recipes import Recipe

RETRIES = 3  # a task whose worker died is run again this many times, resuming from its checkpoint


def connect(spec: str, threads: int = 1):
    """A dask.distributed Client for `spec`: "local:N" starts a LocalCluster of N worker processes with one
    thread each (closed with the client); "tcp://HOST:PORT" joins an existing scheduler."""
    import dask
    from dask.distributed import Client, LocalCluster

    if spec.startswith("local:"):
        try:
            n = int(spec.removeprefix("local:"))
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"cluster {spec!r}: write local:N with N >= 1 workers")
        # distributed's nannies set OMP_NUM_THREADS=1 (and MKL's, OpenBLAS's) in this process's environment
        # whenever they start a worker; put ours back, so what this process starts keeps its thread count
        saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
        with dask.config.set({PRE_SPAWN: worker_environment()}):
            cluster = LocalCluster(n_workers=n, threads_per_worker=threads, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
        _restore(saved)
        client = Client(cluster)
        client.takdlib_owns_cluster = cluster  # closed by `close`
        client.takdlib_environ = saved
        return client
    if spec.startswith("tcp://"):
        return Client(spec, timeout="30s")
    raise ValueError(f"unknown cluster {spec!r}: write local:N or tcp://HOST:PORT")


def close(client) -> None:
    cluster = getattr(client, "takdlib_owns_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
        _restore(client.takdlib_environ)  # a worker restarted after a crash set them again


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")
PRE_SPAWN = "distributed.nanny.pre-spawn-environ"


def worker_environment() -> dict:
    """distributed's environment for worker processes, less MALLOC_TRIM_THRESHOLD_. Setting it (to any value)
    turns off glibc's adaptive mmap threshold, so every activation tensor is mmap'ed and unmapped again: on a
    2-core Xeon a training in a worker thread then ran at 0.7x its speed, a third of its time in the kernel."""
    import dask

    return {k: v for k, v in dask.config.get(PRE_SPAWN, {}).items() if k != "MALLOC_TRIM_THRESHOLD_"}


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def dependencies(recipe: Recipe) -> tuple[Recipe, ...]:
    """The recipes that must be trained before `recipe`: its guides and its initialisation."""
    return recipe.guides + (() if recipe.init is None else (recipe.init,))


def train_on_cluster(client, store, recipes: list[Recipe], threads: int = 1) -> dict[str, dict]:
    """Train `recipes` (and whatever they need that is not stored) on the client's workers; wait for all.

    Returns {store address: the trained model's summary}. Workers need the store root and the data source
    at the same paths (a shared folder across machines), and the same takdlib and torch."""
    from dask.distributed import wait

    device = str(store.device)
    data = None if store.data is None else str(store.data)
    # GPU workers declare `--resources GPU=n` (several small trainings share one device); a GPU task asks
    # for one unit only where some worker declares them, or it would wait forever
    workers = client.scheduler_info()["workers"].values()
    resources = {"GPU": 1} if device.startswith("cuda") and any("GPU" in w.get("resources", {}) for w in workers) else None
    futures: dict[str, object] = {}

    def submit(recipe: Recipe):
        address = store.address(recipe)
        if address not in futures:
            deps = [submit(d) for d in dependencies(recipe) if not store.has(d)]
            futures[address] = client.submit(
                train_task, str(store.root), data, device, threads, recipe, *deps,
                key=f"train-{recipe.arch}-{address[:16]}", pure=False, retries=RETRIES, resources=resources)
        return futures[address]

    for recipe in recipes:
        submit(recipe)
    wait(list(futures.values()))
    return dict(zip(futures, client.gather(list(futures.values()))))


def train_task(store_root: str, data: str | None, device: str, threads: int, recipe: Recipe, *_guides_done) -> dict:
    """What a worker runs: get (train once, or load) `recipe` from the shared store. The guides' results are
    passed only so that Dask runs their tasks first."""
    import torch

    from .store import Store

    torch.set_num_threads(threads)
    prefix = f"[worker {os.getpid()}] "
    return Store(store_root, data, device, log=lambda line: print(prefix + line, flush=True)).get(recipe).summary
