"""Every notebook, executed by run_all.sh under the smoke profile, as CI and users run it."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import tiny, write_cifar100

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPERIMENTS = [p for p in NOTEBOOKS if p.stem != "00_primer"]  # the primer trains nothing and judges nothing


def run_all(*args, env_extra=None):
    env = dict(os.environ, PYTHON=sys.executable, **(env_extra or {}))
    env.pop("MPLBACKEND", None)  # papermill kernels keep their inline backend
    return subprocess.run([str(REPO / "run_all.sh"), *args], capture_output=True, text=True, env=env, cwd="/")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sources_are_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].source.startswith("profile = None ")  # $TAKD_PROFILE, else smoke
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.cells[0].cell_type == "markdown"
    # what it runs and how to reproduce the committed numbers, said before the parameter cell
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("**Running it.**")
    assert path.stem == "00_primer" or f"--profile cpu --only {path.stem}" in nb.cells[1].source
    assert all("id" in cell for cell in json.loads(path.read_text())["cells"])  # nbformat 4.5: no missing ids


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short_and_lines_narrow(path):
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        assert len([line for line in lines if line.strip()]) <= 15, f"cell {i} has over 15 lines"
        assert max(map(len, lines), default=0) <= 100, f"cell {i} has a line over 100 characters"


COMMITTED = sorted((REPO / "results" / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_executed_notebooks_are_quiet(path):
    """No stderr, no warning, no error and no per-epoch log line in what a reader of the evidence sees."""
    outputs = [o for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" for o in c.outputs]
    streams = [o for o in outputs if o.output_type == "stream"]
    assert not [o.text for o in streams if o.name == "stderr"]
    assert not [o.text for o in streams if "Warning" in o.text or " | epoch " in o.text]
    assert all(o.output_type != "error" for o in outputs)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_executed_notebooks_summarise_their_training(path):
    """At most 20 lines of training output, and no 64-hex store path, in each page a reader sees."""
    text = "".join(o.text for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    assert len([line for line in text.splitlines() if "train" in line]) <= 20
    assert not re.search(r"[0-9a-f]{64}", text)


@pytest.fixture(scope="module")
def smoke_folder(tmp_path_factory):
    """One store and one output folder for the smoke runs below: a notebook run after 01 reuses its teachers,
    and one run alone trains what it needs."""
    return tmp_path_factory.mktemp("smoke")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_runs_on_the_smoke_profile(path, real_cifar10, smoke_folder):
    out, store = smoke_folder / "out", smoke_folder / "store"
    result = run_all("--profile", "smoke", "--only", path.stem, "-p", "out_dir", str(out), "-p", "store", str(store))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if path in EXPERIMENTS:
        payload = json.loads((out / "results" / f"{path.stem}.json").read_text())
        assert payload["profile"] == "smoke" and payload["claims"]
        assert all(c["verdict"] in ("not judged (smoke)", "not run") for c in payload["claims"])
        assert all(c["kind"] in ("paper", "setup", "question") for c in payload["claims"])
        assert list((out / "figures").glob(f"{path.stem}_*.png"))
        assert "Claims (paper vs ours vs verdict)" in result.stdout
    else:
        assert (out / "figures" / "00_primer_temperature.png").exists()
    # quiet, readable output: the terminal names each model being trained; the kernels warn about nothing; the
    # executed notebook holds one line per model, each epoch's line is in the model's log in the store
    assert "running over TCP" not in result.stderr
    if path.stem == "01_gap":
        assert "01_gap: model 1 of" in result.stdout and list(store.glob("*/*/train.log"))
    executed = nbformat.read(out / "notebooks" / path.name, as_version=4)
    streams = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "stream"]
    assert not any(" | epoch " in o.text for o in streams)
    # the reader sees one summary per table, not a line per model, and no store path
    text = "".join(o.text for o in streams)
    assert len([line for line in text.splitlines() if "train" in line]) <= 20
    assert not re.search(r"[0-9a-f]{64}", text)
    assert not [o.text for o in streams if o.name == "stderr" or "Warning" in o.text]
    run = json.loads((out / "results" / "manifest.json").read_text())["runs"][-1]
    assert set(run["wall_seconds"]) == {path.stem} and run["packages"]["torch"]
    split = run["split"][path.stem]  # where the notebook's seconds went: trainings by role and model, the rest
    trained = sum(t for archs in split["train"].values() for t in archs.values())
    assert set(split["train"]) <= {"teacher", "assistant", "student"} and split["other"] >= 0
    assert trained + split["derived"] + split["other"] == pytest.approx(run["wall_seconds"][path.stem], abs=0.5)
    if path.stem == "01_gap":  # it trains the first teachers of this store
        assert split["trained"] > 0 and "plain10" in split["train"]["teacher"]


@pytest.mark.xdist_group("longest")  # `make test`: the two longest tests one after the other, not side by side
def test_a_notebook_runs_on_cifar100(tmp_path):
    """A notebook on CIFAR-100 files in the real format (08, the cheapest from an empty store: plain10 with its
    CIFAR-100 head teaching through plain4, and the loss landscape over 100 classes)."""
    root = write_cifar100(tmp_path / "c100", train_per_class=15, test_per_class=5)  # the smoke profile's counts
    result = run_all("--profile", "smoke", "--only", "08_landscape", "-p", "dataset", "cifar100", "-p", "data",
                     str(root), "-p", "out_dir", str(tmp_path / "out"), "-p", "store", str(tmp_path / "store"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    payload = json.loads((tmp_path / "out" / "results" / "08_landscape.json").read_text())
    assert payload["dataset"] == "cifar100" and payload["surfaces"] and payload["flatness"]
    recipes = [json.loads(p.read_text()) for p in (tmp_path / "store").glob("*/*/recipe.json")]
    assert recipes and {r["data"]["dataset"] for r in recipes} == {"cifar100"}


def test_a_resnet_chain_trains_on_cifar100(tmp_path):
    """A ResNet chain through the store on CIFAR-100 files in the real format: a 100-way head."""
    from takdlib.profiles import recipes_for
    from takdlib.store import Store

    root = write_cifar100(tmp_path / "c100", train_per_class=30, test_per_class=20)
    store = Store(tmp_path / "store", root, log=lambda _: None)
    trained = store.get(tiny(recipes_for("smoke", "cifar100").chain(["resnet14", "resnet8"], 0)))
    assert trained.model.head[-1].out_features == 100


def test_unknown_parameters_and_notebooks_are_refused(tmp_path):
    result = run_all("--profile", "smoke", "--only", "01_gap", "-p", "sedes", "[0]")
    assert result.returncode != 0 and "declares no parameter(s) sedes" in result.stderr
    result = run_all("--profile", "smoke", "--only", "99_nothing")
    assert result.returncode != 0 and "unknown notebook" in result.stderr
    result = run_all("--profile", "laptop")
    assert result.returncode != 0 and "invalid choice" in result.stderr


def test_a_failing_notebook_is_named_with_its_cell(tmp_path):
    result = run_all("--profile", "smoke", "--only", "01_gap", "-p", "data", str(tmp_path / "missing"),
                     "-p", "out_dir", str(tmp_path / "out"), "-p", "store", str(tmp_path / "store"))
    assert result.returncode == 1
    assert "FAILED 01_gap: cell" in result.stdout and "DataUnavailable" in result.stdout


def test_the_primer_computes_each_loss_by_hand_as_takdlib_does(tmp_path):
    """The primer's hand computations are asserts inside it: run alone, it passes, in seconds, training nothing."""
    result = run_all("--profile", "cpu", "--only", "00_primer", "-p", "out_dir", str(tmp_path / "out"),
                     "-p", "store", str(tmp_path / "store"), env_extra={"TAKD_DATA": str(tmp_path / "no-data")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not (tmp_path / "store").exists()
    assert json.loads((tmp_path / "out" / "results" / "manifest.json").read_text())["runs"][0]["wall_seconds"]["00_primer"] < 60
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "00_primer.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "KD loss by hand" in text and "DGKD loss by hand" in text and "hint loss by hand" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_discusses_its_results_and_gives_exercises_and_references(path):
    headings = [line.strip() for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    wanted = ["## Verdict", "## What this shows"] * (path in EXPERIMENTS) + ["## Try this", "## References"]
    assert [h for h in headings if h in wanted] == wanted, headings


# digits a discussion may type: model names, datasets, the papers' tables and figures, notebooks by name
NAMES_WITH_DIGITS = re.compile(r"(plain|resnet)\d+|CIFAR-?\d+|cifar\d+|(Table|Figure|Fig\.|Section) \d+"
                               r"|\d\d_\w+")


def discussion(cells) -> list:
    """The cells of "## What this shows", up to the next heading of its level."""
    start = next(i for i, c in enumerate(cells) if c.source.startswith("## What this shows"))
    end = next(i for i in range(start + 1, len(cells)) if cells[i].source.startswith("## "))
    return cells[start:end]


def typed_text(cell) -> list[str]:
    """What the author typed into a cell as prose: a Markdown cell's source; a code cell's string constants and
    the literal parts of its f-strings (not their format specs, such as .1f)."""
    import ast

    if cell.cell_type == "markdown":
        return [cell.source]
    tree = ast.parse(cell.source)
    specs = {id(v) for n in ast.walk(tree) if isinstance(n, ast.FormattedValue) and n.format_spec
             for v in ast.walk(n.format_spec)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in specs]


def typed_numbers(cells) -> list[str]:
    """Every typed text of `cells` with a digit outside a model, dataset, table or figure name."""
    return [t for c in cells for t in typed_text(c) if re.search(r"\d", NAMES_WITH_DIGITS.sub("", t))]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_no_number_is_typed_into_a_discussion(path):
    """Every number of "What this shows" is rendered from the run's results, so a new run leaves no stale one."""
    cells = discussion(nbformat.read(path, as_version=4).cells)
    assert any(c.cell_type == "code" and "Markdown(" in c.source for c in cells)  # rendered from the run
    assert typed_numbers(cells) == []


def test_a_typed_number_in_a_discussion_is_found():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    assert typed_numbers([md("## What this shows\nplain10 teaches plain2 (Table 1, CIFAR-10)")]) == []
    assert typed_numbers([code('Markdown(f"TAKD {m:.1f} % under plain10")')]) == []  # a format spec, a name
    assert typed_numbers([md("TAKD beats BLKD by 0.76 points")]) == ["TAKD beats BLKD by 0.76 points"]
    assert typed_numbers([code('Markdown(f"{m:.2f}, four seeds of 4")')]) == [", four seeds of 4"]


def verdict_words() -> re.Pattern:
    """A verdict word in bold, as a discussion states it: every word `takdlib.claims` can give a row."""
    from takdlib.claims import KINDS, NOT_RUN, NOT_TESTABLE

    words = sorted({w for ws in KINDS.values() for w in ws} | {NOT_RUN, NOT_TESTABLE}, key=len, reverse=True)
    return re.compile(r"\*\*(" + "|".join(map(re.escape, words)) + r")\*\*")


def rendered_discussion(path: Path) -> str:
    """The Markdown that the executed notebook's "What this shows" rendered from its run."""
    return "".join(o.get("data", {}).get("text/markdown", "")
                   for c in discussion(nbformat.read(path, as_version=4).cells) if c.cell_type == "code"
                   for o in c.outputs)


def misquotes(text: str, claims: list[dict], rows_only: bool = True) -> list[str]:
    """What a discussion says that its rows do not: verdict words no row has and, where it quotes rows only,
    any number left once every row's quote (as `report.said` writes it) and paper text are taken out."""
    from takdlib.report import said

    for r in claims:
        text = text.replace(said(claims, r["claim"]), "").replace(r["paper"], "")
    wrong = sorted({m.group(1) for m in verdict_words().finditer(text)} - {r["verdict"] for r in claims})
    return wrong + ([text] if rows_only and re.search(r"\d", NAMES_WITH_DIGITS.sub("", text)) else [])


@pytest.mark.parametrize("path", [p for p in COMMITTED if p.stem != "00_primer"], ids=lambda p: p.stem)
def test_committed_discussions_quote_their_own_results(path):
    """Each executed page's discussion is its run's: every verdict it states and every number it quotes from a
    row is that row's in results/<notebook>.json (09 also quotes mean accuracies, computed from the same run)."""
    text = rendered_discussion(path)
    claims = json.loads((REPO / "results" / f"{path.stem}.json").read_text())["claims"]
    assert text, "no rendered discussion"
    assert misquotes(text, claims, rows_only=path.stem != "09_rivals") == []


def test_a_discussion_that_misquotes_its_row_is_found():
    from takdlib.report import said

    claims = [{"claim": "plain10 → plain4 → plain2: TAKD beats BLKD", "verdict": "inconclusive",
               "ours": "Δ +0.40 (t = 1.1)", "paper": "TAKD 73.51 vs BLKD 72.57"}]
    quoted = f"TAKD: {said(claims, 'TAKD beats')}. The paper: {claims[0]['paper']}."
    assert misquotes(quoted, claims) == []
    assert misquotes(quoted.replace("+0.40", "+0.76"), claims) == ["TAKD: **inconclusive** (Δ +0.76 (t = 1.1)). "
                                                                   "The paper: ."]
    assert misquotes(quoted.replace("inconclusive", "not testable here"), claims, rows_only=False) == [
        "not testable here"]


def test_a_check_runs_one_notebook_on_one_seed_and_sets_it_beside_the_committed_numbers(real_cifar10, tmp_path):
    result = run_all("--profile", "smoke", "--check", "-p", "out_dir", str(tmp_path / "out"),
                     "-p", "store", str(tmp_path / "store"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "check of the committed numbers: 05_distilled_ta on seed 0" in result.stdout
    report = (tmp_path / "out" / "results" / "check.md").read_text()
    assert "rows lie within one committed sd" in report and "| table | row | seed |" in report
    assert json.loads((tmp_path / "out" / "results" / "05_distilled_ta.json").read_text())["seeds"] == [0]
    assert run_all("--profile", "smoke", "--check", "--only", "02_takd").returncode == 2


def test_every_exercise_still_applies_to_its_notebook():
    """benchmarks/exercise_costs.py prices each "Try this" by making its edit: every edit must still find its
    code once, so that an exercise whose instructions a notebook change made stale fails here, not in class."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("exercise_costs", REPO / "benchmarks" / "exercise_costs.py")
    exercises = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exercises)
    assert set(exercises.EXERCISES) == {p.stem for p in NOTEBOOKS}
    for stem, listed in exercises.EXERCISES.items():
        tried = [c for c in nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4).cells
                 if c.cell_type == "markdown" and c.source.startswith("## Try this")]
        listed_there = tried[0].source.split("## References")[0].count("\n* ")
        exercises_listed = [title for title, _ in listed if not title.startswith("or ")]  # "or": a variant
        assert len(exercises_listed) == listed_there, stem  # one entry per exercise of the notebook
        for _, edits in listed:
            if not isinstance(edits, str):
                assert exercises.edited(REPO / "notebooks" / f"{stem}.ipynb", edits).cells
    with pytest.raises(ValueError, match="no longer match"):  # the stale text an exercise once named
        exercises.edited(REPO / "notebooks" / "07_fitnets.ipynb", [("at_beta = 100.0", "at_beta = 10.0")])
