"""What a profile costs: its trainings and their device time, estimated from images seen and images/s.

The notebooks are the only list of what they train, so a full run's store is the census: every recipe.json
in it, reduced to what does not depend on the profile (architecture, role, guides, dataset). `census()`
takes it and `results/census.json` keeps the cpu run's. `trainings()` maps the census onto any profile's
regimes (the same notebooks with other data, epochs, seeds and ResNet lists), and `seconds()` prices one
training: images seen / images per second, plus a forward pass of each guide per image it labels (once
when the student's images are not augmented, at every step when they are; the store shares the unaugmented
pass between the students of one guide, which this counts once per student). An estimate: it leaves out
evaluation, data loading and start-up, and "on 8 devices" assumes perfect packing.

    python -m takdlib.budget --rates benchmarks/rates-cpu.json          # measured images/s (gpu_throughput.py --json)
    python -m takdlib.budget --assume-tflops 25 --device-name H100     # no measurement yet: FLOPs at an assumed rate
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from .data import NUM_CLASSES
from .files import quote_in
from .profiles import PROFILES, evidence_profile, get_profile
from .methods import recipe_from_dict
from .recipes import STUDENT_SEED_STRIDE, Profile
from .locations import stored_files

FULL_TRAIN_PER_CLASS = {"cifar10": 5000, "cifar100": 500}  # CIFAR's training images per class
FORWARD_SHARE = 1 / 3  # a forward pass costs about a third of a training step (forward + backward + update)
DEFAULT_CENSUS = Path(__file__).resolve().parent.parent / "results" / "census.json"


@dataclass(frozen=True)
class Entry:
    """A training as the census keeps it: what stays the same from profile to profile."""

    arch: str  # ResNets of the profile's chain are named by position: "resnet_chain[0]" is the head
    role: str
    dataset: str
    guides: tuple[str, ...]
    epoch_share: float = 1.0  # of its role's epochs (FitNets' hint stage trains half as long)
    augmented: bool = False  # augmented although its role is not (notebook 02's side experiment)


@dataclass(frozen=True)
class Training:
    """One training reduced to what takes time."""

    arch: str
    images: int  # training images per epoch
    epochs: int
    augment: bool
    guides: tuple[str, ...]  # architectures whose logits it learns from


def _generic(arch: str, profile: Profile) -> str:
    return f"resnet_chain[{profile.resnet_chain.index(arch)}]" if arch in profile.resnet_chain else arch


def _concrete(arch: str, profile: Profile) -> str:
    return profile.resnet_chain[int(arch[len("resnet_chain["):-1])] if arch.startswith("resnet_chain[") else arch


def _kept_from_a_whole_run(folder: Path) -> bool:
    """An early stop the store took from its whole run's kept epochs (`Store`): stored, but never trained."""
    meta = folder / "meta.json"
    return meta.exists() and "stopped_from" in json.loads(meta.read_text())


def census(store_root: str | Path, profile: str) -> Counter:
    """Entry -> number of trainings per seed, from every model of `profile` in a store."""
    p = get_profile(profile)
    recipes = [recipe_from_dict(json.loads(f.read_text())) for f in stored_files(store_root, "recipe.json")
               if not _kept_from_a_whole_run(f.parent)]
    # a seed's further students (Recipes.student_seeds) are left out: `trainings` adds the target profile's
    recipes = [r for r in recipes if r.profile == profile and r.seed < STUDENT_SEED_STRIDE]
    if not recipes:
        raise ValueError(f"{store_root} holds no model of profile {profile!r}: run it first "
                         f"(./run_all.sh --profile {profile})")
    unknown = [r.short() for r in recipes if not r.role]
    if unknown:
        raise ValueError(f"{len(unknown)} recipes in {store_root} were built without a role (e.g. {unknown[0]}): "
                         "the census counts the notebooks' recipes, which the builders give one")
    counts = Counter()
    for r in recipes:
        role = r.role
        own = p.regime(role)
        counts[Entry(_generic(r.arch, p), role, r.data.dataset, tuple(_generic(g.arch, p) for g in r.guides),
                     round(r.optim.epochs_run / own.optim_for(r.arch).epochs, 3),
                     r.data.augment and not own.data_for(r.arch).augment)] += 1
    seeds = len(p.seeds)
    return Counter({e: n / seeds for e, n in counts.items()})


