"""The review report in a real browser: headless Chromium opens report.html from disk.

Needs the Debian packages chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver;
.ci/run installs them). Their absence FAILS the test: a report nobody checked in a browser is
not done. Selenium Manager is never used (it would download a driver): the driver path is given
explicitly and SE_AVOID_STATS keeps Selenium from phoning home.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path

import pytest

from synthpipe.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH = 1366
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "report" / "fixtures" / "runs.py"


def _fixtures():
    spec = importlib.util.spec_from_file_location("report_fixture_runs", FIXTURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"headless Chromium is required for the report test but {', '.join(missing)} "
            "is missing: install the Debian packages chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; .ci/run does this)",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--window-size={WIDTH},900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_AVOID_STATS", "true")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)


def _open(driver, html: Path) -> None:
    driver.set_window_size(WIDTH, 900)
    driver.get(html.resolve().as_uri())
    driver.get_log("browser")  # drop anything logged before this page


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["publishable", "quarantined", "sparse"])
def test_report_renders_in_chromium(browser, tmp_path, kind):
    run = _fixtures().make_run(tmp_path, kind)
    html = build_report(run)
    browser.set_window_size(WIDTH, 900)
    browser.get(html.resolve().as_uri())

    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == [], f"console errors: {errors}"

    # No sideways scrolling on a 1366-px laptop screen.
    scroll_w = browser.execute_script("return document.documentElement.scrollWidth")
    inner_w = browser.execute_script("return window.innerWidth")
    assert scroll_w <= inner_w, f"page is {scroll_w}px wide in a {inner_w}px window"

    banner = browser.find_element("css selector", ".banner .word").text
    assert banner == {"publishable": "PUBLISHABLE"}.get(kind, "QUARANTINED")

    # Every resource the page loaded is the file itself: nothing fetched from anywhere else.
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert urls == [], f"the report fetched resources: {urls}"

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, min(height + 200, 16000))
    png = browser.get_screenshot_as_png()
    (tmp_path / f"report-{kind}.png").write_bytes(png)
    width_px, height_px = _png_size(png)
    assert height > 2000, f"page only {height}px tall: sections missing?"
    assert len(png) > 20_000, f"screenshot only {len(png)} bytes"
    assert height_px > 2000 and width_px >= 1000


@pytest.mark.slow
def test_report_has_no_sideways_scroll_on_narrow_window(browser, tmp_path):
    """Wide tables and charts shrink or scroll inside their own box, never the page."""
    html = build_report(_fixtures().make_run(tmp_path, "publishable"))
    _open(browser, html)
    browser.set_window_size(800, 900)
    scroll_w = browser.execute_script("return document.documentElement.scrollWidth")
    inner_w = browser.execute_script("return window.innerWidth")
    assert scroll_w <= inner_w


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The report of a real rebalanced run on insurance_claims (not a hand-made folder): the
    downstream table, its intervals and PR curves, and the business rules, as a run writes
    them."""
    from synthpipe.config import load_config
    from synthpipe.pipeline import run_pipeline

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    out = tmp_path_factory.mktemp("real") / "run"
    cfg = load_config(None, table=shared / "insurance_claims.csv", target="fraud_reported",
                      model_name="flow", epochs=3, rebalance="0.3", out=out, cache=False)
    result = run_pipeline(cfg)
    assert result.report_path is not None and result.report_path.is_file()
    return result.report_path


@pytest.mark.slow
@pytest.mark.parametrize("width", [WIDTH, 800])
def test_a_real_runs_report_fits_the_window_and_shows_the_downstream_scores(browser, real_run,
                                                                            width):
    browser.set_window_size(width, 900)
    browser.get(real_run.resolve().as_uri())
    assert [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"] == []
    page_w = browser.execute_script("return document.documentElement.scrollWidth")
    inner_w = browser.execute_script("return window.innerWidth")
    assert page_w <= inner_w, f"page is {page_w}px wide in a {inner_w}px window"
    utility = browser.find_element("css selector", "section#utility")
    text = utility.text
    for word in ("real-trained", "synthetic-trained", "PR-AUC", "Verdict"):
        assert word in text, word
    assert utility.find_elements("css selector", ".chart-box svg"), "no PR-curve chart"
    # Every column of the downstream table is in view: the scores are not pushed off screen
    # (at 800 px the table may scroll inside its own box, the page never does).
    table = next(t for t in utility.find_elements("css selector", "table")
                 if "real-trained" in t.text)
    box = table.find_element("xpath", "ancestor::div[contains(@class,'table-wrap')]")
    last = table.find_elements("css selector", "thead th")[-1]
    right = browser.execute_script("return arguments[0].getBoundingClientRect().right", last)
    if width == WIDTH:
        assert right <= inner_w, f"last downstream column ends at {right}px of {inner_w}px"
    else:
        assert box.size["width"] <= inner_w
    rules = browser.find_element("css selector", "section#validation").text
    assert "Business rules" in rules
