"""Content-addressed model store: `Store(...).get(recipe)` loads a trained model or trains it once.

Layout: <root>/<address[:2]>/<address>/{model.pt, history.json, recipe.json, meta.json}, plus partial.pt
while training (the resume point), *.sha256 beside each torch file, train.lock (one training per address)
and trainings.jsonl (one line per training started). The address is the recipe's hash combined with the
data source's fingerprint, so models trained on different copies of CIFAR never mix. The root may be any
folder every process sees, a shared (NFS) folder included, for trainings spread over machines.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import torch
from filelock import FileLock, Timeout
from torch import nn

from .data import NUM_CLASSES, Arrays, Split, load_arrays, make_split
from .locations import STORE_ENV, resolve_store, stored_files
from .files import (CorruptFile, StorageError, atomic_torch_save, atomic_write_text, discard, sha256_file,
                    verified_torch_load)
from .models import build_model
from .recipes import DataSpec, Recipe
from .train import fixed_guide_targets, kept_point, reproducible, shares_guide_logits, stopped_early, train



@dataclass
class Trained:
    model: nn.Module  # eval mode, on the store's device
    history: dict  # {"epochs": [...], "summary": {...}}
    recipe: Recipe
    address: str
    path: Path

    @property
    def summary(self) -> dict:
        return self.history["summary"]


class Store:
    """root: where artifacts live (default $TAKD_STORE, else <repo>/artifacts: `locations.resolve_store`); data: a CIFAR source
    (see takdlib.data; default $TAKD_DATA, else torchvision download); device: where training runs."""

    def __init__(self, root: str | os.PathLike | None = None, data: str | os.PathLike | None = None,
                 device: str | torch.device = "cpu", log: Callable[[str], None] = print):
        self.root = resolve_store(root)
        self.data = data
        self.device = torch.device(device)
        self.log = log
        self._arrays: dict[str, Arrays] = {}
        self._splits: dict[DataSpec, Split] = {}
        self._memo: dict[str, Trained] = {}

    # data -------------------------------------------------------------------------------------
    def arrays(self, dataset: str) -> Arrays:
        if dataset not in self._arrays:
            self._arrays[dataset] = load_arrays(dataset, self.data)
        return self._arrays[dataset]

    def split(self, spec: DataSpec) -> Split:
        """The tensors a recipe with this DataSpec trains and is evaluated on, on the store's device."""
        if spec not in self._splits:
            self._splits[spec] = make_split(self.arrays(spec.dataset), spec.train_per_class, spec.val_per_class,
                                            spec.test_per_class, spec.split_seed, self.device, spec.input_std)
        return self._splits[spec]

    # addressing -------------------------------------------------------------------------------
    def address(self, recipe: Recipe) -> str:
        fingerprint = self.arrays(recipe.data.dataset).fingerprint
        return hashlib.sha256(f"{recipe.address()}:{fingerprint}".encode()).hexdigest()

    def path(self, recipe: Recipe) -> Path:
        address = self.address(recipe)
        return self.root / address[:2] / address

    def has(self, recipe: Recipe) -> bool:
        """Whether `recipe` is stored (completed training; its content is checked when it is loaded)."""
        return self.address(recipe) in self._memo or (self.path(recipe) / "meta.json").exists()

    # the one entry point ----------------------------------------------------------------------
    def get(self, recipe: Recipe) -> Trained:
        """The trained model for `recipe`: from memory, from disk, or trained now (guides first).

        Safe to call from many processes and machines sharing the store: a lock on the address means one
        training however many ask; the others wait, then load it. The lock is the operating system's
        (filelock's flock on POSIX), so a killed process's lock is released with it."""
        address = self.address(recipe)
        if address in self._memo:
            return self._memo[address]
        folder = self.path(recipe)
        trained = self._load(recipe, address, folder)
        if trained is None:
            guides = [self.get(g).model for g in recipe.guides]
            init_state = None if recipe.init is None else self.get(recipe.init).model.state_dict()
            with self._lock(folder, recipe):
                trained = self._load(recipe, address, folder) or self._train(recipe, address, folder, guides,
                                                                             init_state)
        self._memo[address] = trained
        return trained

    def derived(self, recipe: Recipe, name: str, params: dict, compute: Callable[[], dict]) -> dict:
        """A value computed from a stored model (a loss surface, say), stored beside it under `name` and a hash
        of `params` (everything besides the model that determines it): computed once, then loaded.

        compute() returns a dict of numbers and arrays."""
        self.get(recipe)
        key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = self.path(recipe) / f"{name}-{key}.pt"
        if path.exists():
            try:
                return verified_torch_load(path, weights_only=False)["value"]
            except CorruptFile as err:
                self.log(f"WARNING: {err}; computing {name} again")
                discard(path)
        started = time.perf_counter()
        value = compute()
        atomic_torch_save({"params": params, "value": value, "seconds": time.perf_counter() - started}, path)
        return value

    def guide_logits(self, recipe: Recipe) -> list[torch.Tensor] | None:
        """Each guide's logits (N, classes) on `recipe`'s training images where they are the same every epoch
        (`shares_guide_logits`), else None. Stored beside the guide, so the many students one teacher
        teaches on one split share a single pass over it."""
        if not shares_guide_logits(recipe):
            return None
        x = self.split(recipe.data).train_x

        def logits(guide: Recipe) -> dict:
            with reproducible(self.device):
                return {"logits": fixed_guide_targets(recipe, [self.get(guide).model], x)[0]}

        params = dict(images=asdict(recipe.data), precision=recipe.optim.precision)
        return [self.derived(g, "train_logits", params, lambda g=g: logits(g))["logits"].to(x.device)
                for g in recipe.guides]

    @contextlib.contextmanager
    def _lock(self, folder: Path, recipe: Recipe):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(folder / "train.lock")
            try:
                lock.acquire(timeout=0)
            except Timeout:
                self.log(f"waiting: another process is training {recipe.short()}")
                lock.acquire()
        except OSError as err:
            raise StorageError(f"cannot write {folder}: {err.strerror or err}") from None
        try:
            yield
        finally:
            lock.release()

    def _load(self, recipe: Recipe, address: str, folder: Path) -> Trained | None:
        meta_file, model_file = folder / "meta.json", folder / "model.pt"
        if not meta_file.exists():
            return None
        try:
            json.loads(meta_file.read_text())
            state = verified_torch_load(model_file, map_location=self.device, weights_only=True)
            model = build_model(recipe.arch, NUM_CLASSES[recipe.data.dataset])
            model.load_state_dict(state)
            history = json.loads((folder / "history.json").read_text())
        except Exception as err:
            self.log(f"WARNING: stored checkpoint {folder} is corrupt ({err}); retraining {recipe.short()}")
            meta_file.unlink(missing_ok=True)
            discard(model_file)
            return None
        model = model.to(self.device, memory_format=torch.channels_last).eval()
        return Trained(model, history, recipe, address, folder)

    def _train(self, recipe: Recipe, address: str, folder: Path, guides: list[nn.Module],
               init_state: dict | None) -> Trained:
        # only the lock holder writes these files, so a temporary copy of one found now is a killed trainer's
        for name in ("partial.pt", "model.pt", "history.json", "meta.json", "recipe.json"):
            for leftover in folder.glob(f".{name}.*.tmp"):
                discard(leftover)
        check_room(folder, recipe, NUM_CLASSES[recipe.data.dataset])
        atomic_write_text(folder / "recipe.json", json.dumps(recipe.as_dict(), indent=1, sort_keys=True))
        with open(folder / "trainings.jsonl", "a") as f:  # one line per training started: how often, where
            f.write(json.dumps(dict(pid=os.getpid(), host=socket.gethostname(), started=time.time())) + "\n")
        point, whole = self._kept_point_for(recipe)
        # the guides' logits are values derived from other models, timed as such (`budget.spent`), not as training
        guide_logits = None if point is not None else self.guide_logits(recipe)
        started = time.time()
        log_file = folder / "train.log"  # every epoch's line: the notebook shows one line per model

        def epoch_line(line: str) -> None:
            with open(log_file, "a") as f:
                f.write(line + "\n")

        if point is not None:  # an early stop of a stored whole run: its weights after that epoch, not trained again
            model, history = stopped_early(recipe, self.split(recipe.data), point, self.device)
        else:
            model, history = train(recipe, self.split(recipe.data), guides, init_state, folder / "partial.pt",
                                   self.device, self.log, guide_logits, epoch_line,
                                   keep=folder if keeps_epochs(recipe) else None)
        atomic_torch_save(model.state_dict(), folder / "model.pt")
        atomic_write_text(folder / "history.json", json.dumps(history, indent=1))
        meta = dict(address=address, description=recipe.short(), arch=recipe.arch, method=recipe.method.name,
                    seed=recipe.seed, profile=recipe.profile, dataset=recipe.data.dataset,
                    sha256=sha256_file(folder / "model.pt"), trained_at=time.strftime("%Y-%m-%d %H:%M:%S"),
                    wall_seconds=time.time() - started, device=str(self.device), **history["summary"],
                    **({} if whole is None else {"stopped_from": whole}))
        atomic_write_text(folder / "meta.json", json.dumps(meta, indent=1))  # written last: marks completion
        discard(folder / "partial.pt")
        s = history["summary"]
        how = "trained" if whole is None else "kept from its whole run (not trained again)"
        self.log(f"{how} {recipe.short()}: test {s['final_test_acc']:.1f}% after {len(history['epochs'])} epochs, "
                 f"{meta['wall_seconds']:.0f} s" + ("" if whole else f" (each epoch: {log_file})"))
        return Trained(model, history, recipe, address, folder)

    def _kept_point_for(self, recipe: Recipe) -> tuple[dict | None, str | None]:
        """For an early-stopped recipe whose whole run is stored with its epochs kept: the kept point after its
        last epoch and the whole run's address; else (None, None)."""
        if not recipe.optim.stop_after:
            return None, None
        whole = replace(recipe, optim=replace(recipe.optim, stop_after=None))
        path = kept_point(self.path(whole), recipe.optim.stop_after)
        if not (self.has(whole) and path.exists()):
            return None, None
        try:
            return verified_torch_load(path, map_location=self.device, weights_only=False), self.address(whole)
        except CorruptFile as err:
            self.log(f"WARNING: {err}; training {recipe.short()} instead")
            discard(path)
            return None, None

    # index ------------------------------------------------------------------------------------
    def index(self) -> list[dict]:
        """One dict per stored model: description, accuracies, training time, size on disk."""
        rows = []
        for meta_file in stored_files(self.root, "meta.json"):
            meta = json.loads(meta_file.read_text())
            meta["megabytes"] = sum(f.stat().st_size for f in meta_file.parent.iterdir()) / 1e6
            rows.append(meta)
        return rows


