"""One training loop for every method (`takdlib.methods`: scratch, KD, DGKD, FitNets' hints, ...).

Randomness is derived from (seed, epoch) alone, so a run resumed from its last epoch checkpoint ends
with the same weights as an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import EVAL_BATCH, Split, default_cache_dir, epoch_generator, eval_batches, train_batches
from .files import CorruptFile, atomic_torch_save, discard, verified_torch_load
from .methods import Progress, Step, get_method, total
from .models import build_model
from .precision import autocast
from .recipes import Optim, Recipe


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def lr_at(optim: Optim, progress: float) -> float:
    """Learning rate at a fraction `progress` in [0, 1) of training."""
    if optim.schedule == "constant":
        return optim.lr
    if optim.schedule == "step":  # /10 at each milestone epoch; by default at 1/2 and 3/4 (what the TAKD code meant)
        drops = [m / optim.epochs for m in optim.milestones] if optim.milestones else [0.5, 0.75]
        return optim.lr * 0.1 ** sum(progress >= d for d in drops)
    if optim.schedule == "takd_code":  # what it ran: its first test `epoch < epoch/2` is never true
        return optim.lr * (0.1 if progress < 0.75 else 0.01)
    if optim.schedule == "onecycle":  # linear warm-up over the first 20 %, then linear decay to zero
        return optim.lr * (progress / 0.2 if progress < 0.2 else (1 - progress) / 0.8)
    raise ValueError(f"unknown schedule {optim.schedule!r}")


def predict(model: nn.Module, x: torch.Tensor, input_std: float, precision: str = "fp32",
            batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits (N, classes) in float32 for uint8 images x (N, 3, 32, 32) of a split normalised to `input_std`
    (`Split.input_std`), model in eval mode."""
    return per_image(model, x, input_std, precision, batch_size)


@torch.inference_mode()
def per_image(model: nn.Module, x: torch.Tensor, input_std: float, precision: str = "fp32",
              batch_size: int = EVAL_BATCH, features: bool = False,
              then: Callable = lambda out: out.float()) -> torch.Tensor:
    """`then` (outside autocast) of the model's output on each batch of uint8 images x (N, 3, 32, 32), normalised
    to `input_std`, model in eval mode, concatenated: (N, ...). The output: logits, or with `features`
    (logits, [each block's features])."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for xb, _ in eval_batches(x, x.new_zeros(len(x)), input_std, batch_size):
        with autocast(device, precision):
            output = model(xb, features=True) if features else model(xb)
        out.append(then(output))
    return torch.cat(out) if out else torch.empty(0)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, input_std: float,
             precision: str = "fp32") -> tuple[float, float]:
    """(accuracy in %, mean cross-entropy) on uint8 images x (N, 3, 32, 32) and labels y (N,)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    logits = predict(model, x, input_std, precision)
    return 100.0 * (logits.argmax(1) == y).float().mean().item(), F.cross_entropy(logits, y).item()


PROGRESS_ENV = "TAKD_PROGRESS"  # "bars" or "log"; run_all.sh sets "log" for the notebooks it executes


def progress_enabled() -> bool:
    """Progress bars for a person: on a terminal, or in a Jupyter kernel (tqdm.auto draws a widget there).
    Papermill runs (run_all.sh sets TAKD_PROGRESS=log) and CI get the per-epoch log lines only."""
    mode = os.environ.get(PROGRESS_ENV)
    if mode in ("bars", "log"):
        return mode == "bars"
    return sys.stderr.isatty() or _in_jupyter_kernel()


def _in_jupyter_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in shell.config


def resolve_device(device: str | torch.device) -> torch.device:
    """`device` as a torch.device; a clear error where CUDA is asked for and none is visible."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} was asked for, but torch {torch.__version__} sees no CUDA device "
                           f"here (built for CUDA {torch.version.cuda}; torch.cuda.is_available() is False): use "
                           f"device 'cpu', or run where a GPU is visible (nvidia-smi lists it)")
    return device


def reproducible(device: torch.device):
    """cuDNN settings under which a training repeats bitwise on one GPU: deterministic convolution
    algorithms, no autotuning, no TF32 (scoped to the training, not set for the whole process)."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False)


