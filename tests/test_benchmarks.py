"""The benchmarks run on CPU at tiny sizes (how CI keeps them working); device_check.sh is valid bash."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from takdlib.claims import counts_text
from takdlib.files import quoted
from takdlib.machine import manifest_summary
from takdlib.report import claims_table

REPO = Path(__file__).resolve().parent.parent
GIT_IDENTITY = {f"GIT_{who}_{what}": "t" for who in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL")}


def _benchmark_module(name: str):
    """A script of benchmarks/ imported as a module (they are not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_throughput_prints_its_table_and_each_profiles_estimate_on_cpu(capsys, tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_throughput
    finally:
        sys.path.pop(0)
    census = tmp_path / "census.json"
    census.write_text(json.dumps({"source_profile": "cpu", "entries": [
        {"arch": "plain2", "role": "student", "dataset": "cifar10", "guides": [], "epoch_share": 1.0,
         "augmented": False, "per_seed": 1},
        {"arch": "resnet_chain[2]", "role": "teacher", "dataset": "cifar10", "guides": [], "epoch_share": 1.0,
         "augmented": False, "per_seed": 1}]}))
    gpu_throughput.main(["--device", "cpu", "--models", "plain2", "resnet8", "--steps", "1", "--batch", "8",
                         "--pack", "2", "--census", str(census), "--json", str(tmp_path / "rates.json")])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| plain2") or line.startswith("| resnet8")]
    assert len(rows) == 2 and "CPU" in out and "packed x2" in out
    gflop = float(rows[0].split("|")[2])
    assert 0 < gflop < float(rows[1].split("|")[2])  # resnet8 costs more per image than plain2
    assert "an ESTIMATE" in out
    gpu_row = next(line for line in out.splitlines() if line.startswith("| gpu |"))
    assert float(gpu_row.split("|")[3]) > 0  # device-hours, priced at the rates just measured
    rates = json.loads((tmp_path / "rates.json").read_text())
    assert set(rates["images_per_second"]) == {"plain2", "resnet8"} and rates["device"].startswith("CPU")


def test_device_check_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(REPO / "benchmarks" / "device_check.sh")]).returncode == 0


def test_the_one_run_speed_script_is_valid_bash_and_asks_for_what_it_needs(tmp_path):
    script = str(REPO / "benchmarks" / "speed_in_one_run.sh")
    assert subprocess.run(["bash", "-n", script]).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "TAKD_DATA"}
    asked = [subprocess.run(["bash", script, *args], capture_output=True, text=True, env=env)
             for args in ([], [str(tmp_path)])]
    assert [a.returncode != 0 for a in asked] == [True, True]
    assert "PATH_TO_THE_ORIGINAL_TAKD_CODE" in asked[0].stderr and "not a checkout" in asked[1].stderr
    (tmp_path / "train.py").write_text("")
    no_data = subprocess.run(["bash", script, str(tmp_path)], capture_output=True, text=True, env=env)
    assert no_data.returncode != 0 and "TAKD_DATA" in no_data.stderr


