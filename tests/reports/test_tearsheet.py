"""The quantstats tear sheet: offline, titled, benchmarked, robust to pandas 3 inputs."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.reports import ReportError, write_tearsheet
from tests.reports.conftest import BENCHMARK_NAME, TITLE, make_backtest


def test_tearsheet_has_title_and_benchmark(report_dir: Path) -> None:
    text = (report_dir / "tearsheet.html").read_text(encoding="utf-8")
    assert html.escape(TITLE, quote=False) in text  # escaped: the title holds an "&"
    assert BENCHMARK_NAME in text
    assert f"Benchmark: {BENCHMARK_NAME.upper()}" in text
    assert "Periods/Year: 252" in text


def test_intraday_tz_aware_unnamed_series(tmp_path: Path) -> None:
    # Each of these alone breaks qs.reports.html on pandas 3: a UTC index, int names,
    # a benchmark on a different (superset) index, a flat stretch before the first trade.
    bt = make_backtest(n=400, freq="5min")
    strategy = bt.returns["strategy"].tz_localize("UTC").rename(0)
    benchmark = bt.returns["benchmark"].rename(1)
    extra = pd.Series([0.001], index=[benchmark.index[-1] + pd.Timedelta("5min")])
    benchmark = pd.concat([benchmark, extra])
    out = tmp_path / "intraday.html"
    write_tearsheet(out, strategy, benchmark, 252 * 78.5, "intraday <run>")
    text = out.read_text(encoding="utf-8")
    assert "intraday &lt;run&gt;" in text
    assert "Periods/Year: 19782" in text
    assert "Benchmark: BENCHMARK" in text  # int name replaced


def test_constant_strategy_still_gets_a_tearsheet(tmp_path: Path) -> None:
    bt = make_backtest(n=120)
    out = tmp_path / "flat.html"
    write_tearsheet(out, bt.returns["strategy"] * 0.0, bt.returns["benchmark"], 252, "flat")
    text = out.read_text(encoding="utf-8")
    assert "flat" in text and "Benchmark" in text


def test_benchmark_ticker_string_is_refused(tmp_path: Path) -> None:
    bt = make_backtest(n=50)
    with pytest.raises(TypeError, match="Series"):
        write_tearsheet(tmp_path / "x.html", bt.returns["strategy"], "SPY", 252, "x")  # type: ignore[arg-type]
    assert not (tmp_path / "x.html").exists()


def test_disjoint_series_are_refused(tmp_path: Path) -> None:
    a = pd.Series(np.full(5, 0.01), index=pd.date_range("2020-01-01", periods=5))
    b = pd.Series(np.full(5, 0.01), index=pd.date_range("2021-01-01", periods=5))
    with pytest.raises(ReportError, match="at least two bars"):
        write_tearsheet(tmp_path / "x.html", a, b, 252, "x")


def test_the_tear_sheet_loads_nothing_from_outside(report_dir: Path) -> None:
    import re

    page = (report_dir / "tearsheet.html").read_text()
    loads = re.findall(
        r"<(?:link|script|img|iframe)\b[^>]*(?:href|src)\s*=\s*[\"']?(?:https?:)?//", page, re.I
    )
    assert loads == []
    assert "<table" in page  # the report itself is intact
