"""Recipes: everything that determines a trained model, as frozen dataclasses with a content address.

A Recipe names the architecture, data, optimisation, method and its hyperparameters, the seed, and the
recipes of its guides (recursively). `Recipe.address()` hashes all of it; the store keys models by it.
Profiles (smoke / cpu / paper) live here and nowhere else.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

from .models import MODEL_NAMES

METHODS = ("scratch", "kd", "dgkd", "hint")
SCHEDULES = ("constant", "step", "takd_code", "onecycle")


@dataclass(frozen=True)
class DataSpec:
    dataset: str = "cifar10"
    train_per_class: int | None = None  # None: every training image not held out for validation
    val_per_class: int = 0  # held out of the training set, used for model selection
    test_per_class: int | None = None  # None: the whole test set
    augment: bool = False  # random crop (pad 4) + flip; the TAKD code trained without
    split_seed: int = 0  # fixed across model seeds, so every model sees the same images


@dataclass(frozen=True)
class Optim:
    epochs: int
    lr: float
    schedule: str = "constant"
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 1e-4
    precision: str = "bf16"  # autocast dtype for forward passes; "fp32" disables autocast
    # False: the test set is scored once at the end (final and validation-selected epochs), not every epoch,
    # so the history has no best-test-over-epochs number (the TAKD code's protocol)
    test_every_epoch: bool = True


@dataclass(frozen=True)
class Recipe:
    arch: str
    data: DataSpec
    optim: Optim
    seed: int
    method: str = "scratch"
    guides: tuple["Recipe", ...] = ()  # kd: (teacher,); dgkd: (teacher, TA1, ...); hint: (teacher,)
    tau: float = 4.0
    lam: float = 0.5
    kl: str = "batchmean"
    drop: str = "none"  # dgkd guide dropping: "none" | "bernoulli" | "fixed"
    keep_prob: float = 1.0  # bernoulli: probability of keeping each guide per step
    drop_num: int = 0  # fixed: number of guides dropped per step
    hint_layers: tuple[int, int] | None = None  # (student guided block, teacher hint block)
    init: "Recipe | None" = None  # start from this recipe's weights (FitNets stage 2)
    profile: str = ""  # the profile's name, for people reading the store; part of the address

    def __post_init__(self):
        if self.arch not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.arch!r}; known models: {', '.join(MODEL_NAMES)}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; known: {', '.join(METHODS)}")
        if self.optim.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.optim.schedule!r}; known: {', '.join(SCHEDULES)}")
        wanted = {"scratch": (0, 0), "kd": (1, 1), "hint": (1, 1), "dgkd": (1, 99)}[self.method]
        if not wanted[0] <= len(self.guides) <= wanted[1]:
            raise ValueError(f"method {self.method!r} takes {wanted} guides, got {len(self.guides)}")
        if self.method == "hint" and self.hint_layers is None:
            raise ValueError("method 'hint' needs hint_layers=(student block, teacher block)")

    def address(self) -> str:
        """sha256 of the canonical JSON of the whole recipe, guides included."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def describe(self) -> str:
        """Human-readable lineage, e.g. 'plain2 <- kd(plain4 <- kd(plain10))'."""
        if not self.guides:
            base = self.arch
        elif self.method == "kd" and self.init is None:
            base = f"{self.arch} <- {self.guides[0].describe()}"
        else:  # several guides: their architectures suffice, their own lineage is in their recipes
            base = f"{self.arch} <- {self.method}[{', '.join(g.arch for g in self.guides)}]"
        if self.init is not None:
            base += " (from hint stage)"
        return base

    def short(self) -> str:
        return f"{self.describe()} seed {self.seed} {self.profile}".strip()


@dataclass(frozen=True)
class Profile:
    """One experiment scale: data, optimisation per model family, distillation hyperparameters, seeds."""

    name: str
    data: DataSpec
    plain_optim: Optim
    resnet_optim: Optim
    tau: float
    lam: float
    seeds: tuple[int, ...]
    resnet_chain: tuple[str, ...]  # teacher -> TA -> student for the ResNet experiments
    resnet_teachers: tuple[str, ...]  # teachers of resnet8 in the gap experiment
    landscape_steps: int = 21  # grid points per axis of a 2-D loss surface
    landscape_images: int = 2000  # fixed test images the surfaces are evaluated on
    note: str = ""

    def optim_for(self, arch: str) -> Optim:
        return self.resnet_optim if arch.startswith("resnet") else self.plain_optim


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        data=DataSpec(train_per_class=20, val_per_class=10, test_per_class=20, augment=True),
        plain_optim=Optim(epochs=1, lr=0.05, schedule="onecycle", batch_size=64, test_every_epoch=False),
        resnet_optim=Optim(epochs=1, lr=0.05, schedule="onecycle", batch_size=64, test_every_epoch=False),
        tau=4.0, lam=0.5, seeds=(0,), resnet_chain=("resnet20", "resnet14", "resnet8"),
        resnet_teachers=("resnet14", "resnet20"), landscape_steps=5, landscape_images=200,
        note="every code path in seconds; no claim is judged",
    ),
    "cpu": Profile(
        name="cpu",
        data=DataSpec(train_per_class=500, val_per_class=100, test_per_class=500, augment=False),
        plain_optim=Optim(epochs=10, lr=0.05, schedule="onecycle", test_every_epoch=False),
        resnet_optim=Optim(epochs=10, lr=0.05, schedule="onecycle", test_every_epoch=False),
        tau=4.0, lam=0.5, seeds=(0, 1, 2), resnet_chain=("resnet20", "resnet14", "resnet8"),
        resnet_teachers=("resnet14", "resnet20"), landscape_images=1000,
        note="5,000 training / 1,000 validation / 5,000 test images, 10 epochs, no augmentation, 3 seeds",
    ),
    "paper": Profile(
        name="paper",
        data=DataSpec(train_per_class=None, val_per_class=0, test_per_class=None, augment=False),
        plain_optim=Optim(epochs=160, lr=0.01, schedule="constant", precision="bf16"),
        resnet_optim=Optim(epochs=160, lr=0.1, schedule="takd_code", precision="bf16"),
        tau=4.0, lam=0.5, seeds=(20, 31, 55), resnet_chain=("resnet110", "resnet20", "resnet8"),
        resnet_teachers=("resnet14", "resnet20", "resnet26", "resnet32", "resnet44", "resnet56", "resnet110"),
        landscape_steps=41, landscape_images=10000,
        note="the TAKD code's settings (full data, 160 epochs, its learning rates and seeds); for a GPU",
    ),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def scratch(arch: str, profile: str | Profile, seed: int, dataset: str = "cifar10", **overrides) -> Recipe:
    """A model trained alone (cross-entropy only)."""
    p = get_profile(profile) if isinstance(profile, str) else profile
    return Recipe(arch=arch, data=replace(p.data, dataset=dataset), optim=p.optim_for(arch), seed=seed,
                  tau=p.tau, lam=p.lam, profile=p.name, **overrides)


