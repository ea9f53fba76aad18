"""The profiles: every experiment scale the notebooks run at (smoke / cpu / cpu_fp32 / gpu / gpu_fp16 / paper /
paper_code), each a `recipes.Profile`. The one place that knows profiles by name."""
from __future__ import annotations

from dataclasses import replace

from .methods import DGKDSettings, KDSettings
from .recipes import ROLES, STUDENT_SEED_STRIDE, DataSpec, Optim, Profile, Recipes, Regime, Tuning


def _one_regime(data: DataSpec, optim: Optim) -> Regime:
    return Regime(data, optim, optim)


def _same_for_all(data: DataSpec, plain: Optim, resnet: Optim) -> dict[str, Regime]:
    """Every role trained alike, as in the papers."""
    return {role: Regime(data, plain, resnet) for role in ROLES}


# KD as the papers' own tables use it: τ = 4, λ = 0.5, Hinton's batchmean KL; the TAKD code's element-mean KL
_KD = KDSettings(tau=4.0, lam=0.5)
_KD_CODE = KDSettings(tau=4.0, lam=0.5, kl="elementmean")


def _kd(kd: KDSettings) -> dict:
    """A profile's distillation settings: KD, and DGKD with KD's τ, λ and KL and no guide dropped."""
    return dict(kd=kd, dgkd=DGKDSettings(tau=kd.tau, lam=kd.lam, kl=kd.kl))


_SMOKE = Optim(epochs=1, lr=0.05, schedule="onecycle", batch_size=64, precision="fp32", test_every_epoch=False)
_SMOKE_DATA = DataSpec(train_per_class=10, val_per_class=5, test_per_class=5)
# cpu: teachers learn once, with crop + flip, and every experiment shares them: plain teachers from every
# training image (4,900 per class) for 4 epochs, the one regime in which plain8 beat plain6; ResNet teachers from
# 1,000 per class for 12 epochs. Assistants (TAs) and students learn alike, so that a TA is compared with a
# student trained as it was: 1,000 images per class for 8 epochs without augmentation (as the TAKD code, logits
# computed once), the cheapest regime of the capacity pilot in which a larger model is the more accurate one
# (plain2 < plain4 < plain6 and resnet8 < resnet14 by 2-6 points; plain8 over plain6 by a fifth of a point, which
# the premises then find unsettled). Every model is scored on the whole test set: the premise rows compare models
# of adjacent size, and a difference of two models has a sampling sd of about 0.57 points on 5,000 images
# (measured from their disagreements). bf16 autocast: on CPUs with native bf16 (AMX / AVX512_BF16) it trains
# these models 1.6-2.2x faster than fp32 (benchmarks/RESULTS.md). Where bf16 is emulated it is 2-3x *slower*
# than fp32: `cpu_fp32` is the same design in fp32, and the runner says so.
# Why each setting is what it is: benchmarks/PILOTS.md (the pilots, their seeds and scripts).
_CPU_STUDENT_DATA = DataSpec(train_per_class=1000, val_per_class=100, test_per_class=None)
_CPU_TEACHER_DATA = replace(_CPU_STUDENT_DATA, train_per_class=None, augment=True)
_CPU_TEACHER_RESNET_DATA = replace(_CPU_TEACHER_DATA, train_per_class=1000)
_CPU_STUDENT_PLAIN = Optim(epochs=8, lr=0.05, schedule="onecycle", precision="bf16", test_every_epoch=False)
_CPU_STUDENT_RESNET = _CPU_STUDENT_PLAIN
_CPU_TEACHER_PLAIN = Optim(epochs=4, lr=0.02, schedule="onecycle", precision="bf16", test_every_epoch=False)
_CPU_TEACHER_RESNET = Optim(epochs=12, lr=0.05, schedule="onecycle", precision="bf16", test_every_epoch=False)
# every method's learning rate for assistants and students, from one grid by one rule on pilot seeds 300-301, in
# this design's students' regime (benchmarks/pilots/tuning.py; the table in benchmarks/PILOTS.md, 2026-12-06)
_CPU_TUNING = Tuning(grid=(0.02, 0.05, 0.1),
                     rule="highest mean final validation accuracy on pilot seeds 300-301 (ties: the smaller rate)",
                     rates=(("scratch", "plain", 0.02), ("kd", "plain", 0.02), ("dgkd", "plain", 0.02), ("ls", "plain", 0.02), ("dkd", "plain", 0.02), ("dist", "plain", 0.02), ("scratch", "resnet", 0.1), ("kd", "resnet", 0.05), ("dgkd", "resnet", 0.1), ("hint", "resnet", 0.1), ("at", "resnet", 0.1), ("fsp", "resnet", 0.1)))
