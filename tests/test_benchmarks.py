"""The GPU benchmark runs on CPU too (how CI keeps it working); device_check.sh is valid bash."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_gpu_throughput_prints_its_table_on_cpu(capsys):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_throughput
    finally:
        sys.path.pop(0)
    gpu_throughput.main(["--device", "cpu", "--models", "plain2", "resnet8", "--steps", "1", "--batch", "8"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| plain2") or line.startswith("| resnet8")]
    assert len(rows) == 2 and "CPU" in out
    gflop = float(rows[0].split("|")[2])
    assert 0 < gflop < float(rows[1].split("|")[2])  # resnet8 costs more per image than plain2


def test_device_check_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(REPO / "benchmarks" / "device_check.sh")]).returncode == 0
