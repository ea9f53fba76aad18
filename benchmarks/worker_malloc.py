"""Why takdlib's Dask workers start without MALLOC_TRIM_THRESHOLD_: one plain8 training step loop per worker,
two single-thread workers at once, with distributed's default worker environment and with takdlib's.

python benchmarks/worker_malloc.py

Prints, per worker: images/s, and the seconds of system and user CPU time the loop took. distributed sets
MALLOC_TRIM_THRESHOLD_ for its workers; any value of it turns off glibc's adaptive mmap threshold, so every
activation tensor is mmap'ed and unmapped again (system time, page faults).
"""
from __future__ import annotations

import resource
import time

import dask
import torch
from dask.distributed import Client, LocalCluster

from takdlib.cluster import PRE_SPAWN, worker_environment
from takdlib.models import build_model


def steps(arch: str = "plain8", n: int = 60, batch: int = 128) -> tuple[float, float, float]:
    torch.set_num_threads(1)
    model = build_model(arch).to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(n):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return n * batch / (time.perf_counter() - start), after.ru_stime - before.ru_stime, after.ru_utime - before.ru_utime


def main() -> None:
    for label, environ in (("distributed's default", dask.config.get(PRE_SPAWN)), ("takdlib's", worker_environment())):
        with dask.config.set({PRE_SPAWN: environ}), \
                LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            results = client.gather([client.submit(steps, pure=False) for _ in range(2)])
        print(f"{label} worker environment ({'with' if 'MALLOC_TRIM_THRESHOLD_' in environ else 'without'} "
              f"MALLOC_TRIM_THRESHOLD_): " + "; ".join(f"{r:.0f} images/s, {s:.1f} s system / {u:.1f} s user"
                                                         for r, s, u in results))


if __name__ == "__main__":
    main()
