"""The GPU path: what runs everywhere (the gpu profile at smoke size on CPU, the error without a GPU) and what
runs only where CUDA exists (bitwise repeats, bf16 autocast, memory per training), skipped cleanly elsewhere."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import write_cifar10
from takdlib.profiles import describe_profile, get_profile, recipes_for
from takdlib.train import autocast, reproducible, resolve_device, train
from takdlib.methods import HintSettings
from conftest import tiny

REPO = Path(__file__).resolve().parent.parent
CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device here (CI has none); run on a GPU machine")


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_refused_before_any_work(tmp_path):
    with pytest.raises(RuntimeError, match="sees no CUDA device"):
        resolve_device("cuda")
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run([str(REPO / "run_all.sh"), "--profile", "smoke", "--device", "cuda", "-p", "out_dir",
                             str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd="/")
    assert result.returncode == 2 and "sees no CUDA device" in result.stderr
    assert not (tmp_path / "out").exists()


def test_reproducible_settings_are_scoped_to_a_training():
    before = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    with reproducible(torch.device("cuda")):
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == before
    with reproducible(torch.device("cpu")):
        assert (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) == before


def test_the_gpu_profile_is_full_data_bf16_and_described():
    gpu = get_profile("gpu")
    assert gpu.student.data.train_per_class is None and gpu.teacher.data.augment
    assert {r.plain.precision for r in (gpu.teacher, gpu.assistant, gpu.student)} == {"bf16"}
    assert "teachers:" in describe_profile(gpu) and len(gpu.seeds) == 3


def test_the_gpu_profile_trains_its_recipes_in_seconds_on_any_cpu(tmp_path):
    """The gpu profile's recipes (bf16 autocast, crop + flip for teachers, its optimisers and roles) train a
    chain, a DGKD student and a FitNets student on CPU: the profile as it is, but with 2 training, 1 validation
    and 3 test images per class and one or two epochs per role, so emulated bf16 (CPUs without AMX or AVX512_BF16)
    costs seconds too. `run_all.sh` itself is the smoke profile's test (tests/test_notebooks.py)."""
    from dataclasses import replace

    from takdlib.recipes import ROLES, Recipes
    from takdlib.store import Store

    gpu = get_profile("gpu")

    def small(regime, epochs):
        data = replace(regime.data, train_per_class=2, val_per_class=1, test_per_class=3)
        return replace(regime, data=data, plain=replace(regime.plain, epochs=epochs),
                       resnet=replace(regime.resnet, epochs=epochs))

    # students get 2 epochs: FitNets shares them between its two stages
    R = Recipes(replace(gpu, **{role: small(gpu.regime(role), 2 if role == "student" else 1) for role in ROLES}))
    store = Store(tmp_path / "store", write_cifar10(tmp_path / "c10", train_per_class=3, test_per_class=3),
                  log=lambda _: None)
    for recipe in (R.chain(["plain10", "plain4", "plain2"], 0), R.dgkd(["plain10", "plain4", "plain2"], 0),
                   R.fitnet("resnet8", R.teacher("resnet20", 0), HintSettings(layers=(1, 1)))):
        trained = store.get(recipe)
        assert trained.recipe.profile == "gpu" and trained.recipe.optim.precision == "bf16"
        assert 0 <= trained.summary["final_test_acc"] <= 100


@needs_cuda
def test_a_training_on_cuda_repeats_bitwise(tmp_path):
    from takdlib.store import Store

    recipe = tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0))
    split = Store(tmp_path, os.environ.get("TAKD_DATA"), "cuda").split(recipe.data)
    teacher, _ = train(recipe.guides[0], split, device="cuda", log=lambda m: None)
    a, _ = train(recipe, split, [teacher], device="cuda", log=lambda m: None)
    b, _ = train(recipe, split, [teacher], device="cuda", log=lambda m: None)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@needs_cuda
def test_bf16_autocast_on_cuda_computes_in_bfloat16():
    layer = torch.nn.Linear(8, 4).cuda()
    with autocast(torch.device("cuda"), "bf16"):
        assert layer(torch.randn(2, 8, device="cuda")).dtype == torch.bfloat16


@needs_cuda
def test_memory_of_one_training_leaves_room_to_pack_several():
    """A plain10 training step at batch 128 (the largest cpu-profile model) needs well under 1 GiB, so a GPU
    worker can hold several (GPU=4 per device in the README)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from gpu_throughput import _training_step
    finally:
        sys.path.pop(0)
    torch.cuda.reset_peak_memory_stats()
    step = _training_step("plain10", torch.device("cuda"), "bf16", False, 128)
    for _ in range(3):
        step()
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"plain10, batch 128, bf16: peak {peak:.0f} MiB")
    assert peak < 1024
