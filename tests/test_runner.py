import pytest

from takdlib import runner
from takdlib.experiment import REPO_ROOT


def test_the_evidence_is_not_written_from_a_dirty_tree(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "dirty_files", lambda: ["takdlib/train.py", "notebooks/01_gap.ipynb"])
    with pytest.raises(SystemExit, match="uncommitted changes \\(takdlib/train.py, notebooks/01_gap.ipynb\\).*--allow-dirty"):
        runner.refuse_dirty_evidence(REPO_ROOT, allow_dirty=False)
    runner.refuse_dirty_evidence(REPO_ROOT, allow_dirty=True)  # asked for: allowed, and the manifest says so
    runner.refuse_dirty_evidence(tmp_path, allow_dirty=False)  # other output folders are not the evidence


def test_the_cli_refuses_before_running_anything(monkeypatch):
    monkeypatch.setattr(runner, "dirty_files", lambda: ["README.md"])
    monkeypatch.setattr(runner.pm, "execute_notebook", lambda *a, **k: pytest.fail("ran a notebook"))
    with pytest.raises(SystemExit, match="refusing to write the evidence"):
        runner.main(["--profile", "cpu", "--only", "05_distilled_ta"])


def test_the_manifest_names_the_machine():
    m = runner.manifest({"01_gap": 1.0}, "cpu", "abc", dirty=False)
    assert m["git_revision"] == "abc" and m["git_dirty"] is False
    import torch

    assert m["cpu_model"] and m["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert m["cpu_count"] >= 1 and m["wall_seconds"] == {"01_gap": 1.0}
