"""Recipes: everything that determines a trained model, as frozen dataclasses with a content address.

A Recipe names the architecture, data, optimisation, method and its hyperparameters, the seed, and the
recipes of its guides (recursively). `Recipe.address()` hashes all of it; the store keys models by it.
A `Profile` (their table is `takdlib.profiles`) trains models in one of three roles: a *teacher* (a model
trained alone to teach others: the head of every chain), an *assistant* (a model trained to teach after it was
taught, or a TA trained alone to stand in for one), and a *student* (the last model of a chain, and the
students trained alone that it is compared with). `Recipes` builds every recipe of one profile.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import ClassVar

from .models import MODEL_NAMES

SCHEDULES = ("constant", "step", "takd_code", "onecycle")
PRECISIONS = ("bf16", "fp16", "fp32")
DATASETS = ("cifar10", "cifar100")
ROLES = ("teacher", "assistant", "student")


@dataclass(frozen=True)
class DataSpec:
    dataset: str = "cifar10"
    train_per_class: int | None = None  # None: every training image not held out for validation
    val_per_class: int = 0  # held out of the training set, used for model selection
    test_per_class: int | None = None  # None: the whole test set
    augment: bool = False  # random crop (pad 4) + flip; the TAKD code trained without
    split_seed: int = 0  # fixed across model seeds, so every model sees the same images
    # inputs are normalised per channel to this standard deviation: 1.0 as the TAKD code, 0.5 as its paper's text
    input_std: float = 1.0


@dataclass(frozen=True)
class Optim:
    epochs: int
    lr: float
    schedule: str = "constant"
    batch_size: int = 128
    momentum: float = 0.9
    nesterov: bool = False  # the TAKD paper's text says Nesterov; its code used plain momentum
    weight_decay: float = 1e-4
    milestones: tuple[int, ...] = ()  # "step": epochs at which lr drops 10x; () means at 1/2 and 3/4
    precision: str = "bf16"  # "bf16"/"fp16": autocast forward passes (fp16 with a gradient scaler); "fp32": none
    # False: the test set is scored once at the end (final and validation-selected epochs), not every epoch,
    # so the history has no best-test-over-epochs number (the TAKD code's protocol)
    test_every_epoch: bool = True
    # stop after this many epochs of the schedule above (its learning rates unchanged): an early-stopped model,
    # the weights the whole run has after that epoch (Cho & Hariharan's early-stopped teacher); None: all of them
    stop_after: int | None = None
    # torch.compile (inductor) the training step's forward and backward: the same arithmetic in other kernels, so
    # other rounding (hence in the address); for the models whose step it speeds up (benchmarks/compile_speed.py)
    compile: bool = False

    @property
    def epochs_run(self) -> int:
        """The epochs actually trained."""
        return self.stop_after or self.epochs


# Optim fields added after stores existed, held (and hashed) only where set, so every earlier address stays
_HASHED_WHEN_SET = ("compile",)


@dataclass(frozen=True)
class MethodSettings:
    """How a recipe's model learns: its method's name (a key of `takdlib.methods.METHODS`) and that method's own
    settings. This base class is training alone: cross-entropy on the labels, no guides, nothing to set. Each
    method module subclasses it with its own frozen fields, checked when made (`__post_init__`: finite, in
    range, a clear error naming the field), and the recipe's address hashes them with the name."""

    name: ClassVar[str] = "scratch"
    guides: ClassVar[tuple[int, int]] = (0, 0)  # the fewest and the most guides a recipe of this method has

    def check_guides(self, n: int) -> None:
        """Raise ValueError where a recipe of these settings cannot have `n` guides."""
        least, most = self.guides
        if not least <= n <= most:
            raise ValueError(f"method {self.name!r} takes {least} to {most} guides, got {n}")

    def as_dict(self) -> dict:
        """The settings with their method's name: what a recipe's address and its recipe.json hold."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in fields(self)}}


def check_setting(ok: bool, method: str, name: str, value, allowed: str) -> None:
    """Raise a ValueError naming the method's setting, its value and what it must be, unless `ok`."""
    if not ok:
        raise ValueError(f"{method} setting {name} = {value!r} is not allowed: it must be {allowed}")


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class Recipe:
    arch: str
    data: DataSpec
    optim: Optim
    seed: int
    method: MethodSettings = MethodSettings()  # how it learns: training alone unless a method's settings say else
    guides: tuple["Recipe", ...] = ()  # kd: (teacher,); dgkd: (teacher, TA1, ...); hint: (teacher,)
    init: "Recipe | None" = None  # start from this recipe's weights (FitNets stage 2)
    profile: str = ""  # the profile's name, for people reading the store; part of the address
    # the role it was built for ("teacher", "assistant", "student"; "" by hand): recorded in recipe.json for the
    # census, but not part of what trains the model, so neither hashed nor compared (one model, whichever role
    # asks for it first)
    role: str = field(default="", compare=False)

    def __post_init__(self):
        if self.arch not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.arch!r}; known models: {', '.join(MODEL_NAMES)}")
        if not isinstance(self.method, MethodSettings):
            raise ValueError(f"recipe field method = {self.method!r} is not allowed: it must be a method's settings "
                             "(a MethodSettings, e.g. takdlib.methods.KDSettings())")
        self.method.check_guides(len(self.guides))
        _check_optim(self.optim)
        _check_data(self.data)
        for g in self.guides:
            _check(g.data.input_std == self.data.input_std, "guides' data.input_std", g.data.input_std,
                   f"equal to the student's ({self.data.input_std}): guides see the student's batches")
        _check(self.role in ("", *ROLES), "role", self.role, f"'' or one of {', '.join(ROLES)}")

    def address(self) -> str:
        """sha256 of the canonical JSON of the whole recipe, its method's name and settings and its guides
        included (the role left out: it does not change the model)."""
        blob = json.dumps(self.as_dict(role=False), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def as_dict(self, role: bool = True) -> dict:
        """The recipe as plain JSON values, recursively (what recipe.json holds; `methods.recipe_from_dict`
        reads it back); `role=False`: what its address hashes."""
        optim = {k: v for k, v in asdict(self.optim).items() if k not in _HASHED_WHEN_SET or v}
        d = dict(arch=self.arch, data=asdict(self.data), optim=optim, seed=self.seed,
                 method=self.method.as_dict(), guides=[g.as_dict(role) for g in self.guides],
                 init=None if self.init is None else self.init.as_dict(role), profile=self.profile)
        return {**d, "role": self.role} if role else d

    def describe(self) -> str:
        """Human-readable lineage, e.g. 'plain2 <- kd(plain4 <- kd(plain10))'."""
        name = self.method.name
        if not self.guides:
            base = self.arch
        elif name == "kd" and self.init is None:
            base = f"{self.arch} <- {self.guides[0].describe()}"
        else:  # several guides: their architectures suffice, their own lineage is in their recipes
            base = f"{self.arch} <- {name}[{', '.join(g.arch for g in self.guides)}]"
        if self.init is not None:
            base += " (from hint stage)"
        if self.optim.stop_after:
            base += f" (stopped after epoch {self.optim.stop_after} of {self.optim.epochs})"
        return base

    def short(self) -> str:
        return f"{self.describe()} seed {self.seed} {self.profile}".strip()


def _check(ok: bool, field_name: str, value, allowed: str) -> None:
    if not ok:
        raise ValueError(f"recipe field {field_name} = {value!r} is not allowed: it must be {allowed}")


def _check_optim(o: "Optim") -> None:
    _check(o.schedule in SCHEDULES, "optim.schedule", o.schedule, f"one of {', '.join(SCHEDULES)}")
    _check(isinstance(o.epochs, int) and o.epochs >= 1, "optim.epochs", o.epochs, "an integer >= 1")
    _check(o.lr > 0, "optim.lr", o.lr, "> 0")
    _check(isinstance(o.batch_size, int) and o.batch_size >= 2, "optim.batch_size", o.batch_size, "an integer >= 2")
    _check(0 <= o.momentum < 1, "optim.momentum", o.momentum, "in [0, 1)")
    _check(o.weight_decay >= 0, "optim.weight_decay", o.weight_decay, ">= 0")
    _check(o.precision in PRECISIONS, "optim.precision", o.precision, f"one of {', '.join(PRECISIONS)}")
    _check(not o.nesterov or o.momentum > 0, "optim.nesterov", o.nesterov, "False when momentum is 0")
    _check(all(0 < m < o.epochs for m in o.milestones) and list(o.milestones) == sorted(set(o.milestones)),
           "optim.milestones", o.milestones, f"increasing epochs in (0, {o.epochs})")
    _check(o.stop_after is None or (isinstance(o.stop_after, int) and 1 <= o.stop_after < o.epochs),
           "optim.stop_after", o.stop_after, f"None or an integer in [1, {o.epochs - 1}]")


def _check_data(d: "DataSpec") -> None:
    _check(d.dataset in DATASETS, "data.dataset", d.dataset, f"one of {', '.join(DATASETS)}")
    for name, least in (("train_per_class", 1), ("test_per_class", 0)):
        value = getattr(d, name)
        _check(value is None or (isinstance(value, int) and value >= least), f"data.{name}", value,
               f"None or an integer >= {least}")
    _check(isinstance(d.val_per_class, int) and d.val_per_class >= 0, "data.val_per_class", d.val_per_class,
           "an integer >= 0")
    _check(d.input_std > 0, "data.input_std", d.input_std, "> 0")


@dataclass(frozen=True)
class Regime:
    """How the models of one role are trained: the data they see and the optimiser per model family."""

    data: DataSpec
    plain: Optim
    resnet: Optim
    resnet_data: DataSpec | None = None  # the ResNets' data where it differs from the plain CNNs'

    def optim_for(self, arch: str) -> Optim:
        return self.resnet if arch.startswith("resnet") else self.plain

    def data_for(self, arch: str) -> DataSpec:
        return self.resnet_data if arch.startswith("resnet") and self.resnet_data is not None else self.data


@dataclass(frozen=True)
class Tuning:
    """Each method's learning rate per model family, every one chosen from the same grid by the same rule on
    pilot seeds (benchmarks/pilots/tuning.py, recorded in benchmarks/PILOTS.md). It sets the rate of a model
    that learns by that method as an assistant or a student; teachers keep their regime's."""

    grid: tuple[float, ...]
    rule: str  # how a rate was chosen, in words, e.g. "highest mean final validation accuracy, pilot seeds 300-301"
    rates: tuple[tuple[str, str, float], ...]  # (method name, family "plain" / "resnet", learning rate)

    def __post_init__(self):
        for method, family, lr in self.rates:
            _check(family in ("plain", "resnet"), "tuning family", family, "'plain' or 'resnet'")
            _check(lr in self.grid, f"tuning rate of {method} ({family})", lr, f"one of the grid {self.grid}")

    def lr(self, method: str, arch: str) -> float | None:
        """The tuned rate of `method` for `arch`'s family, None where it was not tuned."""
        family = "resnet" if arch.startswith("resnet") else "plain"
        return next((lr for m, f, lr in self.rates if (m, f) == (method, family)), None)


@dataclass(frozen=True)
class Profile:
    """One experiment scale: how teachers and students are trained, distillation hyperparameters, seeds."""

    name: str
    student: Regime  # the last model of every chain, and students trained alone
    teacher: Regime  # models trained alone to teach: the head of every chain
    assistant: Regime  # TAs: models that teach after being taught (and scratch TAs standing in for them)
    kd: MethodSettings  # how a model learns from one guide (`distill`, `chain`): KD's settings
    dgkd: MethodSettings  # how a model learns from several (`dgkd`): DGKD's settings, no guide dropped
    seeds: tuple[int, ...]
    resnet_chain: tuple[str, ...]  # teacher -> TA -> student for the ResNet experiments
    resnet_teachers: tuple[str, ...]  # teachers of resnet8 in the gap experiment
    landscape_steps: int = 21  # grid points per axis of a 2-D loss surface
    landscape_images: int = 2000  # fixed test images the surfaces are evaluated on
    # random directions per flatness number: with 8, the directions' own spread was most of the seed-to-seed
    # spread of the NOKD - TAKD difference (cpu, 500 images: its sd over seeds 0.136 with 8, 0.046 with 32)
    sharpness_directions: int = 32
    # students trained per seed where students are cheap: every one shares the seed's teacher and TAs, and the
    # seed's value is their mean (`student_seeds`), so what is compared between seeds is less the students' noise
    students_per_seed: int = 1
    cheap_students: tuple[str, ...] = ()  # the architectures that get students_per_seed (others: one)
    note: str = ""
    tuning: Tuning | None = None  # each method's learning rate, tuned alike; None: every method at its regime's
    # this design in other precisions, for machines without native bf16: (precision, profile name) pairs, e.g.
    # ("fp32", "cpu_fp32") for a CPU without AMX / AVX512_BF16, ("fp16", "gpu_fp16") for a GPU before Ampere
    twins: tuple[tuple[str, str], ...] = ()

    def twin(self, precision: str) -> str | None:
        """The name of this design's profile in `precision`, None where it has none."""
        return dict(self.twins).get(precision)
    # its outputs are the committed evidence (figures/ and results/ at the repository's top); any other profile
    # writes under runs/<name>/, so it never overwrites them
    evidence: bool = False

    def __post_init__(self):
        _check(isinstance(self.students_per_seed, int) and self.students_per_seed >= 1, "students_per_seed",
               self.students_per_seed, "an integer >= 1")
        unknown = set(self.cheap_students) - set(MODEL_NAMES)
        _check(not unknown, "cheap_students", self.cheap_students, f"known models ({', '.join(MODEL_NAMES)})")

    def regime(self, role: str) -> Regime:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
        return getattr(self, role)

    @property
    def data(self) -> DataSpec:
        """The students' data (the split every model is evaluated on)."""
        return self.student.data


STUDENT_SEED_STRIDE = 1000  # the k-th student of seed s has seed s + k * STUDENT_SEED_STRIDE


@dataclass(frozen=True)
class Recipes:
    """The recipes of one profile and dataset: every builder the notebooks use, bound to a `Profile` object
    (registered or not), so nothing is looked up by name. A model's role picks the profile's regime: "teacher"
    for the head of a chain, "assistant" for a TA (or a scratch TA standing in for one), "student" for the last
    model of a chain and the students trained alone it is compared with."""

    profile: Profile
    dataset: str = "cifar10"

    def on(self, dataset: str) -> "Recipes":
        """The same profile's recipes on another dataset."""
        return replace(self, dataset=dataset)

    def optim(self, arch: str, role: str, method: MethodSettings) -> Optim:
        """The optimiser of `arch` in the regime of `role`, at its method's tuned learning rate where the profile
        tuned one (assistants and students; `Tuning`)."""
        o = self.profile.regime(role).optim_for(arch)
        tuned = self.profile.tuning and role != "teacher" and self.profile.tuning.lr(method.name, arch)
        return replace(o, lr=tuned) if tuned else o

    def scratch(self, arch: str, seed: int, role: str = "student", **overrides) -> Recipe:
        """`arch` trained alone in the regime of `role` (cross-entropy only, unless `method` overrides)."""
        p, regime = self.profile, self.profile.regime(role)
        fields = dict(arch=arch, data=replace(regime.data_for(arch), dataset=self.dataset), seed=seed,
                      profile=p.name, role=role)
        fields.update(overrides)
        fields.setdefault("optim", self.optim(arch, role, fields.get("method", MethodSettings())))
        return Recipe(**fields)

    def teacher(self, arch: str, seed: int) -> Recipe:
        """A model trained alone to teach: `scratch(..., role="teacher")`."""
        return self.scratch(arch, seed, role="teacher")

    def distill(self, arch: str, teacher: Recipe, role: str = "student", method: MethodSettings | None = None,
                **overrides) -> Recipe:
        """`arch` trained from `teacher` in the regime of `role` ("student", or "assistant" for a TA), on the
        teacher's dataset, with the teacher's seed; `method`: the settings of a one-guide method (default: the
        profile's KD)."""
        p, regime = self.profile, self.profile.regime(role)
        method = method or p.kd
        fields = dict(arch=arch, data=replace(regime.data_for(arch), dataset=teacher.data.dataset),
                      optim=self.optim(arch, role, method), seed=teacher.seed, method=method, guides=(teacher,),
                      profile=p.name, role=role)
        fields.update(overrides)
        return Recipe(**fields)

    def chain(self, archs: list[str] | tuple[str, ...], seed: int, method: MethodSettings | None = None) -> Recipe:
        """Teacher -> TA(s) -> student: `chain(["plain10", "plain4", "plain2"], 0)` is TAKD.

        method (default: the profile's KD) teaches every step; the head is trained alone as a teacher, the
        models between are assistants, the last is a student.
        """
        recipe = self.teacher(archs[0], seed)
        for i, arch in enumerate(archs[1:], start=2):
            recipe = self.distill(arch, recipe, role="student" if i == len(archs) else "assistant", method=method)
        return recipe

    def dgkd(self, archs: list[str] | tuple[str, ...], seed: int, method: MethodSettings | None = None) -> Recipe:
        """Densely guided chain: every TA and the student learn from the teacher and all larger TAs.

        method: the student's settings (default: the profile's DGKD, no guide dropped); the TAs learn by the
        profile's DGKD (guides are dropped for the student only, as in the DGKD paper and code).
        """
        head = self.teacher(archs[0], seed)
        guides = [head]
        for arch in archs[1:-1]:
            # the first TA has one guide, where DGKD is plain KD: share the TAKD model (same address)
            ta = (self.distill(arch, head, role="assistant") if len(guides) == 1
                  else self.distill(arch, head, role="assistant", method=self.profile.dgkd, guides=tuple(guides)))
            guides.append(ta)
        return self.distill(archs[-1], head, method=method or self.profile.dgkd, guides=tuple(guides))

    def baselines(self, archs: list[str] | tuple[str, ...], seed: int,
                  method: MethodSettings | None = None) -> dict[str, Recipe]:
        """NOKD (student alone), BLKD (teacher -> student) and TAKD (the whole chain) for one seed; `method`
        teaches BLKD and every step of TAKD (default: the profile's KD)."""
        return {"NOKD": self.scratch(archs[-1], seed),
                "BLKD": self.chain([archs[0], archs[-1]], seed, method),
                "TAKD": self.chain(archs, seed, method)}

    def student_seeds(self, recipe: Recipe) -> tuple[Recipe, ...]:
        """The student `recipe` once per student seed of its seed: seeds s, s + 1000, ... (`students_per_seed`
        of them when its architecture is one of the profile's cheap students, else just s), guides unchanged.
        The first is `recipe` itself. A notebook measures them as one row, their accuracies averaged."""
        p = self.profile
        n = p.students_per_seed if recipe.arch in p.cheap_students else 1
        return tuple(replace(recipe, seed=recipe.seed + k * STUDENT_SEED_STRIDE) for k in range(n))

    def fitnet(self, student: str, teacher: Recipe, hint: MethodSettings, hint_epochs: int | None = None) -> Recipe:
        """FitNets: stage 1 (`hint`, the settings of FitNets' hint method) trains the student up to its guided
        block to predict the teacher's hint block through a regressor; stage 2 (the returned recipe) trains the
        whole student by the profile's KD from there. The two stages share the student's epochs (stage 1 half
        of them by default), so a FitNets student trains as many epochs as a student of KD alone; each stage at
        its method's tuned learning rate, where the profile tuned one."""
        optim = self.profile.student.optim_for(student)
        if optim.epochs < 2:
            raise ValueError(f"FitNets needs at least 2 student epochs to share between its stages, got {optim.epochs}")
        hint_epochs = hint_epochs or optim.epochs // 2
        if not 1 <= hint_epochs < optim.epochs:
            raise ValueError(f"hint_epochs must be in [1, {optim.epochs - 1}] (the student trains {optim.epochs} "
                             f"epochs in all), got {hint_epochs}")
        stage1 = self.distill(student, teacher, method=hint,
                              optim=replace(self.optim(student, "student", hint), epochs=hint_epochs))
        stage2 = replace(self.optim(student, "student", self.profile.kd), epochs=optim.epochs - hint_epochs)
        return self.distill(student, teacher, init=stage1, optim=stage2)


def early_stopped(recipe: Recipe, epochs: int) -> Recipe:
    """The same training stopped after `epochs` epochs of its schedule (an early-stopped teacher), at its own
    address; the weights equal the whole run's after that epoch."""
    return replace(recipe, optim=replace(recipe.optim, stop_after=epochs))


def augmented(recipe: Recipe) -> Recipe:
    """The same recipe with crop + flip for the model itself; its guides stay as they are."""
    return replace(recipe, data=replace(recipe.data, augment=True))


def with_data(recipe: Recipe, **changes) -> Recipe:
    """The same recipe (guides included) on changed data settings, e.g. augment=True."""
    return replace(recipe, data=replace(recipe.data, **changes),
                   guides=tuple(with_data(g, **changes) for g in recipe.guides),
                   init=None if recipe.init is None else with_data(recipe.init, **changes))