def train(recipe: Recipe, split: Split, guides: list[nn.Module] = (), init_state: dict | None = None,
          checkpoint: Path | None = None, device: str | torch.device = "cpu",
          log: Callable[[str], None] = print,
          guide_logits: list[torch.Tensor] | None = None,
          epoch_log: Callable[[str], None] | None = None,
          keep: Path | None = None) -> tuple[nn.Module, dict]:
    """Train `recipe.arch` as the recipe says, guided by the already-trained `guides`.

    guide_logits: each guide's `predict` logits (N, classes) on split.train_x, where the recipe trains on fixed
    guide logits (`shares_guide_logits`) and the caller keeps them (the store shares them between students);
    None: computed here.

    Returns the model (eval mode) and its history: one dict per epoch (train_loss and its loss_terms, each a
    mean per image, val_acc, test_acc, test_loss, lr, seconds; test_* None on epochs the test set was not scored) plus a summary (final,
    validation-selected and best-test accuracies, in %).
    If `checkpoint` is given, the state after every epoch is written there and training resumes from it.
    If `keep` (a folder) is given, what an early stop after each epoch but the last needs is kept there
    (`kept_point`), so that `stopped_early` makes the early-stopped model without training it again.
    log takes what a reader should see (resumes, warnings); epoch_log the line of every epoch (default: log).
    """
    if split.input_std != recipe.data.input_std:
        raise ValueError(f"{recipe.short()} feeds images normalised to std {recipe.data.input_std}, but the split "
                         f"given is normalised to {split.input_std}: use the split of its DataSpec (Store.split)")
    device = resolve_device(device)
    with reproducible(device), own_stream(device):
        return _train(recipe, split, guides, init_state, checkpoint, device, log, guide_logits, epoch_log or log,
                      keep)


def kept_point(folder: Path, epoch: int) -> Path:
    """Where a training that keeps its epochs (`train(keep=folder)`) left the state after `epoch` (1-based)."""
    return Path(folder) / f"kept_epoch{epoch}.pt"


