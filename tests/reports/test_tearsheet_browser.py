"""The tear sheet rendered in a real headless browser (Debian's Chromium driven by Selenium):
no console error, no request beyond file: and data: URLs (others are blocked and recorded),
every figure drawn, and no table cell a reader cannot read.

Needs /usr/bin/chromium, /usr/bin/chromedriver (``bash .ci/install-browser`` installs both
from the Debian packages; a browser downloaded at install time fails offline) and selenium
(the ``dev`` extra). Without them every test here skips and says which is missing. Other
paths: BT_LSTM_CHROMIUM and BT_LSTM_CHROMEDRIVER.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bt_attention_lstm.reports.tearsheet_cells import is_filled

CHROMIUM = Path(os.environ.get("BT_LSTM_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BT_LSTM_CHROMEDRIVER", "/usr/bin/chromedriver"))
ALLOWED_SCHEMES = ("file:", "data:", "about:")
BLOCKED = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
# quantstats' figure slots (its first figure, cumulative returns, has no id)
QUANTSTATS_SLOTS = (
    "log_returns", "vol_returns", "eoy_returns", "monthly_dist", "daily_returns",
    "rolling_beta", "rolling_vol", "rolling_sharpe", "rolling_sortino", "dd_periods", "dd_plot",
    "monthly_heatmap", "returns_dist",
)
PAGES = ("bt-position", "bt-rules", "bt-costs")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"no headless browser: {CHROMIUM} is missing (bash .ci/install-browser)"
    if not CHROMEDRIVER.is_file():
        return f"no browser driver: {CHROMEDRIVER} is missing (bash .ci/install-browser)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class Rendered:
    console: list[dict[str, Any]]
    requests: list[str]
    figures: list[dict[str, Any]]
    slots: dict[str, bool]
    tables: list[dict[str, Any]]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,2000", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-default-apps", "--disable-sync",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": BLOCKED})
    try:
        yield driver
    finally:
        driver.quit()


_INSPECT = """
const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const figures = [...document.querySelectorAll('img, svg')]
  .filter(e => !(e.parentElement && e.parentElement.closest('svg')))
  .map(e => e.tagName.toLowerCase() === 'img'
    ? {tag: 'img', ok: e.complete && e.naturalWidth > 0 && visible(e),
       src: e.currentSrc.slice(0, 30)}
    : {tag: 'svg', ok: visible(e) && e.childElementCount > 0, src: ''});
const slots = {};
for (const id of arguments[0]) {
  const el = document.getElementById(id);
  slots[id] = !!el && [...el.querySelectorAll('img, svg')].some(visible);
}
const heading = t => {
  for (let e = t; e; e = e.previousElementSibling || e.parentElement) {
    if (/^H[23]$/.test(e.tagName)) return e.innerText.trim();
    const inner = e !== t && e.querySelector && [...e.querySelectorAll('h2, h3')].pop();
    if (inner) return inner.innerText.trim();
  }
  return '';
};
const tables = [...document.querySelectorAll('table')].map(t => ({
  title: heading(t),
  rows: [...t.querySelectorAll('tbody tr')]
    .map(tr => [...tr.querySelectorAll('td')]
      .filter(td => !(td.hasAttribute('colspan') && td.innerText.trim() === ''))
      .map(td => td.innerText.trim()))
    .filter(cells => cells.length > 0),
}));
return {figures, slots, tables};
"""


def render(driver: Any, path: Path) -> Rendered:
    """Open ``path`` and collect its console messages, requests, figures and table cells."""
    driver.get_log("browser")  # start from empty logs
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "[...document.images].every(i => i.complete)"
        )
    )
    seen = driver.execute_script(_INSPECT, [*QUANTSTATS_SLOTS, *PAGES])
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return Rendered(driver.get_log("browser"), requests, seen["figures"], seen["slots"],
                    seen["tables"])


def external(requests: list[str]) -> list[str]:
    return [u[:80] for u in requests if not u.startswith(ALLOWED_SCHEMES)]


def errors(console: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in console if e.get("level") in {"SEVERE", "ERROR"}]


@pytest.fixture(scope="module")
def full(browser: Any, report_dir: Path) -> Rendered:
    return render(browser, report_dir / "tearsheet.html")


@pytest.fixture(scope="module")
def flat(browser: Any, flat_report_dir: Path) -> Rendered:
    return render(browser, flat_report_dir / "tearsheet.html")


def test_the_harness_sees_errors_and_requests(browser: Any, tmp_path: Path) -> None:
    # The checks below mean something only if a broken page fails them.
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><body onload="save()"><img src="http://example.invalid/logo.png">'
        "<table><tbody><tr><td>Max Drawdown</td><td>%</td></tr></tbody></table></body></html>",
        encoding="utf-8",
    )
    seen = render(browser, bad)
    assert any("save is not defined" in m for m in errors(seen.console))
    assert external(seen.requests) == ["http://example.invalid/logo.png"]
    assert [f["ok"] for f in seen.figures] == [False]
    assert seen.tables[0]["rows"] == [["Max Drawdown", "%"]]


@pytest.mark.parametrize("which", ["full", "flat"])
def test_no_console_error(which: str, request: pytest.FixtureRequest) -> None:
    seen: Rendered = request.getfixturevalue(which)
    assert errors(seen.console) == []


@pytest.mark.parametrize("which", ["full", "flat"])
def test_no_external_request(which: str, request: pytest.FixtureRequest) -> None:
    seen: Rendered = request.getfixturevalue(which)
    assert seen.requests, "the performance log recorded nothing: the check would be vacuous"
    assert external(seen.requests) == []


@pytest.mark.parametrize("which", ["full", "flat"])
def test_every_figure_is_drawn(which: str, request: pytest.FixtureRequest) -> None:
    seen: Rendered = request.getfixturevalue(which)
    assert [f for f in seen.figures if not f["ok"]] == []
    imgs = [f for f in seen.figures if f["tag"] == "img"]
    svgs = [f for f in seen.figures if f["tag"] == "svg"]
    # 3 redrawn quantstats figures + the position page (+ rules and costs with a comparison)
    assert len(imgs) == (6 if which == "full" else 4)
    assert all(f["src"].startswith("data:image/png") for f in imgs)
    assert len(svgs) == 11  # quantstats' other figures, cumulative returns included
    assert seen.slots == {slot: True for slot in QUANTSTATS_SLOTS} | {
        page: which == "full" or page == "bt-position" for page in PAGES
    }


@pytest.mark.parametrize("which", ["full", "flat"])
def test_no_table_cell_is_empty_or_a_bare_percent(
    which: str, request: pytest.FixtureRequest
) -> None:
    seen: Rendered = request.getfixturevalue(which)
    cells = [c for t in seen.tables for row in t["rows"] for c in row]
    assert cells
    assert [c for c in cells if c in {"", "%", "-", "+", "nan", "nan%"}] == []


@pytest.mark.parametrize("which", ["full", "flat"])
def test_metrics_table_as_displayed(which: str, request: pytest.FixtureRequest) -> None:
    seen: Rendered = request.getfixturevalue(which)
    [metrics] = [t for t in seen.tables if t["title"] == "Key Performance Metrics"]
    values = {row[0]: row[1:] for row in metrics["rows"]}
    assert [v for row in values.values() for v in row if not is_filled(v)] == []
    assert "CAGR" in values
    if which == "flat":
        assert values["Max Drawdown"][1] == "0.0%"
        assert values["Risk of Ruin"][1] == "n/a (no trades)"
