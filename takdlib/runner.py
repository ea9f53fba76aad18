"""Execute the notebooks headlessly with papermill (what run_all.sh calls).

python -m takdlib.runner --profile cpu [--only 01_gap ...] [--device cpu] [-p NAME VALUE ...]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import papermill as pm

from .budget import census, spent, write_census
from .experiment import PROGRESS_FILE_ENV, output_root
from .locations import DATA_ENV, REPO_ROOT, STORE_ENV, resolve_store
from .machine import cpu_model, manifest, profile_for_this_cpu, profile_for_this_gpu
from .profiles import PROFILES, REPLICATION_SEEDS, evidence_profile, get_profile
from .files import write_json
from .evidence import seal
from .report import check, claims_file_for, claims_table, format_claims, replication
from .train import PROGRESS_ENV, resolve_device

NOTEBOOKS = REPO_ROOT / "notebooks"


CHECK_NOTEBOOK = "05_distilled_ta"  # plain CNNs only, one teacher: the cheapest full notebook


def replication_seeds(profile: str, given: list[int]) -> list[int]:
    """The seeds of a replication: those given, else as many as the profile has, drawn at random from
    REPLICATION_SEEDS, so that nobody chooses them."""
    import random

    if given:
        clash = sorted(set(given) & set(PROFILES[profile].seeds))
        if clash:
            raise SystemExit(f"a replication needs fresh seeds: {clash} are the {profile} profile's own")
        return list(given)
    return sorted(random.SystemRandom().sample(REPLICATION_SEEDS, len(PROFILES[profile].seeds)))


def notebook_paths(only: list[str] | None) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        known = {p.stem: p for p in paths}
        unknown = [n for n in only if n.removesuffix(".ipynb") not in known]
        if unknown:
            raise SystemExit(f"unknown notebook(s): {', '.join(unknown)}; known: {', '.join(known)}")
        paths = [known[n.removesuffix(".ipynb")] for n in only]
    return paths


def check_parameters(path: Path, params: dict) -> None:
    """papermill only warns about a parameter the notebook does not declare; we refuse it."""
    declared = pm.inspect_notebook(str(path))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise SystemExit(f"{path.name} declares no parameter(s) {', '.join(unknown)}; it declares {', '.join(declared)}")


def git(*args) -> str | None:
    """git's output without its trailing newline (leading spaces kept: porcelain status starts with them)."""
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.rstrip()
    except Exception:
        return None


def dirty_files() -> list[str]:
    """Tracked or untracked-but-not-ignored files that differ from HEAD (empty outside a git checkout)."""
    status = git("status", "--porcelain")
    return [line[3:] for line in status.splitlines()] if status else []


def publish_executed(executed: list[Path], dest: Path, repo_root: Path = REPO_ROOT) -> list[Path]:
    """Copy executed notebooks for readers, without this machine's paths: papermill's input and output paths
    leave the metadata; the data source's, the store's, the Python environment's, the repository's and the home
    folder's locations in outputs, in papermill's injected parameters and in their record become '$TAKD_DATA',
    '$TAKD_STORE', '<env>', '<repo>', '~'."""
    import nbformat

    dest.mkdir(parents=True, exist_ok=True)
    local = [(sys.prefix, "<env>"), (str(repo_root), "<repo>"), (str(Path.home()), "~")]
    for env in (DATA_ENV, STORE_ENV):
        if os.environ.get(env):
            local.insert(0, (os.environ[env], f"${env}"))
    written = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for key in ("input_path", "output_path"):
            nb.metadata.get("papermill", {}).pop(key, None)
        parameters = nb.metadata.get("papermill", {}).get("parameters", {})
        for name, value in parameters.items():
            if isinstance(value, str):
                parameters[name] = _scrub(value, local)
        for cell in nb.cells:
            if "injected-parameters" in cell.metadata.get("tags", []):  # papermill's cell: out_dir, store, data
                cell.source = _scrub(cell.source, local)
            for out in cell.get("outputs", []):
                for field in ("text", "evalue"):
                    if isinstance(out.get(field), str):
                        out[field] = _scrub(out[field], local)
                for mime in ("text/plain", "text/markdown", "text/html"):
                    if isinstance(out.get("data", {}).get(mime), str):
                        out["data"][mime] = _scrub(out["data"][mime], local)
        nbformat.write(nb, dest / path.name)
        written.append(dest / path.name)
    return written


