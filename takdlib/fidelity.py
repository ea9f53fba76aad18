"""Fidelity beside accuracy (Stanton et al., NeurIPS 2021, §3.2): how closely a student follows its teacher on
the test set. Top-1 agreement: the % of test images on which both predict the same class. Predictive KL: the
mean over test images of KL(softmax(teacher) ‖ softmax(student)), in nats."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .recipes import DataSpec, Recipe
from .train import predict


def agreement(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> float:
    """% of images (rows of the (N, classes) logits) whose top-1 class the two models share."""
    return float(100.0 * (teacher_logits.argmax(1) == student_logits.argmax(1)).float().mean())


def predictive_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> float:
    """Mean over images of KL(softmax(teacher) ‖ softmax(student)), nats."""
    log_p_t, log_p_s = F.log_softmax(teacher_logits.float(), 1), F.log_softmax(student_logits.float(), 1)
    return float((log_p_t.exp() * (log_p_t - log_p_s)).sum(1).mean())


def which_test_images(images: DataSpec) -> dict:
    """What decides a DataSpec's test tensors (`data.make_split`): specs that agree here score the same images."""
    return dict(dataset=images.dataset, test_per_class=images.test_per_class, split_seed=images.split_seed,
                input_std=images.input_std)


def logits_on_test(store, recipe: Recipe, images: DataSpec) -> torch.Tensor:
    """The model's logits (N, classes) on the test images of `images`, in the precision it was trained and scored
    in (so that its agreement is that of the predictions whose accuracy is reported), computed once and stored
    beside the model."""
    split, precision = store.split(images), recipe.optim.precision
    key = dict(split="test", images=which_test_images(images), precision=precision)
    return store.derived(recipe, "test_logits", key, lambda: {
        "logits": predict(store.get(recipe).model, split.test_x, split.input_std, precision)})["logits"]


def head(recipe: Recipe) -> Recipe:
    """The teacher at the head of a recipe's lineage (its first guide's first guide, ...)."""
    while recipe.guides:
        recipe = recipe.guides[0]
    return recipe


def fidelity(store, student: Recipe, teacher: Recipe | None = None) -> dict:
    """{"agreement": %, "kl": nats} of `student` with `teacher` (default: the head of its lineage), on the
    student's test images."""
    teacher = teacher or head(student)
    s, t = logits_on_test(store, student, student.data), logits_on_test(store, teacher, student.data)
    return {"agreement": agreement(t, s), "kl": predictive_kl(t, s)}
