"""make book (Sphinx + MyST-NB): every page there, every link and image resolving, no error output; executed
notebooks scrubbed. tests/test_site.py opens the same book in Chromium."""
import re
from pathlib import Path

import nbformat
import pytest

from takdlib.book import build
from takdlib.locations import REPO_ROOT
from takdlib.runner import publish_executed


def executed_notebook(path: Path, title: str, with_error: bool = False) -> Path:
    cells = [nbformat.v4.new_markdown_cell(f"# {title}"), nbformat.v4.new_code_cell("print('hi')"),
             nbformat.v4.new_code_cell(f'out_dir = "{REPO_ROOT}"', metadata={"tags": ["injected-parameters"]})]
    cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"store {REPO_ROOT}/artifacts\n")]
    if with_error:
        cells[1].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[]))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})
    nb.metadata["papermill"] = {"input_path": f"{REPO_ROOT}/notebooks/{path.name}", "output_path": str(path),
                                "parameters": {"out_dir": str(REPO_ROOT), "seeds": [0]}}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_executed_notebooks_are_published_without_local_paths(tmp_path):
    runs = [executed_notebook(tmp_path / "runs" / f"0{i}_x.ipynb", f"0{i} · x") for i in (1, 2)]
    written = publish_executed(runs, tmp_path / "results" / "notebooks")
    for path in written:
        text = path.read_text()
        assert str(REPO_ROOT) not in text and "input_path" not in text and "<repo>/artifacts" in text
        assert 'out_dir = \\"<repo>\\"' in text and '"out_dir": "<repo>"' in text


def test_the_book_has_every_page_link_and_image(tmp_path):
    notebooks = tmp_path / "results" / "notebooks"
    for i in (1, 2):
        executed_notebook(notebooks / f"0{i}_x.ipynb", f"0{i} · the x notebook")
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_x_plot.png").write_bytes((REPO_ROOT / "figures").glob("*.png").__next__().read_bytes())
    (tmp_path / "results" / "claims.md").write_text("| claim | verdict |\n|---|---|\n| a | **reproduced** |\n")
    guide = tmp_path / "INSTRUCTORS.md"
    guide.write_text("# For instructors\n\nRun 01 first.\n")
    pages = build(tmp_path / "site", notebooks, figures, tmp_path / "results", guide)
    names = ["index.html", "01_x.html", "02_x.html", "claims.html", "instructors.html"]
    assert [p.name for p in pages] == names
    for page in pages:  # every page: its links and images exist, every other page a click away (the sidebar)
        targets = re.findall(r'(?:href|src)="([^"#:?]+)', page.read_text())
        assert set(names) - {page.name} <= set(targets), page.name
        assert all((tmp_path / "site" / t).exists() for t in targets), (page.name, targets)
    first, second = pages[1].read_text(), pages[2].read_text()
    assert re.search(r"<title>01 · the x notebook\b", first)
    assert 'class="right-next"' in first and 'href="02_x.html"' in first and 'href="01_x.html"' in second
    assert "Run 01 first." in pages[4].read_text()
    assert "<table" in pages[3].read_text() and "reproduced" in pages[3].read_text()
    assert 'href="01_x.html"' in pages[0].read_text()  # the figure links to the notebook that drew it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["INSTRUCTORS.md", "figures", "results", "site"]  # no litter


def test_the_committed_book_sources_have_no_error_outputs():
    notebooks = sorted((REPO_ROOT / "results" / "notebooks").glob("*.ipynb"))
    if not notebooks:
        pytest.skip("no executed notebooks committed yet")
    sources = sorted(p.name for p in (REPO_ROOT / "notebooks").glob("0*.ipynb"))
    assert set(p.name for p in notebooks) <= set(sources)
    # a notebook added after the committed evidence run (09_rivals) has no executed copy and no results until the
    # next evidence run: it is then absent from the evidence altogether, never half in it
    for name in set(sources) - {p.name for p in notebooks}:
        assert not (REPO_ROOT / "results" / name.replace(".ipynb", ".json")).exists(), name
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{path.name} has an error output"
        assert str(REPO_ROOT) not in path.read_text()