_FULL = DataSpec(train_per_class=None, val_per_class=0, test_per_class=None)
# gpu: the cpu profile's roles at full data, sized so that all notebooks fit about an hour of one H100 (an
# estimate from FLOPs until a device check measures it: python -m takdlib.budget). Teachers see crop + flip;
# assistants and students learn from logits computed once, as the TAKD code (no augmentation).
_GPU_STUDENT_DATA = DataSpec(train_per_class=None, val_per_class=100, test_per_class=None)
_GPU_TEACHER_DATA = replace(_GPU_STUDENT_DATA, augment=True)
_GPU_STUDENT_PLAIN = Optim(epochs=15, lr=0.05, schedule="onecycle", precision="bf16", test_every_epoch=False)
_GPU_STUDENT_RESNET = replace(_GPU_STUDENT_PLAIN, lr=0.1)
_GPU_TEACHER_PLAIN = replace(_GPU_STUDENT_PLAIN, epochs=30)
_GPU_TEACHER_RESNET = replace(_GPU_STUDENT_RESNET, epochs=30)
# the TAKD paper's text: Nesterov SGD, lr 0.1 (plain CNNs constant; ResNets /10 at epochs 80 and 120),
# 150 epochs, weight decay 1e-4, inputs normalised to standard deviation 0.5
_TEXT_DATA = replace(_FULL, input_std=0.5)
_TEXT_PLAIN = Optim(epochs=150, lr=0.1, schedule="constant", nesterov=True)
_TEXT_RESNET = Optim(epochs=150, lr=0.1, schedule="step", milestones=(80, 120), nesterov=True)
# the TAKD code: plain momentum, 160 epochs, lr 0.01 for plain CNNs, its ResNet schedule bug, element-mean KL
_CODE_PLAIN = Optim(epochs=160, lr=0.01, schedule="constant")
_CODE_RESNET = Optim(epochs=160, lr=0.1, schedule="takd_code")

# Seeds by purpose, never shared: the profiles' evidence seeds are below 100; pilots (benchmarks/pilots/, the pace
# check) use PILOT_SEEDS; `run_all.sh --replicate` draws from REPLICATION_SEEDS
PILOT_SEEDS = range(100, 500)
REPLICATION_SEEDS = range(500, 1000)


def pilot_seed(text: str) -> int:
    """An argparse `type` for a pilot's seeds: the integer, or an error naming the pilots' range."""
    import argparse

    seed = int(text)
    if seed not in PILOT_SEEDS:
        raise argparse.ArgumentTypeError(
            f"{seed} is not a pilot seed: pilots run on {PILOT_SEEDS.start}-{PILOT_SEEDS.stop - 1}, never on a "
            f"profile's evidence seeds (below {PILOT_SEEDS.start}) nor on replication seeds")
    return seed


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", student=_one_regime(_SMOKE_DATA, replace(_SMOKE, epochs=2)), assistant=_one_regime(_SMOKE_DATA, _SMOKE),
        teacher=_one_regime(replace(_SMOKE_DATA, augment=True), replace(_SMOKE, epochs=2)),  # 09 stops one early
        **_kd(_KD), seeds=(0,), resnet_chain=("resnet20", "resnet14", "resnet8"),
        resnet_teachers=("resnet14", "resnet20"), landscape_steps=3, landscape_images=100, sharpness_directions=2,
        students_per_seed=2, cheap_students=("plain2",),
        note="CI: every code path in seconds; no claim is judged",
    ),
    "cpu": Profile(
        name="cpu", student=Regime(_CPU_STUDENT_DATA, _CPU_STUDENT_PLAIN, _CPU_STUDENT_RESNET),
        assistant=Regime(_CPU_STUDENT_DATA, _CPU_STUDENT_PLAIN, _CPU_STUDENT_RESNET),
        teacher=Regime(_CPU_TEACHER_DATA, _CPU_TEACHER_PLAIN, _CPU_TEACHER_RESNET, _CPU_TEACHER_RESNET_DATA),
        **_kd(_KD), seeds=(0, 1, 2, 3), resnet_chain=("resnet20", "resnet14", "resnet8"),
        resnet_teachers=("resnet14", "resnet20"), landscape_images=500, tuning=_CPU_TUNING, evidence=True,
        note="a 2-core CPU with native bf16, in one cold run of at most two hours; every claim judged",
    ),
    "gpu": Profile(
        name="gpu", student=Regime(_GPU_STUDENT_DATA, _GPU_STUDENT_PLAIN, _GPU_STUDENT_RESNET),
        assistant=Regime(_GPU_STUDENT_DATA, _GPU_STUDENT_PLAIN, _GPU_STUDENT_RESNET),
        teacher=Regime(_GPU_TEACHER_DATA, _GPU_TEACHER_PLAIN, _GPU_TEACHER_RESNET),
        **_kd(_KD), seeds=(0, 1, 2), resnet_chain=("resnet20", "resnet14", "resnet8"),
        resnet_teachers=("resnet14", "resnet20"), landscape_images=2000,
        note="one GPU, about an hour of an H100 (estimated)",
    ),
    "paper": Profile(
        name="paper", **_same_for_all(_TEXT_DATA, _TEXT_PLAIN, _TEXT_RESNET),
        **_kd(_KD), seeds=(20, 31, 55), resnet_chain=("resnet110", "resnet20", "resnet8"),
        resnet_teachers=("resnet14", "resnet20", "resnet26", "resnet32", "resnet44", "resnet56", "resnet110"),
        landscape_steps=41, landscape_images=10000,
        note="the TAKD paper's stated protocol; for GPUs",
    ),
    "paper_code": Profile(
        name="paper_code", **_same_for_all(_FULL, _CODE_PLAIN, _CODE_RESNET), **_kd(_KD_CODE),
        seeds=(20, 31, 55), resnet_chain=("resnet110", "resnet20", "resnet8"),
        resnet_teachers=("resnet14", "resnet20", "resnet26", "resnet32", "resnet44", "resnet56", "resnet110"),
        landscape_steps=41, landscape_images=10000,
        note="the TAKD code's protocol (its ResNet schedule, element-mean KL, its seeds); for GPUs",
    ),
}


