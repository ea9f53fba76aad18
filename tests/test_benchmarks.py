"""The GPU benchmark runs on CPU too (how CI keeps it working); device_check.sh is valid bash."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