def spent(store_root: str | Path, since: float, until: float) -> dict:
    """Where the seconds of a stretch of a run went, from what the store wrote in it (file times in [since,
    until], seconds since the epoch): {"train": {role: {arch: seconds}}, "trained": models, "compile": seconds of
    those trainings spent compiling their steps (`Optim.compile`; part of "train"), "derived": seconds computing
    values from models (guides' logits for their students, test logits, loss surfaces)}. Trainings on Dask
    workers count as theirs."""
    from .files import verified_torch_load

    train: dict[str, dict[str, float]] = {}
    trained, compiling = 0, 0.0
    for meta_file in stored_files(store_root, "meta.json"):
        if since <= meta_file.stat().st_mtime <= until:
            recipe, meta = json.loads((meta_file.parent / "recipe.json").read_text()), json.loads(meta_file.read_text())
            by_arch = train.setdefault(recipe.get("role") or "unknown", {})
            by_arch[recipe["arch"]] = by_arch.get(recipe["arch"], 0.0) + meta["wall_seconds"]
            compiling += meta.get("compile_seconds", 0.0)
            trained += 1
    derived = 0.0
    for path in Path(store_root).glob("*/*/*-*.pt"):
        if since <= path.stat().st_mtime <= until:
            derived += verified_torch_load(path, weights_only=False).get("seconds", 0.0)
    rounded = {role: {a: round(t, 1) for a, t in sorted(archs.items())} for role, archs in sorted(train.items())}
    return {"train": rounded, "trained": trained, "compile": round(compiling, 1), "derived": round(derived, 1)}


def write_census(counts: Counter, path: Path, source: str) -> None:
    rows = [dict(asdict(e), per_seed=n) for e, n in sorted(counts.items(), key=lambda kv: str(kv[0]))]
    path.write_text(json.dumps({"source_profile": source, "entries": rows}, indent=1) + "\n")


def read_census(path: str | Path = DEFAULT_CENSUS) -> tuple[str, Counter]:
    payload = json.loads(Path(path).read_text())
    counts = Counter()
    for row in payload["entries"]:
        n = row.pop("per_seed")
        counts[Entry(**{**row, "guides": tuple(row["guides"])})] = n
    return payload["source_profile"], counts


def trainings(counts: Counter, source: str, target: str) -> list[Training]:
    """The trainings `target` runs, from the census of a `source` run: its roles' data and epochs, its seeds
    and students per seed (every cheap student counted that many times: an upper bound, as a notebook's side
    experiments may train one), its ResNet chain, and for each ResNet teacher it lists beyond the source's, a
    teacher and a student."""
    s, t = get_profile(source), get_profile(target)
    out = []
    for e, per_seed in counts.items():
        regime, arch = t.regime(e.role), _concrete(e.arch, t)
        data = regime.data_for(arch)
        per_class = data.train_per_class or FULL_TRAIN_PER_CLASS[e.dataset] - data.val_per_class
        epochs = max(1, round(regime.optim_for(arch).epochs * e.epoch_share))
        tr = Training(arch, per_class * NUM_CLASSES[e.dataset], epochs, data.augment or e.augmented,
                      tuple(_concrete(g, t) for g in e.guides))
        students = t.students_per_seed if e.role == "student" and arch in t.cheap_students else 1
        out += [tr] * round(per_seed * len(t.seeds) * students)
    student, listed = t.resnet_chain[-1], {_concrete(_generic(a, s), t) for a in s.resnet_teachers}
    for arch in (a for a in t.resnet_teachers if a not in listed):
        for role, a, guides in (("teacher", arch, ()), ("student", student, (arch,))):
            r = t.regime(role)
            d = r.data_for(a)
            n = (d.train_per_class or FULL_TRAIN_PER_CLASS["cifar10"] - d.val_per_class) * 10
            out += [Training(a, n, r.optim_for(a).epochs, d.augment, guides)] * len(t.seeds)
    return out


def seconds(training: Training, images_per_second: dict[str, float]) -> float:
    """Device seconds of one training: its steps, and its guides' forward passes."""
    steps = training.images * training.epochs / images_per_second[training.arch]
    labelled = training.images * (training.epochs if training.augment else 1)
    return steps + sum(labelled * FORWARD_SHARE / images_per_second[g] for g in training.guides)


