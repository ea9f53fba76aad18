"""The book in a real browser: headless Chromium (Debian's chromium + chromium-driver, which .ci/run installs)
opens the index and every notebook page of the site `make book` builds from the committed executed notebooks.
A missing image, a broken link, an error output or a script error fails. Screenshots of every page are
written to $TAKD_SCREENSHOTS when it is set, for a person to look at."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception)\b", re.M)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # the driver on PATH: nothing downloaded
    yield driver
    driver.quit()


def page_problems(driver, page: Path) -> list[str]:
    """What is wrong with one page as the browser shows it."""
    driver.get(page.as_uri())
    problems = [f"image does not load: {src}" for src in driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")]
    for href in driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"):
        url = urlparse(href)
        if url.scheme == "file" and not Path(unquote(url.path)).exists():
            problems.append(f"broken link: {href}")
    for text in driver.execute_script(
            "return [...document.querySelectorAll('[data-mime-type=\"application/vnd.jupyter.stderr\"]')]"
            ".map(e => e.innerText)"):
        if ERROR_TEXT.search(text):
            problems.append(f"error output: {text.strip().splitlines()[-1][:200]}")
    problems += [f"script error: {e['message'][:200]}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    for line in driver.execute_script("return document.body.innerText").splitlines():
        if line.strip().startswith("|") and line.count("|") >= 3:  # a Markdown table shown as text
            problems.append(f"table not rendered: {line.strip()[:120]}")
    return problems


def build_site(out: Path, notebooks: Path, figures: Path, results: Path) -> list[Path]:
    from takdlib.book import build

    return build(out, notebooks, figures, results, REPO / "notebooks" / "INSTRUCTORS.md")


def test_the_committed_book_opens_cleanly_in_chromium(browser, tmp_path):
    result = subprocess.run([sys.executable, "-m", "takdlib.book", "--out", str(tmp_path / "site")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    pages = [tmp_path / "site" / "index.html", *sorted((tmp_path / "site").glob("0*.html")),
             tmp_path / "site" / "instructors.html"]
    # the index, the guide, and a page per executed notebook of the committed evidence
    assert len(pages) == 2 + len(list((REPO / "results" / "notebooks").glob("0*.ipynb")))
    shots = os.environ.get("TAKD_SCREENSHOTS")
    for page in pages:
        assert page_problems(browser, page) == [], page.name
        if page.name.startswith("0"):  # every notebook page shows its figures, inline
            assert browser.execute_script("return document.images.length") > 0, page.name
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(shots) / f"{page.stem}.png"))
    browser.get(pages[0].as_uri())
    assert browser.execute_script("return document.querySelectorAll('.gallery img').length") >= 8
    assert "reproduced" in browser.execute_script("return document.body.innerText")


def test_the_check_catches_a_missing_image_a_broken_link_and_an_error(browser, tmp_path):
    """The same check on a site made broken on purpose: it must fail there (so the test above can fail)."""
    cell = nbformat.v4.new_code_cell("1 / 0")
    cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                           traceback=["Traceback (most recent call last)", "ZeroDivisionError: division by zero"])]
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · broken"), cell]),
                   notebooks / "01_broken.ipynb")
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_broken_plot.png").write_bytes(b"not a png")
    results = tmp_path / "results"
    results.mkdir()
    # a table whose row has an unescaped pipe more than its header: shown as raw text
    (results / "claims.md").write_text("[a missing page](99_missing.html)\n\n| a | b |\n|---|---|\n| x | y | z |\n"
                                       "| |Δ| ≥ 1 | w |\n")
    index, page, _guide = build_site(tmp_path / "site", notebooks, figures, results)
    found = page_problems(browser, index)
    assert any(p.startswith("image does not load") for p in found)
    assert any(p.startswith("broken link") and "99_missing" in p for p in found)
    assert any(p.startswith("table not rendered") for p in found)
    assert any(p.startswith("error output") and "ZeroDivisionError" in p for p in page_problems(browser, page))
