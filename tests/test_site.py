"""The book in a real browser: headless Chromium (Debian's chromium + chromium-driver, which .ci/run installs)
opens every page of the site `make book` builds (Sphinx, MyST-NB, the book theme) from the committed executed
notebooks. A missing image, a broken link, an error output, a script error, a table or a formula shown as raw
text, or a request that leaves the machine fails. Screenshots of every page are written to $TAKD_SCREENSHOTS
when it is set, for a person to look at."""
import json
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
LOCAL_SCHEMES = {"file", "data", "about", "blob", "chrome", "chrome-extension"}


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # the driver on PATH: nothing downloaded
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def typeset(driver) -> None:
    """Wait until MathJax (where the page loads it) has typeset the page."""
    driver.execute_async_script("""const done = arguments[arguments.length - 1];
        const wait = () => window.MathJax && MathJax.startup && MathJax.startup.promise
            ? MathJax.startup.promise.then(() => done(true)) : done(false);
        document.readyState === 'complete' ? wait() : window.addEventListener('load', wait);""")


def requests_off_the_machine(driver) -> list[str]:
    """URLs the browser asked for since the last call whose scheme is not local (file:, data:, ...)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [url for url in urls if urlparse(url).scheme not in LOCAL_SCHEMES]


def page_problems(driver, page: Path) -> list[str]:
    """What is wrong with one page as the browser shows it."""
    driver.get_log("performance")  # forget the requests of the pages before
    driver.get(page.as_uri())
    typeset(driver)
    problems = [f"image does not load: {src}" for src in driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")]
    for href in driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"):
        url = urlparse(href)
        if url.scheme == "file" and not Path(unquote(url.path)).exists():
            problems.append(f"broken link: {href}")
    for text in driver.execute_script("return [...document.querySelectorAll('.output.stderr, .output.traceback')]"
                                      ".map(e => e.innerText)"):
        if ERROR_TEXT.search(text):
            problems.append(f"error output: {text.strip().splitlines()[-1][:200]}")
    problems += [f"script error: {e['message'][:200]}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    problems += [f"request off the machine: {url}" for url in requests_off_the_machine(driver)]
    # reading text: paragraphs, list items and table cells, where neither a table nor a formula may stay raw
    prose = driver.execute_script("return [...document.querySelectorAll('article p, article li, article td')]"
                                  ".filter(e => !e.closest('pre, code, .cell_input')).map(e => e.innerText)")
    for text in prose:
        for line in text.splitlines():
            if line.strip().startswith("|") and line.count("|") >= 3:
                problems.append(f"table not rendered: {line.strip()[:120]}")
        if re.search(r"\$[^$\s][^$]*\$", text):
            problems.append(f"formula not typeset: {text.strip()[:120]}")
        if re.search(r"^[`:]{3}\{\w+\}", text, re.M):
            problems.append(f"directive shown as text: {text.strip()[:120]}")
    return problems


def build_site(out: Path, notebooks: Path, figures: Path, results: Path) -> list[Path]:
    from takdlib.book import build

    return build(out, notebooks, figures, results, REPO / "notebooks" / "INSTRUCTORS.md")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "site"
    result = subprocess.run([sys.executable, "-m", "takdlib.book", "--out", str(out)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_committed_book_opens_cleanly_in_chromium(browser, site):
    notebooks = sorted(path.stem for path in (REPO / "results" / "notebooks").glob("0*.ipynb"))
    pages = [site / "index.html", *(site / f"{stem}.html" for stem in notebooks), site / "claims.html",
             site / "instructors.html"]
    shots = os.environ.get("TAKD_SCREENSHOTS")
    for page in pages:
        assert page.exists(), page.name
        assert page_problems(browser, page) == [], page.name
        # the sidebar links every page of the book; the page's footer to the page after it
        sidebar = browser.execute_script(
            "return [...document.querySelectorAll('.bd-sidebar-primary nav a')].map(a => a.href)")
        assert {Path(urlparse(h).path).name for h in sidebar} >= {p.name for p in pages if p != page}, page.name
        if page != pages[-1]:
            assert browser.execute_script("return document.querySelector('a.right-next') !== null"), page.name
        if page.stem in notebooks and page.stem != "00_primer":  # every experiment shows its figures, inline
            assert browser.execute_script("return document.querySelectorAll('article img').length") > 0, page.name
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(shots) / f"{page.stem}.png"))
    browser.get((site / "00_primer.html").as_uri())
    typeset(browser)
    assert browser.execute_script("return document.querySelectorAll('mjx-container').length") >= 5  # typeset
    browser.get((site / "claims.html").as_uri())
    assert browser.execute_script("return document.querySelectorAll('article table tr').length") >= 10
    browser.get(pages[0].as_uri())
    assert browser.execute_script("return document.querySelectorAll('article figure img').length") >= 8


def test_the_book_is_searchable_offline(browser, site):
    browser.get_log("performance")
    browser.get((site / "search.html").as_uri() + "?q=assistant")
    hits = browser.execute_script("""return new Promise(done => { const t0 = Date.now(); const poll = () => {
        const n = document.querySelectorAll('#search-results li').length;
        n || Date.now() - t0 > 20000 ? done(n) : setTimeout(poll, 200); }; poll(); });""")
    assert hits >= 3
    assert requests_off_the_machine(browser) == []


def test_the_check_catches_a_missing_image_a_broken_link_raw_text_and_an_error(browser, tmp_path):
    """The same check on a site made broken on purpose: it must fail there (so the test above can fail)."""
    cell = nbformat.v4.new_code_cell("1 / 0")
    cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                           traceback=["Traceback (most recent call last)", "ZeroDivisionError: division by zero"])]
    web = nbformat.v4.new_markdown_cell('<img src="https://example.org/remote.png" alt="remote">\n\n'
                                        'raw $\\tau\\$ text\n\n:::{note}\nneeds the colon_fence extension\n:::')
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · broken"), cell, web],
                                      metadata={"language_info": {"name": "python"}})
    nbformat.write(broken, notebooks / "01_broken.ipynb")
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "01_broken_plot.png").write_bytes(b"not a png")
    results = tmp_path / "results"
    results.mkdir()
    # a table without its delimiter row is shown as raw text; a link to no page
    (results / "claims.md").write_text("# Claims\n\n<a href='99_missing.html'>a missing page</a>\n\n"
                                       "| a | b |\n| x | y |\n")
    index, page, claims, _guide = build_site(tmp_path / "site", notebooks, figures, results)
    assert any(p.startswith("image does not load") for p in page_problems(browser, index))
    found = page_problems(browser, claims)
    assert any(p.startswith("broken link") and "99_missing" in p for p in found)
    assert any(p.startswith("table not rendered") for p in found)
    found = page_problems(browser, page)
    assert any(p.startswith("error output") and "ZeroDivisionError" in p for p in found)
    assert any(p.startswith("request off the machine") and "example.org" in p for p in found)
    assert any(p.startswith("formula not typeset") for p in found)
    assert any(p.startswith("directive shown as text") and "{note}" in p for p in found)
