import os

import pytest

from takdlib import machine, runner
from takdlib.locations import REPO_ROOT
from takdlib.profiles import PROFILES


def test_the_evidence_is_not_written_from_a_dirty_tree(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "dirty_files", lambda: ["takdlib/train.py", "notebooks/01_gap.ipynb"])
    with pytest.raises(SystemExit, match="uncommitted changes \\(takdlib/train.py, notebooks/01_gap.ipynb\\).*--allow-dirty"):
        runner.refuse_dirty_evidence(REPO_ROOT, allow_dirty=False)
    runner.refuse_dirty_evidence(REPO_ROOT, allow_dirty=True)  # asked for: allowed, and the manifest says so
    runner.refuse_dirty_evidence(tmp_path, allow_dirty=False)  # other output folders are not the evidence


def test_dirty_files_names_every_changed_file_whole(monkeypatch, tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for name in ("results.json", "notes.md"):
        (tmp_path / name).write_text("a")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    monkeypatch.setattr(runner, "REPO_ROOT", tmp_path)
    assert runner.dirty_files() == []
    (tmp_path / "results.json").write_text("b")  # porcelain: " M results.json", a leading space
    assert runner.dirty_files() == ["results.json"]
    (tmp_path / "new.txt").write_text("c")
    assert sorted(runner.dirty_files()) == ["new.txt", "results.json"]


def test_the_cli_refuses_before_running_anything(monkeypatch):
    monkeypatch.setattr(runner, "dirty_files", lambda: ["README.md"])
    monkeypatch.setattr(runner.pm, "execute_notebook", lambda *a, **k: pytest.fail("ran a notebook"))
    with pytest.raises(SystemExit, match="refusing to write the evidence"):
        runner.main(["--profile", "cpu", "--only", "05_distilled_ta"])


def test_the_manifest_names_the_machine():
    m = machine.manifest({"01_gap": 1.0}, "cpu", "abc", dirty=False)
    assert m["git_revision"] == "abc" and m["git_dirty"] is False
    import torch

    assert m["cpu_model"] and m["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert m["cpu_count"] >= 1 and m["wall_seconds"] == {"01_gap": 1.0}


def test_without_native_bf16_the_fp32_design_runs_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(machine, "native_bf16", lambda: [])
    assert machine.profile_for_this_cpu("cpu", "cpu") == "cpu_fp32"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Running profile cpu_fp32" in out and "no native bf16" in out
    assert machine.profile_for_this_cpu("cpu", "cpu", emulated_bf16=True) == "cpu"  # asked for: run, and warn
    assert "WARNING" in capsys.readouterr().out
    assert machine.profile_for_this_cpu("gpu", "cpu") == "gpu"  # no fp32 twin: as asked, with a warning
    assert "WARNING" in capsys.readouterr().out
    assert machine.profile_for_this_cpu("cpu_fp32", "cpu") == "cpu_fp32"  # trains in fp32: nothing to say
    from takdlib.profiles import PROFILES

    assert PROFILES["cpu"].twin("fp32") == "cpu_fp32" and PROFILES["gpu"].twin("fp16") == "gpu_fp16"
    assert PROFILES["cpu"].twin("fp16") is None  # a twin is a field of the profile, not a suffix of its name
    assert machine.profile_for_this_cpu("cpu", "cuda") == "cpu"  # a GPU computes bf16 itself
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(machine, "native_bf16", lambda: ["amx_bf16"])
    assert machine.profile_for_this_cpu("cpu", "cpu") == "cpu"  # native bf16: the profile as asked, silently
    assert capsys.readouterr().out == ""


def test_a_gpu_without_bf16_runs_the_fp16_design_and_says_so(capsys):
    assert machine.profile_for_this_gpu("gpu", bf16_supported=False) == "gpu_fp16"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Running profile gpu_fp16" in out and "gradient scaler" in out
    assert machine.profile_for_this_gpu("gpu", bf16_supported=True) == "gpu"  # Ampere and later: as asked
    assert machine.profile_for_this_gpu("smoke", bf16_supported=False) == "smoke"  # fp32 already
    assert capsys.readouterr().out == ""
    assert machine.profile_for_this_gpu("paper", bf16_supported=False) == "paper"  # no fp16 twin: a warning
    assert "WARNING" in capsys.readouterr().out
    m = machine.manifest({}, "gpu_fp16", "abc", dirty=False)
    assert m["profile"] == "gpu_fp16" and m["precision"] == ["fp16"]
    assert machine.manifest({}, "cpu", "abc", dirty=False)["precision"] == ["bf16"]


def test_the_manifest_says_whether_bf16_is_native(monkeypatch):
    monkeypatch.setattr(machine, "native_bf16", lambda: ["amx_bf16", "avx512_bf16"])
    assert machine.manifest({}, "cpu", "abc", dirty=False)["cpu_native_bf16"] == ["amx_bf16", "avx512_bf16"]


def test_a_replication_runs_on_fresh_seeds_nobody_chose():
    from takdlib.profiles import REPLICATION_SEEDS
    from takdlib.runner import replication_seeds

    drawn = replication_seeds("cpu", [])
    assert len(drawn) == len(PROFILES["cpu"].seeds) and all(s in REPLICATION_SEEDS for s in drawn)
    assert len(set(drawn)) == len(drawn)
    assert replication_seeds("cpu", [600, 601]) == [600, 601]
    with pytest.raises(SystemExit, match="fresh seeds"):
        replication_seeds("cpu", [0, 700])


def test_the_replication_table_counts_agreement_row_by_row():
    from takdlib.report import replication

    committed = [dict(notebook="02", kind="paper", claim="a", verdict="reproduced"),
                 dict(notebook="02", kind="paper", claim="b", verdict="inconclusive"),
                 dict(notebook="03", kind="setup", claim="c", verdict="holds")]
    replicated = [dict(notebook="02", kind="paper", claim="a", verdict="reproduced"),
                  dict(notebook="02", kind="paper", claim="b", verdict="not reproduced"),
                  dict(notebook="04", kind="paper", claim="d", verdict="inconclusive")]
    table, agree, compared = replication(committed, replicated)
    assert (agree, compared) == (1, 2)
    assert table.startswith("1 of 2 rows agree")
    assert "| 03 | setup | c | holds | — | **not replicated** |" in table
    assert "| 04 | paper | d | — | inconclusive | **not committed** |" in table


def test_a_second_checkout_runs_its_own_takdlib_and_keeps_its_outputs(tmp_path):
    """With the environment of the first checkout (takdlib installed from it), run_all.sh of a second one runs
    the second's library, and every output lands in the second."""
    import shutil
    import subprocess
    import sys

    from takdlib.locations import REPO_ROOT

    second = tmp_path / "second"
    for part in ("takdlib", "notebooks"):
        shutil.copytree(REPO_ROOT / part, second / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "run_all.sh", second / "run_all.sh")
    import nbformat

    primer = second / "notebooks" / "00_primer.ipynb"
    nb = nbformat.read(primer, as_version=4)  # the kernel says which takdlib it imported
    nb.cells.append(nbformat.v4.new_code_cell("import takdlib\nprint('imported', takdlib.__file__)"))
    nbformat.write(nb, primer)
    env = {k: v for k, v in os.environ.items() if k not in ("TAKD_STORE", "PYTHONPATH")}
    out = subprocess.run(["bash", str(second / "run_all.sh"), "--profile", "smoke", "--only", "00_primer",
                          "-p", "store", str(tmp_path / "store")],
                         env={**env, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (second / "runs" / "smoke" / "figures" / "00_primer_temperature.png").exists()
    assert str(second / "runs" / "smoke" / "notebooks") in out.stdout  # it says where its outputs went
    executed = (second / "runs" / "smoke" / "notebooks" / "00_primer.ipynb").read_text()
    assert f"imported {second / 'takdlib' / '__init__.py'}" in executed


def test_one_setting_opens_every_notebook_on_the_class_profile(monkeypatch):
    import json

    from takdlib.locations import REPO_ROOT, resolve_profile

    monkeypatch.delenv("TAKD_PROFILE", raising=False)
    assert resolve_profile(None) == "smoke" and resolve_profile("cpu") == "cpu"
    monkeypatch.setenv("TAKD_PROFILE", "cpu")
    assert resolve_profile(None) == "cpu" and resolve_profile("smoke") == "smoke"  # a notebook's own word wins
    for path in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cell = next(c for c in json.loads(path.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
        assert "".join(cell["source"]).startswith("profile = None"), path.name


def test_an_instruction_set_limit_is_seen_and_recorded(monkeypatch):
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")
    assert machine.native_bf16() == []  # oneDNN held below bf16: emulated, whatever /proc/cpuinfo says
    assert machine.manifest({}, "cpu", "abc", dirty=False)["isa_limits"] == {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    assert machine.manifest({}, "cpu", "abc", dirty=False)["isa_limits"] == {}


def test_pilot_seeds_are_neither_evidence_nor_replication_seeds():
    import argparse

    from takdlib.profiles import PILOT_SEEDS, REPLICATION_SEEDS, pilot_seed

    assert pilot_seed("100") == 100 and pilot_seed("499") == 499
    for seed in ("99", "3", "500", "999"):  # the last evidence seeds' range, the first and last replication seeds
        with pytest.raises(argparse.ArgumentTypeError, match="not a pilot seed"):
            pilot_seed(seed)
    evidence = {s for p in PROFILES.values() for s in p.seeds}
    assert not evidence & set(PILOT_SEEDS) and not evidence & set(REPLICATION_SEEDS)
    assert not set(PILOT_SEEDS) & set(REPLICATION_SEEDS)
