"""What a notebook's second cell calls: resolve parameters into a store, seeds and output folders."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .cluster import train_on_cluster
from .locations import REPO_ROOT, resolve_data, resolve_profile, resolve_store
from .plots import save_figure
from .profiles import get_profile, summary
from .recipes import Profile, Recipe, Recipes
from .fidelity import fidelity
from .files import write_json
from .store import Store
from .train import progress_enabled, resolve_device



def output_root(profile: Profile, out_dir: str | None = None) -> Path:
    """Where a run's figures/ and results/ go: `out_dir` when given, else the repository's top for the
    profile whose outputs are the committed evidence, else runs/<profile>/, so it never overwrites them."""
    if out_dir:
        return Path(out_dir).expanduser().resolve()
    return REPO_ROOT if profile.evidence else REPO_ROOT / "runs" / profile.name


@dataclass
class Experiment:
    name: str  # the notebook's name, e.g. "02_takd": prefixes its figures and names its results file
    profile: Profile
    dataset: str
    seeds: tuple[int, ...]
    store: Store
    figures_dir: Path
    results_dir: Path
    client: object = None  # a dask.distributed Client when trainings run on a cluster (takdlib.cluster)

    @property
    def recipes(self) -> Recipes:
        """The builders of this notebook's recipes: its profile, on its dataset."""
        return Recipes(self.profile, self.dataset)

    def on(self, dataset: str) -> "Experiment":
        """The same experiment (store, seeds, outputs) with its recipes on another dataset."""
        return replace(self, dataset=dataset)

    def train(self, recipes: list[Recipe]) -> None:
        """Train every recipe not yet stored, and what it needs: all at once on the workers where the experiment
        has some; without workers each trains here when first asked for (`get`, `measure`, `store.derived`)."""
        missing = [r for r in recipes if not self.store.has(r)]
        if self.client is not None and missing:
            train_on_cluster(self.client, self.store, missing)

    def get(self, recipe: Recipe):
        """The trained model of `recipe`: loaded, else trained (on the workers where the experiment has some)."""
        self.train([recipe])
        return self.store.get(recipe)

    def measure(self, rows: list[tuple[dict, Recipe | tuple[Recipe, ...]]]) -> pd.DataFrame:
        """Train or load every recipe; one row per (labels, recipe) with its labels and accuracies (%).

        acc is the final-epoch test accuracy; val_selected is the test accuracy at the epoch of best
        validation accuracy; best_test is the maximum test accuracy over epochs (the TAKD code's number,
        None unless the profile scores the test set every epoch); agreement (%) and kl (nats) are a distilled
        model's fidelity to the teacher at the head of its lineage (`takdlib.fidelity`), None for a model
        trained alone. A row may hold several recipes, the
        students of one seed (`Recipes.student_seeds`): its accuracies are their means, `students` says how
        many, `student_accs` lists their final-epoch test accuracies, and seed is the first one's.
        """
        rows = [(labels, (r,) if isinstance(r, Recipe) else tuple(r)) for labels, r in rows]
        every = [recipe for _, recipes in rows for recipe in recipes]
        self.train(every)  # with workers, every missing model at once there; then loaded below
        to_train = {recipe.address() for recipe in every if not self.store.has(recipe)}
        planned, loaded = len(to_train), len({r.address() for r in every}) - len(to_train)
        started, done = time.perf_counter(), 0
        bar = _model_bar(planned, self.name)
        records = []
        for labels, recipes in rows:
            summaries = []
            for recipe in recipes:
                if recipe.address() in to_train:
                    to_train.discard(recipe.address())
                    left = ""
                    if done:
                        per_model = (time.perf_counter() - started) / done
                        left = f", about {_minutes(per_model * (len(to_train) + 1))} left"
                    done += 1
                    _progress(f"{self.name}: model {done} of {planned} to train: {recipe.short()}{left}")
                    summaries.append(self.store.get(recipe).summary)
                    if bar is not None:
                        bar.update()
                else:
                    summaries.append(self.store.get(recipe).summary)
            fidelities = [fidelity(self.store, r) if r.guides else None for r in recipes]
            records.append(dict(labels, seed=recipes[0].seed, acc=_mean(s["final_test_acc"] for s in summaries),
                                val_selected=_mean(s["val_selected_test_acc"] for s in summaries),
                                best_test=_mean(s["best_test_acc"] for s in summaries),
                                students=len(recipes), student_accs=[s["final_test_acc"] for s in summaries],
                                train_seconds=sum(s["train_seconds"] for s in summaries),
                                agreement=_mean(f and f["agreement"] for f in fidelities),
                                kl=_mean(f and f["kl"] for f in fidelities),
                                recipe=recipes[0].describe()))
        if bar is not None:
            bar.close()
        # the one line a reader of the notebook sees; each model's own lines are in the store (train.log)
        print(f"{self.name}: {len(rows)} rows; trained {planned} model{'s' * (planned != 1)} in "
              f"{_minutes(time.perf_counter() - started)}, {loaded} loaded from the store")
        return pd.DataFrame.from_records(records)

    @property
    def accuracy_columns(self) -> list[str]:
        """The accuracy columns of `measure` that this profile fills in."""
        regimes = (self.profile.student, self.profile.teacher)
        every_epoch = all(o.test_every_epoch for r in regimes for o in (r.plain, r.resnet))
        return ["acc", "val_selected"] + (["best_test"] if every_epoch else [])

    def save(self, fig, name: str) -> None:
        save_figure(fig, self.figures_dir / f"{self.name}_{name}")

    def write_results(self, payload: dict) -> Path:
        payload = dict(payload, notebook=self.name, profile=self.profile.name, dataset=self.dataset,
                       seeds=list(self.seeds))
        return write_json(payload, self.results_dir / f"{self.name}.json")


