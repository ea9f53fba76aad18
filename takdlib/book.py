"""`make book`: one static HTML site from the committed executed notebooks, for readers without Python.

python -m takdlib.book [--out site]

nbconvert (installed with papermill and JupyterLab) renders each executed notebook in results/notebooks/ as
a page, figures inline; the index holds the claims table (results/claims.md) and a gallery of figures/,
each figure linking to the page of the notebook that drew it. No builder of our own beyond that.
"""
from __future__ import annotations

import argparse
import html
import shutil
from pathlib import Path

import mistune
import nbformat
from nbconvert import HTMLExporter

from .locations import REPO_ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"  # "offline": nbconvert's lab template without CDN scripts

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1em}
.gallery figure{margin:0}.gallery img{width:100%;border:1px solid #ddd}figcaption{font-size:0.85em}"""


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "notebook"


def build(out: Path, notebooks: Path, figures: Path, results: Path) -> list[Path]:
    """Write the site into `out` (replaced); returns the pages written, index first."""
    if not sorted(notebooks.glob("*.ipynb")):
        raise SystemExit(f"no executed notebooks in {notebooks}: run ./run_all.sh --profile cpu first")
    if out.exists():
        shutil.rmtree(out)
    (out / "figures").mkdir(parents=True)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    pages, titles = [], {}
    for path in sorted(notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        (out / f"{path.stem}.html").write_text(body)
        titles[path.stem] = notebook_title(nb)
        pages.append(out / f"{path.stem}.html")
    gallery = []
    for png in sorted(figures.glob("*.png")):
        shutil.copy2(png, out / "figures" / png.name)
        source = next((stem for stem in titles if png.stem.startswith(stem)), None)
        link = f'<a href="{source}.html">{html.escape(titles[source])}</a>' if source else ""
        gallery.append(f'<figure><a href="figures/{png.name}"><img src="figures/{png.name}" alt="{png.stem}"></a>'
                       f"<figcaption>{png.stem} · {link}</figcaption></figure>")
    claims = results / "claims.md"
    claims_html = mistune.html(claims.read_text()) if claims.exists() else "<p>no claims table yet</p>"
    index = f"""<!doctype html><html><head><meta charset="utf-8"><title>takdlib: the evidence</title>
<style>{STYLE}</style></head><body>
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
    pages = build(Path(args.out), REPO_ROOT / "results" / "notebooks", REPO_ROOT / "figures", REPO_ROOT / "results")
    print(f"{len(pages)} pages in {args.out}; open {pages[0]}")


if __name__ == "__main__":
    main()