def stopped_early(recipe: Recipe, split: Split, point: dict,
                  device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """What `train(recipe)` returns for a recipe stopped after epoch k (`Optim.stop_after`), from the whole run's
    kept point after epoch k: the same weights and epochs, the last epoch scored on the test set as a stopped run
    scores it. (The whole run may have taken epoch k's weights as its validation-selected state; then epoch k is
    the stopped run's selection too, so the kept state serves both.)"""
    device = resolve_device(device)
    model = build_model(recipe.arch, split.num_classes).to(device, memory_format=torch.channels_last)
    model.load_state_dict(point["model"])
    history = [dict(h) for h in point["history"]]
    if len(history) != recipe.optim.stop_after:
        raise ValueError(f"a point after epoch {len(history)} cannot make {recipe.short()}")
    with reproducible(device), own_stream(device):
        history[-1]["test_acc"], history[-1]["test_loss"] = evaluate(
            model, split.test_x, split.test_y, split.input_std, recipe.optim.precision)
        if not recipe.optim.test_every_epoch:
            _score_validation_selected(history, point["best_val_state"], recipe, split, device)
    model.eval()
    return model, {"epochs": history, "summary": summarize(history)}


def compiled(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` compiled by torch.compile (inductor), sharing its parameters: the module a training step calls
    (evaluation calls `model` itself, so eval-mode graphs are never compiled). Inductor's caches live under the
    data cache folder (`TAKD_CACHE`), so that each machine compiles a model once, not once per process."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir as inductor_default

    # inductor writes its default (a temporary folder) into the variable when first asked; a folder the user
    # chose is kept
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") in (None, os.path.abspath(inductor_default())):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(default_cache_dir() / f"inductor-{device.type}")
    if device.type == "cpu":
        from torch._inductor.cpp_builder import get_cpp_compiler

        try:
            get_cpp_compiler()
        except Exception as err:  # the step would fail at its first call, deep in inductor
            raise RuntimeError("this recipe's training step is compiled (Optim.compile), and torch.compile needs a "
                               f"C++ compiler on the CPU, which was not found ({err}); install one (g++ or clang; "
                               "conda: the environment.yml's cxx-compiler) and run again") from None
    # dynamo counts recompiles of one code object (a model class's forward) across the whole process and runs
    # eager past its limit, silently: a kernel that trains many models would stop compiling them. Each training
    # starts from a cleared cache instead (inductor's on-disk cache keeps the kernels).
    torch._dynamo.reset()
    return torch.compile(model)


def compile_seconds(step_seconds: list[float]) -> float:
    """What compiling cost an epoch, in seconds: each step's time beyond the epoch's median step (the first
    steps trace and compile; the last, shorter batch compiles its own shape)."""
    median = sorted(step_seconds)[len(step_seconds) // 2] if step_seconds else 0.0
    return round(sum(max(0.0, t - median) for t in step_seconds), 2)


@contextlib.contextmanager
def own_stream(device: torch.device):
    """A CUDA stream of this training's own, so trainings that share a GPU (threads of one Dask worker) overlap
    instead of queueing on the default stream; ordered after the work queued before it, and before the work
    queued after it."""
    if device.type != "cuda":
        yield
        return
    caller, stream = torch.cuda.current_stream(device), torch.cuda.Stream(device)
    stream.wait_stream(caller)
    with torch.cuda.stream(stream):
        yield
    caller.wait_stream(stream)


def _train(recipe: Recipe, split: Split, guides, init_state: dict | None, checkpoint: Path | None,
           device: torch.device, log: Callable[[str], None],
           guide_logits: list[torch.Tensor] | None, epoch_log: Callable[[str], None],
           keep: Path | None = None) -> tuple[nn.Module, dict]:
    torch.manual_seed(recipe.seed)
    model = build_model(recipe.arch, split.num_classes).to(device, memory_format=torch.channels_last)
    if init_state is not None:
        model.load_state_dict(init_state)
    method = get_method(recipe.method.name)
    trainable = {"model": model, **method.parts(recipe.method, model, list(guides), device)}
    for g in guides:
        g.eval().requires_grad_(False)
    params = [p for m in trainable.values() for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=recipe.optim.lr, momentum=recipe.optim.momentum,
                          weight_decay=recipe.optim.weight_decay, nesterov=recipe.optim.nesterov)
    # fp16's narrow range underflows small gradients: the scaler multiplies the loss, and skips a step whose
    # gradients overflowed (bf16 has fp32's range and needs none)
    scaler = torch.amp.GradScaler(device.type) if recipe.optim.precision == "fp16" else None
    history: list[dict] = []
    start_epoch, best_val_state = 0, None
    state = None
    if checkpoint is not None and Path(checkpoint).exists():
        try:
            state = verified_torch_load(checkpoint, map_location=device, weights_only=False)
        except CorruptFile as err:  # a damaged resume point is never used
            log(f"WARNING: resume point {err}; discarding it and training {recipe.short()} from the start")
            discard(checkpoint)
    if state is not None:
        for name, module in trainable.items():
            module.load_state_dict(state["modules"][name])
        opt.load_state_dict(state["optimizer"])
        if scaler is not None:
            scaler.load_state_dict(state["scaler"])
        history, start_epoch = state["history"], state["epoch"]
        best_val_state = state.get("best_val_state")
        log(f"resuming {recipe.short()} at epoch {start_epoch + 1}")

    o = recipe.optim
    step_parts = {**trainable, "model": compiled(model, device)} if o.compile else trainable
    if guide_logits is not None and not (shares_guide_logits(recipe) and len(guide_logits) == len(guides)):
        why = ("" if shares_guide_logits(recipe) else " whose logits change from step to step" if recipe.data.augment
               else f"; {recipe.method.name} takes no fixed logits of them")
        raise ValueError(f"{len(guide_logits)} guide logits given for {recipe.short()}, which has {len(guides)} "
                         f"guides{why}")
    fixed_targets = fixed_guide_targets(recipe, guides, split.train_x) if guide_logits is None else guide_logits
    steps_per_epoch = math.ceil(len(split.train_x) / o.batch_size)
    total_steps = o.epochs * steps_per_epoch
    bar = tqdm(total=o.epochs_run * steps_per_epoch, initial=start_epoch * steps_per_epoch,
               desc=recipe.describe()[:60], disable=not progress_enabled(), leave=False)
    for epoch in range(start_epoch, o.epochs_run):
        t0 = time.perf_counter()
        for m in trainable.values():
            m.train()
        gen = epoch_generator(recipe.seed, epoch, device)
        loss_sum, term_sums, n_seen, step_seconds = torch.zeros((), device=device), {}, 0, []
        for step, (xb, yb, idx) in enumerate(train_batches(split.train_x, split.train_y, o.batch_size, gen,
                                                           recipe.data.augment, split.input_std)):
            step_started = time.perf_counter()
            lr = lr_at(o, (epoch * steps_per_epoch + step) / total_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            batch_targets = None if fixed_targets is None else [t[idx] for t in fixed_targets]
            progress = Progress(epoch, o.epochs, step, steps_per_epoch)
            terms = method.loss_terms(Step(recipe.method, o.precision, progress, step_parts, list(guides), xb, yb,
                                           batch_targets, gen, device))
            loss = total(terms)
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            loss_sum += loss.detach() * len(yb)
            for name, term in terms.items():  # a term absent from a step (a dropped guide) adds nothing there
                term_sums[name] = term_sums.get(name, 0) + term.detach() * len(yb)
            n_seen += len(yb)
            step_seconds.append(time.perf_counter() - step_started)
            bar.update()
        train_loss = (loss_sum / max(n_seen, 1)).item()
        if not math.isfinite(train_loss):
            bar.close()
            raise TrainingDiverged(f"loss became {train_loss} in epoch {epoch + 1} of {recipe.short()}")
        val_acc, _ = evaluate(model, split.val_x, split.val_y, split.input_std, o.precision)
        last = epoch + 1 == o.epochs_run
        test_acc, test_loss = (evaluate(model, split.test_x, split.test_y, split.input_std, o.precision)
                               if o.test_every_epoch or last else (None, None))
        if not o.test_every_epoch and math.isfinite(val_acc) and not last \
                and val_acc >= max((h["val_acc"] for h in history), default=-math.inf):
            best_val_state = {k: v.clone() for k, v in model.state_dict().items()}  # scored on test at the end
        history.append(dict(epoch=epoch + 1, lr=lr, train_loss=train_loss,
                            loss_terms={k: (v / max(n_seen, 1)).item() for k, v in term_sums.items()},
                            val_acc=val_acc, test_acc=test_acc, test_loss=test_loss,
                            seconds=time.perf_counter() - t0,
                            **({"compile_seconds": compile_seconds(step_seconds)} if o.compile else {})))
        if checkpoint is not None:
            atomic_torch_save({"modules": {k: m.state_dict() for k, m in trainable.items()},
                               "optimizer": opt.state_dict(), "history": history, "epoch": epoch + 1,
                               "best_val_state": best_val_state,
                               **({} if scaler is None else {"scaler": scaler.state_dict()})}, checkpoint)
        if keep is not None and not last:
            atomic_torch_save({"model": model.state_dict(), "history": history, "best_val_state": best_val_state},
                              kept_point(keep, epoch + 1))
        # logged once the epoch's resume point is on disk
        scored = "" if test_acc is None else f" test {test_acc:.1f}%"
        epoch_log(f"{recipe.short()} | epoch {epoch + 1}/{o.epochs_run} loss {train_loss:.3f} "
                  f"val {val_acc:.1f}%{scored} ({history[-1]['seconds']:.1f}s)")
    bar.close()
    if not o.test_every_epoch:
        _score_validation_selected(history, best_val_state, recipe, split, device)
    model.eval()
    return model, {"epochs": history, "summary": summarize(history)}


def _score_validation_selected(history: list[dict], best_val_state: dict | None, recipe: Recipe, split: Split,
                               device: torch.device) -> None:
    """Fill in the test accuracy of the validation-selected epoch when only the last epoch was scored."""
    selected = _validation_selected(history)
    if selected is None or history[selected]["test_acc"] is not None or best_val_state is None:
        return
    model = build_model(recipe.arch, split.num_classes).to(device, memory_format=torch.channels_last)
    model.load_state_dict(best_val_state)
    history[selected]["test_acc"], history[selected]["test_loss"] = evaluate(
        model, split.test_x, split.test_y, split.input_std, recipe.optim.precision)


def has_fixed_guide_targets(recipe: Recipe) -> bool:
    """Whether the recipe's guides give each training image the same targets every epoch: a method whose loss
    needs only per-image targets of its guides (KD, DGKD, DIST, DKD: their logits; AT, FSP: the teacher's
    feature summaries), without augmentation (a frozen guide in eval mode), so one pass replaces one per epoch:
    for plain10 teaching plain2 that is most of the training time."""
    return get_method(recipe.method.name).fixed_guide_targets and not recipe.data.augment


def shares_guide_logits(recipe: Recipe) -> bool:
    """Whether the recipe's fixed guide targets are the guides' logits, which every student of a guide on the
    same images shares (`Store.guide_logits`)."""
    return has_fixed_guide_targets(recipe) and not get_method(recipe.method.name).guide_features


def fixed_guide_targets(recipe: Recipe, guides: list[nn.Module], train_x: torch.Tensor) -> list[torch.Tensor] | None:
    """Each guide's targets (N, D) on the unaugmented training images (`Method.targets`: logits (N, classes) for
    the methods that take logits), or None when they change per step."""
    if not has_fixed_guide_targets(recipe):
        return None
    method = get_method(recipe.method.name)
    return [per_image(g, train_x, recipe.data.input_std, recipe.optim.precision, features=method.guide_features,
                      then=method.targets) for g in guides]


def _validation_selected(history: list[dict]) -> int | None:
    """Index of the epoch with the best validation accuracy (the latest among ties); None without validation."""
    vals = [h["val_acc"] for h in history]
    if not vals or not all(math.isfinite(v) for v in vals):
        return None
    return max(range(len(vals)), key=lambda i: (vals[i], i))


def summarize(history: list[dict]) -> dict:
    """Three accuracies (in %), named for what they are:
    final_test_acc: the last epoch's; val_selected_test_acc: at the epoch of best validation accuracy
    (the sound protocol); best_test_acc: the maximum over epochs (the TAKD code's, test used as validation),
    None when the test set was not scored every epoch."""
    if not history:
        return {}
    selected = _validation_selected(history)
    tests = [h["test_acc"] for h in history]
    return dict(final_test_acc=tests[-1], val_selected_test_acc=None if selected is None else tests[selected],
                best_test_acc=max(tests) if all(t is not None for t in tests) else None,
                train_seconds=sum(h["seconds"] for h in history),
                **({"compile_seconds": sum(h["compile_seconds"] for h in history)}
                   if all("compile_seconds" in h for h in history) else {}))