def test_steps_across_revisions_times_each_revisions_own_takdlib():
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "step_across_revisions.sh"), "HEAD", "1", "plain2"],
                         env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True, check=True)
    rows = [line for line in out.stdout.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 2 and rows[0].split("|")[2].strip() == "HEAD" and float(rows[1].split("|")[3]) > 0
    assert "| round | takdlib | plain2 ms |" in out.stdout


def test_the_isa_step_profile_runs_the_profile_under_each_instruction_set_limit():
    out = subprocess.run(["bash", str(REPO / "benchmarks" / "isa_step_profile.sh"), "--models", "plain2",
                          "--precision", "fp32", "--steps", "1"], env={**os.environ, "PYTHON": sys.executable},
                         capture_output=True, text=True, check=True).stdout
    sections = out.split("## instruction sets: ")[1:]
    assert [s.split()[0] for s in sections] == ["native", "AVX512_CORE_VNNI", "AVX2"]
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in sections[2]
    assert all(sum(line.startswith("| plain2 | fp32 |") for line in s.splitlines()) == 1 for s in sections)


def test_compare_stores_finds_the_same_weights_and_splits_the_time(tmp_path, jpeg_archive, monkeypatch, capsys):
    from dataclasses import replace

    from takdlib.recipes import with_data
    from takdlib.profiles import recipes_for
    from takdlib.store import Store

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import compare_stores
    finally:
        sys.path.pop(0)
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    recipe = with_data(recipes_for("smoke").scratch("plain2", 0), train_per_class=3, val_per_class=1, test_per_class=None)
    for name in ("old", "new"):
        Store(tmp_path / name, jpeg_archive, log=lambda _: None).get(recipe)
    Store(tmp_path / "new", jpeg_archive, log=lambda _: None).get(replace(recipe, seed=1))  # only in the new one
    r = compare_stores.compare(tmp_path / "old", tmp_path / "new")
    assert (r["old"], r["new"], r["common"], r["equal"]) == (1, 2, 1, 1)
    compare_stores.main([str(tmp_path / "old"), str(tmp_path / "new")])
    out = capsys.readouterr().out
    assert "bitwise-equal weights: 1" in out and "| plain2 | 1 |" in out and "| all | 1 |" in out


def test_the_step_profile_splits_a_step_eager_and_compiled_and_sets_it_against_the_matmul_peak(capsys):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import step_profile
    finally:
        sys.path.pop(0)
    step_profile.main(["--models", "plain2", "--precision", "fp32", "--steps", "1", "--compiled", "--ops"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| plain2")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [c[2] for c in cells] == ["eager", "compiled"]
    assert all(float(x) > 0 for c in cells for x in c[3:10]) and all(0 < float(c[10].rstrip(" %")) < 100 for c in cells)
    assert "- plain2 fp32, compiled: " in out and "inductor's kernels" in out.split("- plain2 fp32, compiled: ")[1]
    assert "fp32 matmul peak" in out and "CPU:" in out


def _pilot(script: str, tmp_path, data, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "TAKD_DATA": str(data),  # the decoded-data cache: the test run's own ($TAKD_CACHE)
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "pilots" / script), "--store",
                           str(tmp_path / "store"), "--profile", "smoke", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_regime_and_tuning_pilots_run_on_pilot_seeds_only(tmp_path, real_cifar10):
    out = _pilot("capacity_regime.py", tmp_path, real_cifar10, "--seeds", "100", "101", "--cells", "10x1",
                 "10x1+aug", "--families", "plain")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cell 10x1: plain2" in out.stdout and "cell 10x1+aug: plain2" in out.stdout and "plain8 - plain6" in out.stdout
    augmented = [json.loads(p.read_text())["data"]["augment"] for p in (tmp_path / "store").glob("*/*/recipe.json")]
    assert sorted(augmented) == [False] * 8 + [True] * 8  # 4 plain CNNs x 2 seeds per cell, each cell as it says
    out = _pilot("tuning.py", tmp_path, real_cifar10, "--seeds", "100", "101", "--cell", "10x1",
                 "--families", "plain", "--methods", "scratch")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "-> plain scratch: lr" in out.stdout and "Tuning(grid=(0.02, 0.05, 0.1)" in out.stdout
    refused = _pilot("tuning.py", tmp_path, real_cifar10, "--seeds", "3")
    assert refused.returncode != 0 and "pilot" in refused.stderr


def test_the_halved_design_pilot_moves_each_roles_regime_and_tuning_reuses_its_teachers(tmp_path, real_cifar10):
    # one seed and the teachers' cells only (a students' cell is capacity_regime.py's, tested above)
    out = _pilot("halved_design.py", tmp_path, real_cifar10, "--seeds", "100", "--student-cells",
                 "--plain-teacher-cells", "10x1", "--resnet-teacher-cells", "10x1")
    assert out.returncode == 0, out.stderr[-2000:]
    for line in ("seed 100 plain teachers 10x1 plain10", "seed 100 resnet teachers 10x1 resnet20",
                 "plain teachers 10x1: plain4"):
        assert line in out.stdout
    trained = len(list((tmp_path / "store").glob("*/*/recipe.json")))
    out = _pilot("tuning.py", tmp_path, real_cifar10, "--seeds", "100", "--cell", "10x1", "--plain-teacher-cell",
                 "10x1", "--families", "plain", "--methods", "kd")
    assert out.returncode == 0, out.stderr[-2000:]
    # KD's three students only: the plain10 teacher is the pilot's, found in the store
    assert len(list((tmp_path / "store").glob("*/*/recipe.json"))) == trained + 3


def test_the_pace_check_takes_the_dry_runs_or_longer_and_refuses_an_evidence_seed():
    pace = _benchmark_module("pace_check")
    same = dict(pace.DRY_RUN)
    four_seeds = pace.EVIDENCE_SEEDS * (pace.DRY_RUN_SECONDS_PER_SEED - pace.NOTEBOOK_SECONDS) + pace.NOTEBOOK_SECONDS
    assert pace.estimate(same) == (1.0, four_seeds)
    assert 8650 < four_seeds < 8710  # about 2.4 hours: the design's four seeds at the dry runs' pace
    slower = {k: v * 1.25 for k, v in same.items()}
    assert pace.estimate(slower) == (pytest.approx(1.25), pytest.approx(1.25 * four_seeds))
    faster = {k: v * 0.8 for k, v in same.items()}
    assert pace.estimate(faster) == (pytest.approx(0.8), four_seeds)  # never shorter than the dry runs
    # the decision: where the session's end is given, 1.1x the estimate + 5 minutes left; over two hours it starts
    needs = four_seeds * pace.SESSION_MARGIN / 60 + pace.AFTER_RUN_MINUTES  # 164.2 minutes
    assert pace.decision(four_seeds) == "start"
    assert pace.decision(four_seeds, needs) == "start" and pace.decision(four_seeds, 164.2) == "start"
    assert pace.decision(four_seeds, 164.1).startswith("do not start: 164.1 minutes left, and it needs 164.2")
    assert pace.decision(6000, 115.1) == "start" and pace.decision(6000, 114.9).startswith("do not start")
    refused = subprocess.run([sys.executable, str(REPO / "benchmarks" / "pace_check.py"), "--seed", "0"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "pilot seed" in refused.stderr


def test_the_augment_benchmark_finds_the_two_ways_equal():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "augment_speed.py"), "--repeats", "5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "every output equal" in out.stdout and "one crop per image" in out.stdout


def test_the_cold_run_script_runs_a_clean_clone_with_its_own_store_and_commits_the_outputs_copied_back(tmp_path):
    into = tmp_path / "into"
    into.mkdir()
    git = ["git", "-C", str(into), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    (into / "README.md").write_text("".join(f"<!-- {q} --><!-- /{q} -->\n" for q in ("counts", "run", "budget")))
    (into / ".gitignore").write_text((REPO / ".gitignore").read_text())  # runs/ ignored, as here
    subprocess.run(git + ["add", "README.md", ".gitignore"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "before"], check=True)
    out = subprocess.run([str(REPO / "benchmarks" / "cold_run.sh"), "--into", str(into), "--no-pace-check",
                          "--allow-dirty", "--commit", "--profile", "smoke", "--only", "00_primer"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path), **GIT_IDENTITY})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (into / "runs" / "smoke" / "figures" / "00_primer_temperature.png").exists()
    run = json.loads((into / "runs" / "smoke" / "results" / "manifest.json").read_text())["runs"][-1]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert run["git_revision"] == head and run["git_dirty"] is False
    committed = subprocess.run(git + ["show", "--name-only", "--format=%s", "HEAD"], capture_output=True,
                               text=True).stdout
    assert committed.startswith("Evidence: ./run_all.sh --profile smoke --only 00_primer from an empty store at "
                                f"{head[:7]}")
    # the evidence folders and the README committed; runs/ (here the smoke run's outputs) stays ignored
    files = committed.splitlines()
    assert "README.md" in files and "results/manifest.json" in files and not any(f.startswith("runs/") for f in files)
    # the README quotes the counts and costs of the results/ copied back (here the committed ones, unchanged)
    readme = (into / "README.md").read_text()
    assert quoted(readme, "counts") == counts_text(claims_table(into / "results"))
    assert quoted(readme, "run") == manifest_summary(json.loads((into / "results" / "manifest.json").read_text()))
    assert quoted(readme, "budget").startswith("| profile | trainings | one H100, assumed 25 TFLOP/s")


@pytest.mark.parametrize("decided, started", [("decision: start", True),
                                              ("decision: do not start: 100 minutes left, and it needs 171", False)])
def test_the_cold_run_script_starts_only_on_the_pace_checks_start(tmp_path, decided, started):
    """A stand-in Python answers the pace check (recording its arguments) and the run: the script goes on only on
    the exact line "decision: start", and passes --minutes-left to the check."""
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'calls'}\n"
                    f"case \"$1\" in *pace_check.py) echo '{decided}' ;; esac\n")
    fake.chmod(0o755)
    out = subprocess.run([str(REPO / "benchmarks" / "cold_run.sh"), "--into", str(tmp_path), "--allow-dirty",
                          "--minutes-left", "100", "--only", "00_primer"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHON": str(fake), "TMPDIR": str(tmp_path)})
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].endswith("benchmarks/pace_check.py --minutes-left 100")
    if started:
        assert out.returncode == 0 and calls[1].startswith("-m takdlib.runner --profile cpu --only 00_primer")
    else:
        assert out.returncode == 3 and len(calls) == 1 and "decided against it" in out.stderr


def test_the_concurrent_steps_benchmark_prints_both_ways_per_model():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "concurrent_steps.py"), "--models", "plain2",
                          "--steps", "2", "--rounds", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    (row,) = [line for line in out.stdout.splitlines() if line.startswith("| plain2 |")]
    one, two, ratio = (cell.strip() for cell in row.strip("|").split("|")[1:])
    assert float(one.replace(",", "")) > 0 and float(two.replace(",", "")) > 0 and ratio.endswith("x")


def test_the_cluster_benchmark_starts_from_a_copy_of_a_stores_teachers_only(tmp_path):
    bench = _benchmark_module("cluster_vs_inprocess")
    source = tmp_path / "source"
    for address, role, trained in (("aa/aa1", "teacher", True), ("bb/bb2", "student", True),
                                   ("cc/cc3", "teacher", False)):
        folder = source / address
        folder.mkdir(parents=True)
        (folder / "recipe.json").write_text(json.dumps({"role": role}))
        if trained:
            (folder / "model.pt").write_bytes(b"weights")
    assert bench.copy_teachers(source, tmp_path / "store") == 1
    assert [p.relative_to(tmp_path / "store").as_posix() for p in (tmp_path / "store").glob("*/*")] == ["aa/aa1"]
    assert (tmp_path / "store" / "aa" / "aa1" / "model.pt").read_bytes() == b"weights"


def test_the_cheaper_blocks_train_bitwise_as_the_old_ones():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "cheaper_blocks.py"), "--models", "plain4",
                          "resnet8", "--steps", "1", "--rounds", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| plain4 | bitwise equal |" in out.stdout and "| resnet8 | bitwise equal |" in out.stdout


def test_the_feature_gradient_layout_benchmark_trains_bitwise_both_ways():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "feature_grad_layout.py"), "--teacher", "resnet14",
                          "--steps", "1", "--rounds", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| at | bitwise equal |" in out.stdout and "| fsp | bitwise equal |" in out.stdout
