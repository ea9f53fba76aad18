"""The machine a run is on: its CPU and GPU (native bf16 or not), the profile that suits them, and the
manifest that records what the run was."""
from __future__ import annotations

import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

from .profiles import PROFILES
from .recipes import ROLES

PACKAGES = ("torch", "torchvision", "papermill", "matplotlib", "seaborn", "loss-landscapes", "numpy", "pandas")


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, else platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # x86 instructions that compute in bfloat16 without emulation
# the environment variables that limit the instruction sets oneDNN, MKL and ATen use (benchmarks/isa_step_profile.sh)
ISA_LIMITS = ("ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY")
# oneDNN limits below which its bf16 convolutions are emulated (no AVX512_BF16, no AMX)
ONEDNN_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")


def isa_limits() -> dict[str, str]:
    """The instruction-set limits set in this process's environment, by variable."""
    return {name: os.environ[name] for name in ISA_LIMITS if os.environ.get(name)}


def native_bf16() -> list[str]:
    """The CPU's native bf16 instructions (Linux /proc/cpuinfo flags; empty where none or unknown, or where
    ONEDNN_MAX_CPU_ISA keeps oneDNN below them). Without them torch emulates bf16 autocast, which there trains
    2-3x slower than fp32 (benchmarks/RESULTS.md)."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ONEDNN_WITHOUT_BF16:
        return []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in NATIVE_BF16_FLAGS if f in flags]
    except OSError:
        pass
    return []


def profile_for_this_cpu(profile: str, device: str, emulated_bf16: bool = False) -> str:
    """The profile to run. A profile that trains in bf16, asked to run on a CPU without native bf16, would be
    emulated there (2-11x slower than fp32): where it has an fp32 twin (the same design in fp32, e.g. cpu_fp32)
    that twin runs instead, and a line says so; with `emulated_bf16`, or without a twin, it runs as asked, with a
    warning. Said before the first notebook."""
    if device != "cpu" or "bf16" not in precisions(profile) or native_bf16() \
            or platform.machine() not in ("x86_64", "AMD64"):
        return profile
    fp32 = PROFILES[profile].twin("fp32")
    why = (f"this CPU ({cpu_model()}) has no native bf16 instructions ({' / '.join(NATIVE_BF16_FLAGS)}), where "
           f"torch emulates bf16 several times slower than fp32")
    if fp32 and not emulated_bf16:
        print(f"Running profile {fp32}, the {profile} design in fp32: {why}. Its models and outputs are its own "
              f"(runs/{fp32}/), not the committed evidence; --emulated-bf16 runs {profile} as asked.", flush=True)
        return fp32
    print(f"WARNING: profile {profile} trains in bf16, but {why}"
          + (f". Profile {fp32} is the same design in fp32." if fp32 else "."), flush=True)
    return profile


def profile_for_this_gpu(profile: str, bf16_supported: bool) -> str:
    """The profile to run on a GPU. One that trains in bf16, on a GPU without bf16 (before NVIDIA Ampere: T4,
    V100), runs as its fp16 twin (fp16 autocast with a gradient scaler) where it has one, and a line says so."""
    if bf16_supported or "bf16" not in precisions(profile):
        return profile
    fp16 = PROFILES[profile].twin("fp16")
    if fp16:
        print(f"Running profile {fp16}, the {profile} design in fp16 with a gradient scaler: this GPU has no bf16. "
              f"Its models and outputs are its own (runs/{fp16}/).", flush=True)
        return fp16
    print(f"WARNING: profile {profile} trains in bf16, which this GPU does not support.", flush=True)
    return profile


def precisions(profile: str) -> list[str]:
    """The precisions a profile trains in, over its roles and families."""
    p = PROFILES[profile]
    return sorted({o.precision for role in ROLES for o in (p.regime(role).plain, p.regime(role).resnet)})


def manifest(timings: dict[str, float], profile: str, revision: str | None, dirty: bool,
             cluster: str | None = None, split: dict | None = None) -> dict:
    """What the run was: the code (revision and whether the work tree differed from it when the run started),
    packages, hardware (CPU model, the instruction set torch dispatches to, GPU), wall time per notebook and
    where it went (`split`: seconds training per role and architecture, computing derived values, other)."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cuda = torch.cuda.is_available()
    return dict(profile=profile, precision=precisions(profile), git_revision=revision, git_dirty=dirty,
                python=sys.version.split()[0], packages=versions, platform=platform.platform(),
                processor=platform.processor() or platform.machine(), cpu_model=cpu_model(),
                cpu_capability=torch.backends.cpu.get_cpu_capability(), cpu_native_bf16=native_bf16(),
                cpu_count=os.cpu_count(), isa_limits=isa_limits(),
                cpu_threads=torch.get_num_threads(),
                cuda=torch.cuda.get_device_name(0) if cuda else None,
                cuda_bf16=torch.cuda.is_bf16_supported() if cuda else None,
                cluster=cluster, wall_seconds=timings, split=split or {},
                finished=time.strftime("%Y-%m-%d %H:%M:%S"))


def run_summary(run: dict) -> str:
    """One run of a manifest in a sentence: the profile, the code, the machine, the wall time (seconds, and hours
    where it is long) and, where the manifest splits it, where it went (trainings by role, derived values, the
    rest; on a cluster the trainings are worker seconds, side by side)."""
    notebooks = run["wall_seconds"]
    seconds = sum(notebooks.values())
    which = f"{len(notebooks)} notebooks" if len(notebooks) > 1 else ", ".join(notebooks)
    code = run["git_revision"][:7] + (" with uncommitted changes" if run["git_dirty"] else "")
    bf16 = run.get("cpu_native_bf16")
    machine = run.get("cuda") or (f"a {run['cpu_count']}-core {run['cpu_model']} "
                                  f"({'native bf16: ' + ', '.join(bf16) if bf16 else 'no native bf16'})")
    where = f" on Dask {run['cluster']}" if run.get("cluster") else ""
    text = (f"profile {run['profile']} at {code}, {which} on {machine}{where}: {seconds:,.0f} s"
            + (f" = {seconds / 3600:.2f} hours" if seconds >= 600 else ""))
    split = list(run.get("split", {}).values())
    if split:
        roles: dict[str, float] = {}
        for part in split:
            for role, archs in part["train"].items():
                roles[role] = roles.get(role, 0.0) + sum(archs.values())
        parts = [f"{role}s {roles[role]:,.0f} s" for role in ("teacher", "assistant", "student") if role in roles]
        parts.append(f"derived values {sum(part['derived'] for part in split):,.0f} s")
        if all(part.get("other") is not None for part in split):
            parts.append(f"the rest {sum(part['other'] for part in split):,.0f} s")
        text += f" ({', '.join(parts)}{' of worker time' if run.get('cluster') else ''})"
    return text


def manifest_summary(manifest: dict) -> str:
    """Every run a manifest records, in order, a sentence each (`run_summary`)."""
    return "; then ".join(run_summary(run) for run in manifest["runs"])