# a resume point holds the model, the optimiser's momentum and the validation-selected weights, each about the
# model's size, and is written beside the last one (a temporary copy, then a rename); model.pt and the logs besides
CHECKPOINT_COPIES = 6
ROOM_MARGIN_BYTES = 256 * 2**10  # the logs, the history and the recipe beside them


def keeps_epochs(recipe: Recipe) -> bool:
    """Whether the store keeps a training's state after each epoch (`train.kept_point`): a teacher's whole run,
    so that its early stops (`recipes.early_stopped`, Cho & Hariharan's early-stopped teacher) cost no training.
    A point holds the weights twice (the model's and the validation-selected state's)."""
    return recipe.role == "teacher" and not recipe.optim.stop_after


def room_needed(recipe: Recipe, num_classes: int) -> int:
    """Bytes a training of `recipe` writes into its folder at most at once: its checkpoints and kept epochs,
    with a margin."""
    model = build_model(recipe.arch, num_classes)
    size = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    kept = 2 * (recipe.optim.epochs - 1) * size if keeps_epochs(recipe) else 0
    return CHECKPOINT_COPIES * size + kept + ROOM_MARGIN_BYTES


def check_room(folder: Path, recipe: Recipe, num_classes: int) -> None:
    """Stop before a training's first step where its folder has no room for the checkpoints it will write."""
    needed, free = room_needed(recipe, num_classes), shutil.disk_usage(folder).free
    if free < needed:
        raise StorageError(f"no room to train {recipe.short()} in {folder}: {free / 1e6:.1f} MB free, "
                           f"{needed / 1e6:.1f} MB needed for its checkpoints; free space or set {STORE_ENV} "
                           "to a folder on another disk")


