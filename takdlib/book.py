"""`make book`: one static HTML site from the committed executed notebooks, for readers without Python.

python -m takdlib.book [--out site]

nbconvert (installed with papermill and JupyterLab) renders each executed notebook in results/notebooks/ as
a page, figures inline, titled by the notebook's heading, with links to the index and the previous and next
pages; the index holds the claims table (results/claims.md), a gallery of figures/ (each figure linking to the
page of the notebook that drew it) and the instructors' guide (notebooks/INSTRUCTORS.md). No builder of our own
beyond that.
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
from pathlib import Path

import mistune
import nbformat
from nbconvert import HTMLExporter

from .locations import REPO_ROOT

_NAV_BOX = "max-width:1100px;margin:1em auto;padding:0 1em;font-family:system-ui,sans-serif"
TEMPLATES = Path(__file__).resolve().parent / "templates"  # "offline": nbconvert's lab template without CDN scripts

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1em}
nav{font-size:0.9em;margin:0.5em 0 1em}nav a{margin-right:1.2em}
.gallery figure{margin:0}.gallery img{width:100%;border:1px solid #ddd}figcaption{font-size:0.85em}"""


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "notebook"


def navigation(stems: list[str], titles: dict[str, str], here: str | None) -> str:
    """Links to the index, the instructors' guide, and the pages before and after `here` (None: the index)."""
    links = ['<a href="index.html">index</a>', '<a href="instructors.html">instructors\' guide</a>']
    if here in stems:
        i = stems.index(here)
        if i > 0:
            links.append(f'<a href="{stems[i - 1]}.html">← {html.escape(titles[stems[i - 1]])}</a>')
        if i + 1 < len(stems):
            links.append(f'<a href="{stems[i + 1]}.html">{html.escape(titles[stems[i + 1]])} →</a>')
    return f"<nav>{' '.join(links)}</nav>"


def _after_body(page: str, insert: str) -> str:
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + insert, page, count=1)


def build(out: Path, notebooks: Path, figures: Path, results: Path, guide: Path | None = None) -> list[Path]:
    """Write the site into `out` (replaced); returns the pages written, index first."""
    if not sorted(notebooks.glob("*.ipynb")):
        raise SystemExit(f"no executed notebooks in {notebooks}: run ./run_all.sh --profile cpu first")
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    pages, titles = [], {}
    read = {path.stem: nbformat.read(path, as_version=4) for path in sorted(notebooks.glob("*.ipynb"))}
    titles = {stem: notebook_title(nb) for stem, nb in read.items()}
    stems = list(read)
    for stem, nb in read.items():
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": titles[stem]}})
        nav = navigation(stems, titles, stem)
        (out / f"{stem}.html").write_text(_after_body(body, f'<div style="{_NAV_BOX}">{nav}</div>'))
        pages.append(out / f"{stem}.html")
    gallery = []
    for png in sorted(figures.glob("*.png")):
        shutil.copy2(png, out / "figures" / png.name)
        source = next((stem for stem in titles if png.stem.startswith(stem)), None)
        link = f'<a href="{source}.html">{html.escape(titles[source])}</a>' if source else ""
        gallery.append(f'<figure><a href="figures/{png.name}"><img src="figures/{png.name}" alt="{png.stem}"></a>'
                       f"<figcaption>{png.stem} · {link}</figcaption></figure>")
    guide_html = mistune.html(guide.read_text()) if guide and guide.exists() else "<p>no guide yet</p>"
    (out / "instructors.html").write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<title>takdlib: a guide for instructors</title><style>{STYLE}</style></head><body>
{navigation(stems, titles, None)}{guide_html}</body></html>""")
    pages.append(out / "instructors.html")
    claims = results / "claims.md"
    claims_html = mistune.html(claims.read_text()) if claims.exists() else "<p>no claims table yet</p>"
    index = f"""<!doctype html><html><head><meta charset="utf-8"><title>takdlib: the evidence</title>
<style>{STYLE}</style></head><body>
{navigation(stems, titles, None)}
<h1>takdlib — teacher-assistant knowledge distillation, reproduced</h1>
<p>The executed notebooks of the committed <code>cpu</code> run, one page each:</p>
<ul>{''.join(f'<li><a href="{stem}.html">{html.escape(title)}</a></li>' for stem, title in titles.items())}</ul>
<h2>Figures</h2><div class="gallery">{''.join(gallery)}</div>
{claims_html}
</body></html>"""
    (out / "index.html").write_text(index)
    return [out / "index.html", *pages]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO_ROOT / "site"))
    args = parser.parse_args(argv)
    pages = build(Path(args.out), REPO_ROOT / "results" / "notebooks", REPO_ROOT / "figures", REPO_ROOT / "results",
                  REPO_ROOT / "notebooks" / "INSTRUCTORS.md")
    print(f"{len(pages)} pages in {args.out}; open {pages[0]}")


if __name__ == "__main__":
    main()