def distill(arch: str, teacher: Recipe, **overrides) -> Recipe:
    """`arch` trained by KD from `teacher`, with the teacher's profile, data and seed unless overridden."""
    p = get_profile(teacher.profile)
    fields = dict(arch=arch, data=teacher.data, optim=p.optim_for(arch), seed=teacher.seed, method="kd",
                  guides=(teacher,), tau=p.tau, lam=p.lam, kl=teacher.kl, profile=p.name)
    fields.update(overrides)
    return Recipe(**fields)


def chain(archs: list[str] | tuple[str, ...], profile: str | Profile, seed: int, dataset: str = "cifar10",
          **overrides) -> Recipe:
    """Teacher -> TA(s) -> student: `chain(["plain10", "plain4", "plain2"], "cpu", 0)` is TAKD.

    overrides (e.g. kl="elementmean") apply to every distillation step; the teacher is trained alone.
    """
    recipe = scratch(archs[0], profile, seed, dataset)
    for arch in archs[1:]:
        recipe = distill(arch, recipe, **overrides)
    return recipe


def dgkd(archs: list[str] | tuple[str, ...], profile: str | Profile, seed: int, dataset: str = "cifar10",
         drop: str = "none", keep_prob: float = 0.75, drop_num: int = 1) -> Recipe:
    """Densely guided chain: every TA and the student learn from the teacher and all larger TAs.

    Guide dropping (`drop`) applies to the student only, as in the DGKD paper and code.
    """
    teacher = scratch(archs[0], profile, seed, dataset)
    guides = [teacher]
    for arch in archs[1:-1]:
        # the first TA has one guide, where DGKD is plain KD: share the TAKD model (same address)
        ta = distill(arch, teacher) if len(guides) == 1 else distill(arch, teacher, method="dgkd", guides=tuple(guides))
        guides.append(ta)
    extra = {"bernoulli": dict(keep_prob=keep_prob), "fixed": dict(drop_num=drop_num), "none": {}}
    if drop not in extra:
        raise ValueError(f"unknown drop mode {drop!r}; known: {', '.join(extra)}")
    return distill(archs[-1], teacher, method="dgkd", guides=tuple(guides), drop=drop, **extra[drop])


def baselines(archs: list[str] | tuple[str, ...], profile: str | Profile, seed: int,
              dataset: str = "cifar10", **overrides) -> dict[str, Recipe]:
    """NOKD (student alone), BLKD (teacher -> student) and TAKD (the whole chain) for one seed."""
    return {"NOKD": scratch(archs[-1], profile, seed, dataset),
            "BLKD": chain([archs[0], archs[-1]], profile, seed, dataset, **overrides),
            "TAKD": chain(archs, profile, seed, dataset, **overrides)}


def fitnet(student: str, teacher: Recipe, hint_layers: tuple[int, int], hint_epochs: int | None = None) -> Recipe:
    """FitNets: stage 1 trains the student up to its guided block to predict the teacher's hint block
    through a regressor; stage 2 (the returned recipe) trains the whole student by KD from there."""
    p = get_profile(teacher.profile)
    optim = p.optim_for(student)
    stage1 = distill(student, teacher, method="hint", hint_layers=hint_layers,
                     optim=replace(optim, epochs=hint_epochs or max(1, optim.epochs // 2)))
    return distill(student, teacher, init=stage1)


def with_data(recipe: Recipe, **changes) -> Recipe:
    """The same recipe (guides included) on changed data settings, e.g. augment=True."""
    return replace(recipe, data=replace(recipe.data, **changes),
                   guides=tuple(with_data(g, **changes) for g in recipe.guides),
                   init=None if recipe.init is None else with_data(recipe.init, **changes))
