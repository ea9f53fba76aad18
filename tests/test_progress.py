"""Progress: a widget bar for a person running a kernel, plain per-epoch log lines under papermill and CI."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from takdlib.train import PROGRESS_ENV, progress_enabled

CELL = """
from dataclasses import replace
import torch
from takdlib.data import Split
from takdlib.profiles import recipes_for
from takdlib.train import train
g = torch.Generator().manual_seed(0)
x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
y = torch.arange(40) % 10
split = Split(x, y, x[:10], y[:10], x[:10], y[:10], num_classes=10, input_std=1.0)
recipe = recipes_for("smoke").scratch("plain2", 0)
train(replace(recipe, optim=replace(recipe.optim, epochs=2, batch_size=8)), split)
"""


def run_kernel(env_value):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_ENV}
    if env_value is not None:
        env[PROGRESS_ENV] = env_value
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb.cells[0].outputs


def test_a_person_running_a_kernel_gets_a_widget_bar():
    pytest.importorskip("ipywidgets")
    outputs = run_kernel(None)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs


def test_papermill_runs_get_log_lines_and_no_widget():
    outputs = run_kernel("log")  # what run_all.sh sets for the kernels it starts
    text = "".join(o.get("text", "") for o in outputs)
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_progress_mode_from_the_environment(monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, "log")
    assert not progress_enabled()
    monkeypatch.setenv(PROGRESS_ENV, "bars")
    assert progress_enabled()
