"""The committed evidence verifies against its own checksums, and any one-byte edit, lost or added file, or
unreadable results file is named."""
import json
import shutil
from pathlib import Path

import pytest

from takdlib.evidence import fingerprints, main as evidence_main, seal, verify
from takdlib.files import quoted
from takdlib.machine import manifest_summary, run_summary

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def evidence(tmp_path) -> Path:
    """A copy of the committed results/ and figures/."""
    for folder in ("results", "figures"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def test_the_committed_evidence_verifies():
    assert verify(REPO) == []
    assert evidence_main([]) == 0


def _one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["results/02_takd.json", "results/claims.md", "figures/04_paths_paths.png",
                                  "results/notebooks/06_dgkd.ipynb", "results/census.json"])
def test_a_one_byte_edit_to_any_evidence_file_is_named(evidence, name):
    _one_byte(evidence / name)
    problems = verify(evidence)
    assert any(p.startswith(str(evidence / name)) and "differs" in p for p in problems), problems
    assert evidence_main([str(evidence)]) == 1


def test_a_verdict_changed_by_hand_is_found_twice(evidence):
    """Edited in a results file and carried into claims.md: the checksums name both files."""
    path = evidence / "results" / "02_takd.json"
    payload = json.loads(path.read_text())
    payload["claims"][0]["verdict"] = "fails" if payload["claims"][0]["verdict"] == "holds" else "holds"
    path.write_text(json.dumps(payload))
    problems = verify(evidence)
    assert any(str(path) in p for p in problems)
    assert any("claims.md: differs from the claims table" in p for p in problems)


def test_a_lost_an_added_and_a_truncated_file_are_named(evidence):
    (evidence / "figures" / "01_gap_fixed_student.pdf").unlink()
    (evidence / "figures" / "extra.png").write_bytes(b"x")
    truncated = evidence / "results" / "05_distilled_ta.json"
    truncated.write_text(truncated.read_text()[: len(truncated.read_text()) // 2])
    problems = "\n".join(verify(evidence))
    assert "01_gap_fixed_student.pdf: recorded in the manifest, missing" in problems
    assert "extra.png: not recorded in the manifest" in problems
    assert f"results file {truncated} cannot be read" in problems


def test_seal_records_every_file_but_the_manifest(evidence):
    (evidence / "figures" / "extra.png").write_bytes(b"x")
    files = seal(evidence)
    assert "figures/extra.png" in files and "results/manifest.json" not in files
    assert files == fingerprints(evidence) and verify(evidence) == []
    assert json.loads((evidence / "results" / "manifest.json").read_text())["runs"]  # the runs are kept


def _run(**changes) -> dict:
    run = dict(profile="cpu", git_revision="abcdef0123", git_dirty=False, cpu_count=2, cpu_model="Xeon",
               cpu_native_bf16=["amx_bf16"], cuda=None, cluster=None, wall_seconds={"01_gap": 5000.0, "02_takd": 400.0},
               split={"01_gap": {"train": {"teacher": {"plain10": 3000.0}, "student": {"plain2": 1500.4}},
                                 "derived": 100.0, "other": 399.6, "compile": 0.0, "trained": 3},
                      "02_takd": {"train": {"assistant": {"plain4": 300.0}}, "derived": 20.0, "other": 80.0,
                                  "compile": 0.0, "trained": 1}})
    return {**run, **changes}


def test_a_run_is_summarised_with_its_wall_time_and_where_it_went():
    assert run_summary(_run()) == (
        "profile cpu at abcdef0, 2 notebooks on a 2-core Xeon (native bf16: amx_bf16): 5,400 s = 1.50 hours "
        "(teachers 3,000 s, assistants 300 s, students 1,500 s, derived values 120 s, the rest 480 s)")
    # on a cluster the trainings are worker seconds, and no remainder is "the rest"
    clustered = _run(cluster="local:2", split={k: {**v, "other": None} for k, v in _run()["split"].items()})
    assert run_summary(clustered).endswith("on Dask local:2: 5,400 s = 1.50 hours (teachers 3,000 s, assistants "
                                           "300 s, students 1,500 s, derived values 120 s of worker time)")
    # a short run without a split (an older manifest), uncommitted code, no native bf16
    short = _run(git_dirty=True, cpu_native_bf16=[], wall_seconds={"07_fitnets": 7.2}, split={})
    assert run_summary(short) == ("profile cpu at abcdef0 with uncommitted changes, 07_fitnets on a 2-core Xeon "
                                  "(no native bf16): 7 s")
    assert manifest_summary({"runs": [_run(), short]}) == f"{run_summary(_run())}; then {run_summary(short)}"


def test_the_readme_quotes_what_made_the_committed_evidence():
    repo = Path(__file__).resolve().parent.parent
    summary = manifest_summary(json.loads((repo / "results" / "manifest.json").read_text()))
    assert quoted((repo / "README.md").read_text(), "run") == summary, \
        "README should quote (python -m takdlib.evidence --readme README.md): " + summary


def test_quoting_the_run_in_a_readme_neither_verifies_nor_needs_checksums(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "manifest.json").write_text(json.dumps({"runs": [_run()]}))  # no "files": unverifiable
    readme = tmp_path / "README.md"
    readme.write_text("Made by: <!-- run -->an earlier run<!-- /run -->.\n")
    assert evidence_main([str(tmp_path), "--readme", str(readme)]) == 0
    assert readme.read_text() == f"Made by: <!-- run -->{run_summary(_run())}<!-- /run -->.\n"
    assert evidence_main([str(tmp_path)]) == 1  # verifying it is another command, which says no