def format_index(rows: list[dict]) -> str:
    lines = [f"{'address':12}  {'final':>6}  {'val-sel':>7}  {'best':>6}  {'train s':>8}  {'MB':>6}  recipe"]
    for r in rows:
        sel, best = r.get("val_selected_test_acc"), r.get("best_test_acc")
        lines.append(f"{r['address'][:12]}  {r['final_test_acc']:6.2f}  {'' if sel is None else f'{sel:.2f}':>7}  "
                     f"{'' if best is None else f'{best:.2f}':>6}  {r['train_seconds']:8.1f}  {r['megabytes']:6.2f}  "
                     f"{r['description']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List the models in a takdlib store, or pack and unpack them to "
                                                 "share a store (e.g. a class's trained teachers).")
    parser.add_argument("command", nargs="?", default="list", choices=["list", "pack", "unpack"])
    parser.add_argument("archive", nargs="?", help="pack / unpack: the .tar.gz to write or read")
    parser.add_argument("--store", default=None, help=f"store folder (default ${STORE_ENV}, else <repo>/artifacts)")
    parser.add_argument("--role", nargs="+", default=[], choices=["teacher", "assistant", "student"],
                        help="pack only models built for these roles (default: every model)")
    parser.add_argument("--profile", default=None, help="pack only this profile's models")
    args = parser.parse_args(argv)
    root = resolve_store(args.store)
    if args.command == "list":
        rows = Store(root).index()
        print(f"{len(rows)} models in {root}" + (f"\n{format_index(rows)}" if rows else ""))
        return 0
    from .packs import BadPack, pack, select, unpack

    if not args.archive:
        parser.error(f"{args.command} needs the archive's path")
    if args.command == "pack":
        folders = select(root, tuple(args.role), args.profile)
        index = pack(root, args.archive, folders)
        size = Path(args.archive).stat().st_size / 1e6
        print(f"packed {len(index['models'])} models of {root} into {args.archive} ({size:.1f} MB)")
        return 0
    try:
        added, present = unpack(args.archive, root)
    except BadPack as err:
        print(f"refused: {err}")
        return 1
    print(f"unpacked {args.archive} into {root}: {added} models added, {present} already there (every file "
          "checked against the pack's checksums)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