def train_flops_per_image(name: str, batch: int = 8) -> float:
    """FLOPs of one training step (forward + backward) per image, counted by PyTorch's flop counter."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from .models import build_model

    model = build_model(name)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / batch


def rates_from_flops(archs, effective_tflops: float, max_steps_per_second: float = 1000.0,
                     batch: int = 128) -> dict[str, float]:
    """Images/s per architecture on a device assumed to sustain `effective_tflops` on these models, and at
    most `max_steps_per_second` steps of `batch` images (small models are bound by kernel launches, not FLOPs)."""
    return {arch: min(effective_tflops * 1e12 / train_flops_per_image(arch), max_steps_per_second * batch)
            for arch in archs}


def estimate(counts: Counter, source: str, target: str, images_per_second: dict[str, float]) -> dict:
    """Number of trainings and device-hours of `target` (one device; 8 with perfect packing)."""
    trs = trainings(counts, source, target)
    missing = sorted({a for t in trs for a in (t.arch, *t.guides)} - set(images_per_second))
    if missing:
        raise ValueError(f"no images/s for {', '.join(missing)}: measure them (benchmarks/gpu_throughput.py --json)")
    total = sum(seconds(t, images_per_second) for t in trs)
    return {"profile": target, "trainings": len(trs), "device_hours": total / 3600, "hours_on_8": total / 3600 / 8}


def table(counts: Counter, source: str, images_per_second: dict[str, float], device: str) -> str:
    """A markdown table of every profile's estimate on one device."""
    lines = [f"| profile | trainings | {device}: device-hours (estimate) | on 8 of them |", "|---|---|---|---|"]
    for name in PROFILES:
        try:
            e = estimate(counts, source, name, images_per_second)
        except ValueError as err:  # a model this device's rates leave out
            lines.append(f"| {name} | {len(trainings(counts, source, name))} | ({err}) | |")
            continue
        lines.append(f"| {name} | {e['trainings']} | {e['device_hours']:.2f} | {e['hours_on_8']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--census", default=str(DEFAULT_CENSUS), help="a census JSON (default: results/census.json)")
    parser.add_argument("--from-store", metavar="ROOT",
                        help="write the census of the evidence profile's models in this store first")
    parser.add_argument("--rates", help="images/s per architecture, JSON written by benchmarks/gpu_throughput.py --json")
    parser.add_argument("--assume-tflops", type=float, metavar="T",
                        help="no measurement: a device assumed to sustain T TFLOP/s on every model (FLOPs counted)")
    parser.add_argument("--max-steps-per-second", type=float, default=1000.0,
                        help="with --assume-tflops: the most training steps (batch 128) per second, for small models")
    parser.add_argument("--device-name", default="assumed device", help="the device's name in the table (--assume-tflops)")
    parser.add_argument("--readme", metavar="PATH", help="quote the table in this README too (between its "
                        "<!-- budget --> and <!-- /budget -->)")
    args = parser.parse_args(argv)
    if args.readme and not (args.rates or args.assume_tflops):
        parser.error("--readme quotes a table: give --rates or --assume-tflops")
    if args.from_store:
        name = evidence_profile().name
        write_census(census(args.from_store, name), Path(args.census), name)
        print(f"wrote {args.census}")
    source, counts = read_census(args.census)
    if args.rates:
        measured = json.loads(Path(args.rates).read_text())
        rates, device = measured["images_per_second"], measured["device"]
        print(table(counts, source, rates, device))
    if args.assume_tflops:
        archs = {a for name in PROFILES for t in trainings(counts, source, name) for a in (t.arch, *t.guides)}
        device = (f"{args.device_name}, assumed {args.assume_tflops:g} TFLOP/s and at most "
                  f"{args.max_steps_per_second:g} steps/s")
        rates = rates_from_flops(sorted(archs), args.assume_tflops, args.max_steps_per_second)
        print(table(counts, source, rates, device))
    if args.readme:
        quote_in(args.readme, "budget", table(counts, source, rates, device))
        print(f"quoted in {args.readme}")


if __name__ == "__main__":
    main()
