"""`make book`: the committed executed notebooks as a book, built by Sphinx with MyST-NB and the book theme.

python -m takdlib.book [--out site]

The sources are staged in a temporary folder (the executed notebooks, never re-executed; an index with the
figures; the claims table, results/claims.md; the instructors' guide, notebooks/INSTRUCTORS.md) beside a conf.py
written from `CONFIG`. Formulas are typeset by the MathJax that sphinx-mathjax-offline bundles, and Sphinx's
search runs from files, so the site makes no request off the machine.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from .locations import REPO_ROOT

CONFIG = {
    "project": "takdlib",
    "author": "the takdlib developers",
    "html_title": "takdlib: teacher-assistant knowledge distillation, reproduced",
    "extensions": ["myst_nb", "sphinx-mathjax-offline"],  # the second copies MathJax into _static
    "myst_enable_extensions": ["dollarmath", "amsmath"],
    "nb_execution_mode": "off",  # the evidence run executed them; the book only shows them
    "nb_render_markdown_format": "myst",  # Markdown outputs hold claims tables, which CommonMark leaves as text
    # a widget's view needs ipywidgets' JavaScript from a CDN: show its text fallback instead
    "nb_mime_priority_overrides": [("html", "application/vnd.jupyter.widget-view+json", None)],
    "html_theme": "sphinx_book_theme",
    "html_theme_options": {"show_toc_level": 2, "home_page_in_toc": True, "use_download_button": False},
    "html_context": {"default_mode": "light"},  # else the theme logs an error where a file: page has no setting
    "html_show_sourcelink": False,
    "html_last_updated_fmt": None,
    "html_static_path": ["_static"],
    "html_css_files": ["takdlib.css"],
    "exclude_patterns": ["_build"],
}
# the claims table has six wide columns: let articles use the window, in a smaller type
STYLE = """.bd-page-width{max-width:100%}.bd-main .bd-content .bd-article-container{max-width:100%}
.bd-article table{font-size:0.85em}"""


def notebook_title(path: Path) -> str:
    """The first level-one heading of a notebook (its page title), else its file name."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def titled(path: Path | None, title: str) -> str:
    """A Markdown file's text as a book page: with a level-one heading (`title` where it has none)."""
    text = path.read_text() if path and path.exists() else "Not written yet.\n"
    return text if text.startswith("# ") else f"# {title}\n\n{text}"


def index_page(stems: list[str], titles: dict[str, str], figures: list[str]) -> str:
    """The book's first page (MyST): what it is, the table of contents, and every figure linked to its notebook."""
    gallery = []
    for name in figures:
        source = next((stem for stem in stems if name.startswith(stem)), None)
        caption = f"{Path(name).stem} · [{titles[source]}]({source}.ipynb)" if source else Path(name).stem
        gallery.append(f"```{{figure}} figures/{name}\n:width: 100%\n:alt: {Path(name).stem}\n\n{caption}\n```\n")
    toc = "\n".join([*stems, "claims", "instructors"])
    return f"""# takdlib: teacher-assistant knowledge distillation, reproduced

The executed notebooks of the committed `cpu` run, one page each, with the claims table that tests every paper
claim against a rule written before the evidence, and a guide for instructors.

```{{toctree}}
:maxdepth: 1

{toc}
```

## Figures

{chr(10).join(gallery)}"""


def stage(src: Path, notebooks: Path, figures: Path, results: Path, guide: Path | None) -> list[str]:
    """Write the book's sources into `src`; the page names, in reading order."""
    paths = sorted(notebooks.glob("*.ipynb"))
    if not paths:
        raise SystemExit(f"no executed notebooks in {notebooks}: run ./run_all.sh --profile cpu first")
    (src / "figures").mkdir(parents=True)
    for path in paths:
        shutil.copy2(path, src / path.name)
    pngs = sorted(png.name for png in figures.glob("*.png"))
    for name in pngs:
        shutil.copy2(figures / name, src / "figures" / name)
    stems = [path.stem for path in paths]
    titles = {path.stem: notebook_title(path) for path in paths}
    (src / "index.md").write_text(index_page(stems, titles, pngs))
    (src / "claims.md").write_text(titled(results / "claims.md", "Claims: paper vs ours vs verdict"))
    (src / "instructors.md").write_text(titled(guide, "A guide for instructors"))
    (src / "_static").mkdir()
    (src / "_static" / "takdlib.css").write_text(STYLE)
    (src / "conf.py").write_text("".join(f"{key} = {value!r}\n" for key, value in CONFIG.items()))
    return ["index", *stems, "claims", "instructors"]


def build(out: Path, notebooks: Path, figures: Path, results: Path, guide: Path | None = None) -> list[Path]:
    """Build the site into `out` (replaced); returns its pages, index first. A Sphinx warning fails the build."""
    from sphinx.cmd.build import build_main

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        pages = stage(src, notebooks, figures, results, guide)
        # built beside the sources, then moved: MyST-NB writes a jupyter_execute/ folder beside its output folder
        html = Path(tmp) / "html"
        status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-d", str(Path(tmp) / "doctrees"),
                             str(src), str(html)])
        if status:
            raise SystemExit(f"sphinx-build failed (status {status}): its warnings are printed above")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(html, out)
    return [out / f"{page}.html" for page in pages]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO_ROOT / "site"))
    args = parser.parse_args(argv)
    pages = build(Path(args.out), REPO_ROOT / "results" / "notebooks", REPO_ROOT / "figures", REPO_ROOT / "results",
                  REPO_ROOT / "notebooks" / "INSTRUCTORS.md")
    print(f"{len(pages)} pages in {args.out}; open {pages[0]}")


if __name__ == "__main__":
    main()