PROGRESS_FILE_ENV = "TAKD_PROGRESS_FILE"  # run_all.sh echoes this file's lines in the terminal while a notebook runs


def _progress(line: str) -> None:
    """A line of progress for the person waiting: to run_all.sh's terminal (its progress file) where a runner
    executes the notebook, else to a terminal when there is one; never into the notebook's saved output."""
    if os.environ.get(PROGRESS_FILE_ENV):
        with open(os.environ[PROGRESS_FILE_ENV], "a") as f:
            f.write(line + "\n")
    elif sys.stderr.isatty():
        print(line, file=sys.stderr, flush=True)


def _store_line(line: str) -> None:
    """The store's lines: progress, except a warning, which the reader of the notebook sees as well."""
    if line.startswith("WARNING"):
        print(line, flush=True)
    _progress(line)


def _model_bar(total: int, name: str):
    """A progress bar over the models to train, where a person watches (JupyterLab, a terminal), else None."""
    if not total or not progress_enabled():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"{name}: models to train", leave=False)


def _shown(path: Path) -> str:
    """A path as a reader should see it: from the repository's top (<repo>) when inside it."""
    path = Path(path)
    if not path.is_relative_to(REPO_ROOT):
        return str(path)
    return "/".join(["<repo>", *path.relative_to(REPO_ROOT).parts])


def _mean(values) -> float | None:
    """Mean of numbers; None when any is None (an accuracy the profile does not measure)."""
    values = list(values)
    return None if any(v is None for v in values) else sum(values) / len(values)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def start(name: str, profile: str | None = None, dataset: str = "cifar10", seeds=None, device: str = "cpu",
          data: str | None = None, store: str | None = None, out_dir: str | None = None,
          cluster: str | None = None) -> Experiment:
    """Resolve a notebook's plain parameters. None means: $TAKD_PROFILE (else smoke), the profile's seeds,
    $TAKD_DATA (else a torchvision download), $TAKD_STORE (else <repo>/artifacts), outputs as in `output_root`, training in
    this process (cluster: "local:N" or "tcp://HOST:PORT" trains on Dask workers, see takdlib.cluster)."""
    p = get_profile(resolve_profile(profile))
    resolve_device(device)
    root = output_root(p, out_dir)
    store_root = resolve_store(store)
    client = None
    if cluster:
        from .cluster import connect

        client = connect(cluster)
    data = resolve_data(data)  # resolved here, so Dask workers get the same source
    exp = Experiment(name, p, dataset, tuple(seeds) if seeds is not None else p.seeds,
                     Store(store_root, data, device, log=_store_line), root / "figures", root / "results", client)
    print(f"{name}: profile {p.name} ({p.note}: {summary(p)}); dataset {dataset}; seeds {list(exp.seeds)}; device {device}; "
          f"store {_shown(exp.store.root)}; outputs {_shown(root)}"
          + (f"; trainings on {cluster} ({len(client.scheduler_info()['workers'])} workers)" if client else ""))
    return exp