def _scrub(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def refuse_dirty_evidence(root: Path, allow_dirty: bool) -> None:
    """The committed evidence must come from a committed revision, so that its manifest names the code that
    made it: refuse to write it from a dirty work tree unless asked to."""
    if allow_dirty or root.resolve() != REPO_ROOT.resolve():
        return
    changed = dirty_files()
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise SystemExit(f"refusing to write the evidence in {REPO_ROOT / 'figures'} and {REPO_ROOT / 'results'} from a "
                         f"work tree with uncommitted changes ({shown}): commit first, or pass --allow-dirty "
                         f"(the manifest then records git_dirty: true)")


def kernel_manager(socket_dir: str):
    """A kernel manager whose kernels talk over Unix sockets in `socket_dir` (POSIX): no TCP port, and so no
    "Kernel is running over TCP without encryption" warning from every kernel. None elsewhere (the default)."""
    if os.name != "posix":
        return None
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(socket_dir, "kernel")

    return IPCKernelManager


@contextlib.contextmanager
def echoed(path: Path, prefix: str = "    "):
    """While the block runs, print each line appended to `path` (a notebook's "model i of n" progress)."""
    import threading

    path.write_text("")
    stop = threading.Event()

    def follow():
        with open(path) as f:
            while True:
                line = f.readline()
                if line:
                    print(prefix + line.rstrip(), flush=True)
                elif stop.wait(0.5):
                    break

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_notebooks(paths: list[Path], params: dict, args, executed: Path,
                  store_root: Path) -> tuple[dict[str, float], dict[str, dict], list[str]]:
    """Execute each notebook with papermill; (wall seconds per notebook, where each notebook's seconds went
    (`budget.spent`, and the rest as "other", None on a cluster), the names of those that failed). The
    trainings' progress lines are echoed as they come."""
    import tempfile

    timings, split, failed = {}, {}, []
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.stem} (profile {args.profile}) ...", flush=True)
        t0, started = time.perf_counter(), time.time()
        progress = executed / f"{path.stem}.progress"
        os.environ[PROGRESS_FILE_ENV] = str(progress)  # the kernel inherits it
        try:
            with tempfile.TemporaryDirectory(prefix="takd-kernel-") as sockets, echoed(progress):
                manager = kernel_manager(sockets)
                pm.execute_notebook(str(path), str(executed / path.name), parameters=params, cwd=str(NOTEBOOKS),
                                    progress_bar=sys.stderr.isatty(), log_output=False, execution_timeout=args.timeout,
                                    **({"kernel_manager_class": manager} if manager else {}))
        except pm.PapermillExecutionError as err:
            failed.append(path.stem)
            print(f"FAILED {path.stem}: cell {err.cell_index} (execution count {err.exec_count}): "
                  f"{err.ename}: {err.evalue}\n  executed copy with the traceback: {executed / path.name}", flush=True)
        finally:
            os.environ.pop(PROGRESS_FILE_ENV, None)
            progress.unlink(missing_ok=True)
        timings[path.stem] = round(time.perf_counter() - t0, 1)
        split[path.stem] = spent(store_root, started, time.time())
        trained = sum(t for archs in split[path.stem]["train"].values() for t in archs.values())
        # on a cluster the trainings' seconds are the workers', summed while they ran side by side: no
        # remainder of the wall time is left to call "other"
        split[path.stem]["other"] = (None if args.cluster else
                                     round(timings[path.stem] - trained - split[path.stem]["derived"], 1))
        compiling = split[path.stem]["compile"]
        print(f"    {path.stem}: {timings[path.stem]:.0f} s ({split[path.stem]['trained']} models trained in "
              f"{trained:.0f} s{' of worker time' if args.cluster else ''}"
              f"{f', {compiling:.0f} s of it compiling' if compiling else ''})", flush=True)
    return timings, split, failed


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, dict]:
    """The command line: its options, and the notebook parameters given with -p."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", choices=sorted(PROFILES))
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebook names, e.g. 01_gap")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="another notebook parameter (a Python literal, else a string)")
    parser.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: none)")
    parser.add_argument("--cluster", default=None, metavar="SPEC",
                        help="train on Dask workers: local:N (a LocalCluster of N single-thread workers, shared by "
                             "every notebook) or tcp://HOST:PORT (an existing scheduler)")
    parser.add_argument("--replicate", nargs="*", type=int, default=None, metavar="SEED",
                        help="the same profile on fresh seeds (given, else drawn at random from "
                             f"{REPLICATION_SEEDS.start}-{REPLICATION_SEEDS.stop - 1}), outputs under "
                             "runs/<profile>-replicate/, then each verdict beside the committed one")
    parser.add_argument("--check", nargs="?", const=CHECK_NOTEBOOK, default=None, metavar="NOTEBOOK",
                        help="check the committed numbers on this machine: one notebook (default "
                             f"{CHECK_NOTEBOOK}) on the profile's first seed, outputs under runs/<profile>-check/, "
                             "each row beside the committed one (a check, not evidence)")
    parser.add_argument("--emulated-bf16", action="store_true",
                        help="run a bf16 profile as asked on a CPU without native bf16 (default: its fp32 twin)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="write the committed evidence (figures/, results/) from a work tree with uncommitted changes")
    args = parser.parse_args(argv)
    try:
        resolve_device(args.device)
    except RuntimeError as err:  # before any notebook starts
        parser.error(str(err))
    if args.check and (args.only or args.replicate is not None):
        parser.error("--check runs one notebook of its own: not with --only or --replicate")
    import ast

    extra = {}
    for name, value in args.p:
        try:
            extra[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            extra[name] = value
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(argv)
    if args.device == "cuda":
        import torch

        args.profile = profile_for_this_gpu(args.profile, torch.cuda.is_bf16_supported())
    else:
        args.profile = profile_for_this_cpu(args.profile, args.device, args.emulated_bf16)
    params = dict(profile=args.profile, device=args.device, **extra)
    if args.cluster:
        params["cluster"] = args.cluster
    if args.check:  # each mode sets its notebooks, seeds and outputs; the rest is shared
        args.only = [args.check]
        params.update(seeds=[get_profile(args.profile).seeds[0]],
                      out_dir=extra.get("out_dir") or str(REPO_ROOT / "runs" / f"{args.profile}-check"))
        print(f"check of the committed numbers: {args.check} on seed {params['seeds'][0]}, profile {args.profile} "
              f"(outputs under {params['out_dir']})", flush=True)
    if args.replicate is not None:
        params.update(seeds=replication_seeds(args.profile, args.replicate),
                      out_dir=str(REPO_ROOT / "runs" / f"{args.profile}-replicate"))
        print(f"replication of profile {args.profile} on seeds {params['seeds']} (outputs under {params['out_dir']})",
              flush=True)
    paths = notebook_paths(args.only)
    # where this run's outputs go, decided here once: every notebook is told (its out_dir parameter)
    root = output_root(get_profile(args.profile), params.get("out_dir"))
    params["out_dir"] = str(root)
    for path in paths:
        check_parameters(path, params)
    refuse_dirty_evidence(root, args.allow_dirty)
    revision, dirty = git("rev-parse", "HEAD"), bool(dirty_files())  # before the run changes figures/ and results/
    executed = (REPO_ROOT / "runs" / args.profile if root == REPO_ROOT else root) / "notebooks"
    timings, split, failed = execute(paths, params, args, executed, resolve_store(extra.get("store")))
    if not failed:
        record(root, args, paths, executed, manifest(timings, args.profile, revision, dirty, args.cluster, split),
               resolve_store(extra.get("store")))
    rows = claims_table(root / "results")
    if rows:
        (root / "results" / "claims.md").write_text(claims_file_for(root / "results"))
    print("\nClaims (paper vs ours vs verdict):\n" + format_claims(rows))
    if args.replicate is not None and rows:  # beside the profile's own outputs (the evidence's for cpu)
        mine = output_root(get_profile(args.profile), extra.get("out_dir")) / "results"
        write_replication(mine, root / "results", rows, args.profile, params["seeds"])
    if args.check and not failed:  # beside the committed evidence
        write_check(paths[0].stem, output_root(evidence_profile()) / "results", root / "results", args.profile)
    if not failed:  # every file this run's outputs now hold, checksummed: `python -m takdlib.evidence`
        seal(root)
    print(f"\nExecuted notebooks: {executed}\nFigures and results: {root / 'figures'}, {root / 'results'}")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {', '.join(failed)}")
        return 1
    return 0


def execute(paths: list[Path], params: dict, args, executed: Path,
            store_root: Path) -> tuple[dict[str, float], dict[str, dict], list[str]]:
    """Run the notebooks with this checkout's takdlib in their kernels, on a local Dask cluster if asked."""
    os.environ[PROGRESS_ENV] = "log"  # the kernels inherit it: log lines in the executed notebooks, no widgets
    # the kernels import this checkout's takdlib, whichever one the environment has installed
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    executed.mkdir(parents=True, exist_ok=True)
    client = None
    if args.cluster and args.cluster.startswith("local:"):  # one cluster for every notebook, joined by address
        from .cluster import connect

        client = connect(args.cluster)
        params["cluster"] = client.scheduler.address
        print(f"Dask LocalCluster at {params['cluster']} with {len(client.scheduler_info()['workers'])} workers", flush=True)
    try:
        return run_notebooks(paths, params, args, executed, store_root)
    finally:
        if client is not None:
            from .cluster import close

            close(client)


