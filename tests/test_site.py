"""The site of `limits report`, in a real headless browser (Chromium from the system's packages,
installed by `make test`): every page loads without a console error, every link and image
resolves, the graph renders, and the page for C-3 joins its verdicts and its measurements."""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(not (CHROMEDRIVER and CHROMIUM),
                                reason="Chromium and chromedriver are installed by `make test` (apt)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from checker.decide.engine import Options
    from checker.pipeline import VerifySettings, verify_run
    from limits import site as site_
    tmp = tmp_path_factory.mktemp("site")
    run = verify_run(VerifySettings(build=tmp / "verify", jobs=2, options=Options(build_dir=tmp / "verify")))
    assert run.ok
    written = site_.build(ROOT, tmp / "site", run.report)
    return tmp / "site", written


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1400", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _open(browser, path: Path) -> list[str]:
    browser.get(path.as_uri())
    browser.execute_script("return document.readyState")
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_every_page_loads_and_every_link_and_image_resolves(site, browser):
    folder, written = site
    assert len(written["pages"]) >= 25 + 4      # 25 statements of the list, the index, three documents
    for name in written["pages"]:
        page = folder / name
        assert _open(browser, page) == [], name
        broken = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert broken == [], name
        hrefs = browser.execute_script(   # SVG links too: resolve the attribute against the page
            "return Array.from(document.querySelectorAll('a[href]'))"
            ".map(a => new URL(a.getAttribute('href'), document.baseURI).href)")
        for href in hrefs:
            url = urlparse(href)
            assert url.scheme == "file", f"{name} links outside the site: {href}"
            target = Path(unquote(url.path))
            assert target.exists(), f"{name}: broken link {href}"
            if url.fragment and target.suffix == ".html":
                assert f'id="{url.fragment}"' in target.read_text(), f"{name}: no anchor {href}"


def test_the_index_shows_every_statement_in_the_graph(site, browser):
    folder, _ = site
    _open(browser, folder / "index.html")
    nodes = browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph a.node')).map(a => [a.dataset.id, a.dataset.status,"
        " a.getBoundingClientRect().width])")
    ids = [n[0] for n in nodes]
    listed = [line.split()[0] for line in (ROOT / "checker" / "language" / "paper_ids.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ids == listed and len([i for i in ids if not i.startswith("O-")]) == 22
    assert all(width > 0 for *_, width in nodes)                     # drawn, not only in the markup
    assert {status for _, status, _ in nodes} >= {"proved", "corrected", "not stated"}
    edges = browser.execute_script(
        "return Array.from(document.querySelectorAll('#graph .edge')).map(e => [e.dataset.from, e.dataset.to])")
    assert ["H-2", "H-1"] in edges and ["Rt-2", "C-3"] in edges
    rows = browser.find_elements("css selector", "#by-model tbody tr")
    assert len(rows) == len(listed)


def test_the_page_of_c3_joins_its_proof_checks_and_measurements(site, browser):
    folder, _ = site
    _open(browser, folder / "s" / "C-3.html")
    text = browser.find_element("tag name", "main").text
    assert "theorem C-3 \"Softmax crowding" in text                  # the statement as written
    verdicts = [e.text for e in browser.find_elements("css selector", "table.checks .verdict")]
    assert "proved" in verdicts and "refuted" in verdicts             # C-3 and its misreading C-3.half-log
    measured = [e.text for e in browser.find_elements("css selector", ".measurement h3")]
    assert any("needle" in m and "smollm2" in m for m in measured)
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('.measurement img')).filter(i => i.naturalWidth > 0).length")
    assert shown >= 1
    queries = browser.find_elements("css selector", "table.checks a[href$='.smt2']")
    assert queries, "the checks link their SMT-LIB queries"