def in_precision(p: Profile, precision: str, note: str) -> Profile:
    """The same profile with every role trained in `precision` (a profile of its own, named
    <name>_<precision>: other numerics, other models); register it as `p`'s twin with `with_twin`."""
    twin = {role: replace(r, plain=replace(r.plain, precision=precision),
                          resnet=replace(r.resnet, precision=precision))
            for role in ROLES for r in (p.regime(role),)}
    return replace(p, name=f"{p.name}_{precision}", note=note, evidence=False, **twin)


def with_twin(name: str, precision: str, note: str) -> None:
    """Register profile `name`'s twin in `precision` and name it in the profile (`Profile.twins`)."""
    twin = in_precision(PROFILES[name], precision, note)
    PROFILES[twin.name] = twin
    PROFILES[name] = replace(PROFILES[name], twins=(*PROFILES[name].twins, (precision, twin.name)))


with_twin("cpu", "fp32", "the cpu profile's design, for CPUs without native bf16 (AMX / AVX512_BF16), where a cold "
          "run takes about 1.5x the cpu profile's time")
with_twin("gpu", "fp16", "the gpu profile's design with a gradient scaler, for GPUs without bf16 (before NVIDIA "
          "Ampere: T4, V100)")


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def evidence_profile() -> Profile:
    """The profile whose outputs are the committed evidence."""
    (p,) = [p for p in PROFILES.values() if p.evidence]
    return p


def recipes_for(profile: str, dataset: str = "cifar10") -> Recipes:
    """The recipe builders of a registered profile, by name."""
    return Recipes(get_profile(profile), dataset)


def summary(p: Profile) -> str:
    """The profile in one line, from its fields: images, epochs and learning rates per role, precision, seeds."""
    def per_class(n):
        return "all" if n is None else f"{n:,}"

    def epochs(n):
        return f"{n} epoch{'s' * (n != 1)}"

    roles = []
    for role in ROLES:
        r = p.regime(role)
        images = per_class(r.data.train_per_class)
        if r.data_for("resnet") != r.data:
            images += f" (ResNets {per_class(r.data_for('resnet').train_per_class)})"
        roles.append(f"{role}s {images} images/class{' with crop + flip' if r.data.augment else ''}, "
                     f"{epochs(r.plain.epochs)} (ResNets {r.resnet.epochs})")
    precisions = sorted({o.precision for role in ROLES for o in (p.regime(role).plain, p.regime(role).resnet)})
    return f"{'; '.join(roles)}; {'/'.join(precisions)}; {len(p.seeds)} seed{'s' * (len(p.seeds) > 1)}"


def describe_profile(p: Profile) -> str:
    """The profile's settings per role, as text for a notebook to print (so no setting is typed twice)."""

    def per_class(n):
        return "all" if n is None else f"{n}"

    lines = [f"profile {p.name} ({p.note}): {summary(p)}", f"KD: τ = {p.kd.tau}, λ = {p.kd.lam}, KL {p.kd.kl}; DGKD alike; seeds {list(p.seeds)}"]
    if p.students_per_seed > 1 and p.cheap_students:
        lines.append(f"{p.students_per_seed} students per seed for {', '.join(p.cheap_students)} "
                     f"(seeds s, s + {STUDENT_SEED_STRIDE}, ...; their mean is the seed's value)")
    def images(d: DataSpec) -> str:
        return (f"{per_class(d.train_per_class)} training / {d.val_per_class} validation / "
                f"{per_class(d.test_per_class)} test images per class, "
                f"{'crop + flip' if d.augment else 'no augmentation'}, inputs at std {d.input_std}")

    for role in ROLES:
        r = p.regime(role)
        lines.append(f"{role}s: {images(r.data)}")
        for family, o in (("plain", r.plain), ("resnet", r.resnet)):
            if r.data_for(family) != r.data:
                lines.append(f"  {family}: {images(r.data_for(family))}")
            lines.append(f"  {family}: {o.epochs} epochs, lr {o.lr} {o.schedule}"
                         f"{' ' + str(o.milestones) if o.milestones else ''}, batch {o.batch_size}, "
                         f"{'Nesterov ' if o.nesterov else ''}momentum {o.momentum}, weight decay {o.weight_decay}, "
                         f"{o.precision}")
    return "\n".join(lines)