def record(root: Path, args, paths: list[Path], executed: Path, run: dict, store_root: Path) -> None:
    """What a successful run leaves: its manifest entry (a later --only run adds one, it does not overwrite the
    cold timings of the run before it), and for the evidence its census and executed notebooks."""
    path = root / "results" / "manifest.json"
    previous = json.loads(path.read_text()) if path.exists() and args.only else {"runs": []}
    runs = previous.get("runs", [previous])  # a manifest of one run, written before "runs" existed
    write_json({"runs": [*runs, run]}, path)
    if root == REPO_ROOT:
        if not args.only:  # what the evidence run trained: the cost model's census
            write_census(census(store_root, args.profile), root / "results" / "census.json", args.profile)
        publish_executed([executed / p.name for p in paths], root / "results" / "notebooks")


def write_replication(committed: Path, replicated: Path, rows: list[dict], profile: str, seeds: list[int]) -> Path:
    """Each replicated verdict beside the committed one, printed and written to <replicated>/replication.md."""
    table, agree, compared = replication(claims_table(committed), rows)
    path = replicated / "replication.md"
    path.write_text(f"# Replication of the committed {profile} verdicts on seeds {seeds}\n\n" + table)
    print(f"\nReplication on seeds {seeds}: {agree} of {compared} rows agree with the committed verdicts ({path})")
    return path


def write_check(name: str, committed: Path, checked: Path, profile: str) -> Path:
    """The check's rows beside the committed ones, printed and written to <checked>/check.md."""
    theirs, mine = (json.loads((folder / f"{name}.json").read_text()) for folder in (committed, checked))
    table, within, compared = check(theirs, mine)
    path = checked / "check.md"
    path.write_text(f"# Check of the committed {theirs['profile']} numbers: {name}, seed {mine['seeds'][0]}, "
                    f"profile {profile} on {cpu_model()}\n\n{table}")
    print(f"\nCheck: {within} of {compared} rows within one committed sd over seeds of the committed value "
          f"({path})", flush=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
