"""A tear sheet a user would show (issue 22): every cell a number, a date or "n/a (why)";
labels every default font draws; right dates on the axes; the benchmark compared for any
strategy, or the header says why not; the plugin's pages appended, loading nothing.

Each defect measured on the old tear sheet has a test here that failed on it: Max Drawdown
"%", Risk of Ruin 1.0% without trades, "CAGR" with U+FE6A, the header's unexplained
"Benchmark (not compared, constant strategy)", an undefined ``save()`` called on load, EOY bars
labelled with the next year, months outside the backtest shown as 0.00 returns, and quantstats'
"10Y (ann.)" repeating the CAGR of a one-year backtest.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from bt_attention_lstm.reports import write_tearsheet
from bt_attention_lstm.reports.plugin_pages import (
    cost_sensitivity_figure,
    equity_vs_rules_figure,
    position_figure,
)
from bt_attention_lstm.reports.quantstats_import import qs
from bt_attention_lstm.reports.rule_comparison import RuleComparison
from bt_attention_lstm.reports.tearsheet_cells import (
    NO_TRADES,
    clean_label,
    is_filled,
    is_safe_char,
    unsigned_zero,
)
from bt_attention_lstm.reports.tearsheet_figures import (
    eoy_figure,
    monthly_heatmap_figure,
    styled,
    worst_drawdowns_figure,
)
from tests.reports.conftest import BENCHMARK_NAME, Backtest, make_backtest
from tests.reports.tearsheet_html import read, table

METRICS = "Key Performance Metrics"


def page(report: Path) -> str:
    return (report / "tearsheet.html").read_text(encoding="utf-8")


# -- cells ----------------------------------------------------------------------------------


def test_no_trades_max_drawdown_is_a_number_not_a_bare_percent(flat_report_dir: Path) -> None:
    metrics = table(page(flat_report_dir), METRICS)
    strategy = metrics.column("Strategy")
    assert metrics.row("Max Drawdown")[strategy] == "0.0%"  # was "%"


def test_no_trades_risk_of_ruin_is_na(flat_report_dir: Path) -> None:
    metrics = table(page(flat_report_dir), METRICS)
    assert metrics.row("Risk of Ruin")[metrics.column("Strategy")] == NO_TRADES  # was "1.0%"


def test_risk_of_ruin_is_a_percentage_not_a_fraction(report_dir: Path, backtest: Backtest) -> None:
    metrics = table(page(report_dir), METRICS)
    fraction = float(qs.stats.risk_of_ruin(backtest.returns["strategy"]))
    shown = metrics.row("Risk of Ruin")[metrics.column("Strategy")]
    assert shown == f"{round(fraction * 100, 2) + 0.0}%"


@pytest.mark.parametrize("which", ["report_dir", "flat_report_dir"])
def test_every_metrics_cell_is_a_number_a_date_or_explained(
    which: str, request: pytest.FixtureRequest
) -> None:
    metrics = table(page(request.getfixturevalue(which)), METRICS)
    assert len(metrics.rows) > 60
    bad = [(r[0], v) for r in metrics.rows for v in r[1:] if not is_filled(v)]
    assert bad == []
    assert all(v != "n/a (undefined for these returns)" for r in metrics.rows for v in r[1:]), (
        "a known case was not explained"
    )


@pytest.mark.parametrize("which", ["report_dir", "flat_report_dir"])
def test_no_table_cell_is_empty_a_dash_or_a_bare_percent(
    which: str, request: pytest.FixtureRequest
) -> None:
    tables, _ = read(page(request.getfixturevalue(which)))
    # metrics, EOY, drawdowns, and with a rule comparison the pages' scores and costs
    assert len(tables) == (5 if which == "report_dir" else 3)
    for t in tables:
        for row in t.rows:
            for cell in row:
                assert cell not in {"", "-", "+", "%", "nan", "nan%"}, (t.title, row)


def test_no_trades_cells_that_need_trades_say_so(flat_report_dir: Path) -> None:
    metrics = table(page(flat_report_dir), METRICS)
    strategy = metrics.column("Strategy")
    for label in ("Sharpe", "Sortino", "Win Days", "Profit Factor", "Max DD Date", "Correlation"):
        assert metrics.row(label)[strategy] == NO_TRADES, label
    for label in ("Cumulative Return", "CAGR", "Volatility (ann.)", "Time in Market"):
        assert metrics.row(label)[strategy] == "0.0%", label


def test_no_trades_drawdown_table_says_why_it_is_empty(flat_report_dir: Path) -> None:
    drawdowns = table(page(flat_report_dir), "Worst 10 Drawdowns")
    assert drawdowns.rows == [[NO_TRADES]]


def test_trailing_windows_longer_than_the_backtest_are_na(report_dir: Path) -> None:
    # 300 business days: quantstats showed the whole run's CAGR as "3Y", "5Y" and "10Y".
    metrics = table(page(report_dir), METRICS)
    for label in ("3Y (ann.)", "5Y (ann.)", "10Y (ann.)"):
        assert metrics.row(label)[1:] == ["n/a (the backtest spans 1.1 years)"] * 2
    assert metrics.row("1Y")[1].endswith("%")


def test_benchmark_column_does_not_regress_on_itself(report_dir: Path) -> None:
    metrics = table(page(report_dir), METRICS)
    bench = metrics.column(BENCHMARK_NAME)
    assert metrics.row("Beta")[bench] == "n/a (this is the benchmark)"  # was "-"
    assert re.fullmatch(r"-?\d+\.\d+", metrics.row("Beta")[metrics.column("Strategy")])


def test_eoy_table_won_reads_yes_or_no(report_dir: Path) -> None:
    eoy = table(page(report_dir), "EOY Returns vs Benchmark")
    assert {row[eoy.column("Won")] for row in eoy.rows} <= {"yes", "no"}


def test_signed_zero_loses_its_sign() -> None:
    assert unsigned_zero("-0.0%") == "0.0%"
    assert unsigned_zero("-0.00") == "0.00"
    assert unsigned_zero("-0.01") == "-0.01"


def test_intraday_bars_get_per_bar_labels(tmp_path: Path) -> None:
    bt = make_backtest(n=400, freq="5min")
    out = tmp_path / "intraday.html"
    write_tearsheet(out, bt.returns["strategy"], bt.returns["benchmark"], 252 * 78, "5 min")
    text = out.read_text(encoding="utf-8")
    labels = [r[0] for r in table(text, METRICS).rows]
    assert {"Best Bar", "Worst Bar", "Expected per Bar", "Win Bars"} <= set(labels)
    assert "Best Day" not in labels
    assert "Bars are not daily" in text


# -- labels and fonts -----------------------------------------------------------------------


def test_cagr_label_has_no_small_percent_sign(report_dir: Path) -> None:
    text = page(report_dir)
    assert "\ufe6a" not in text
    assert table(text, METRICS).row("CAGR")


@pytest.mark.parametrize("which", ["report_dir", "flat_report_dir"])
def test_every_visible_character_is_in_the_default_fonts(
    which: str, request: pytest.FixtureRequest
) -> None:
    _, text = read(page(request.getfixturevalue(which)))
    odd = sorted({c for c in text if not c.isspace() and not is_safe_char(c)})
    assert odd == []


def test_clean_label_folds_odd_glyphs() -> None:
    assert clean_label("CAGR\ufe6a") == "CAGR"
    assert clean_label("Sortino/\u221a2") == "Sortino/\u221a2"  # √ is in every common font
    assert clean_label("\uff21lpha\u2003") == "Alpha"  # fullwidth A, em space


# -- header: the benchmark ------------------------------------------------------------------


def test_a_strategy_that_never_traded_is_still_compared(flat_report_dir: Path) -> None:
    text = page(flat_report_dir)
    assert "not compared" not in text  # was "Benchmark (not compared, constant strategy)"
    assert f"Benchmark: {BENCHMARK_NAME.upper()}" in text
    metrics = table(text, METRICS)
    assert metrics.header == ["Metric", BENCHMARK_NAME, "Strategy"]
    assert "The strategy made no trades in this period" in text
    assert table(text, "EOY Returns vs Benchmark").rows


def test_header_says_why_when_quantstats_cannot_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> float:
        raise ValueError("no overlap to regress on")

    monkeypatch.setattr(qs.stats, "information_ratio", broken)
    bt = make_backtest(n=120)
    out = tmp_path / "x.html"
    write_tearsheet(out, bt.returns["strategy"], bt.returns["benchmark"], 252, "x",
                    benchmark_name="SPY")
    text = out.read_text(encoding="utf-8")
    why = "quantstats failed to compare it (ValueError: no overlap to regress on)"
    assert f"Benchmark: SPY, not compared because {why}" in text
    assert f"Benchmark (SPY) not compared: {why}." in text
    assert table(text, METRICS).header == ["Metric", "Strategy"]


def test_page_calls_no_undefined_function_on_load(report_dir: Path) -> None:
    text = page(report_dir)
    assert "onload" not in text  # quantstats' template called save(), defined nowhere
    assert "<?xml" not in text


# -- figures and their dates ----------------------------------------------------------------


def test_eoy_bars_are_labelled_with_their_own_year() -> None:
    # quantstats on pandas 3 put each bar at a period ordinal and labelled ticks by position:
    # the 2014 bar read "2015", and the last year had no label.
    index = pd.bdate_range("2014-03-17", "2020-05-01")
    returns = pd.Series(np.linspace(-0.01, 0.01, len(index)), index=index)
    fig = styled(eoy_figure, returns, returns * 0.5, "Strategy", "Benchmark")
    ax = fig.axes[0]
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    assert labels == [str(y) for y in range(2014, 2021)]
    assert len(ax.patches) == 14  # benchmark bars, then strategy bars, side by side
    benchmark, strategy = ax.patches[:7], ax.patches[7:]
    centers = [b.get_x() for b in strategy]  # where a benchmark bar ends, a strategy bar starts
    assert np.allclose(centers, [b.get_x() + b.get_width() for b in benchmark])
    assert np.allclose(centers, ax.get_xticks())
    assert "from 17 Mar" in ax.get_xticklabels()[0].get_text()
    assert "to 01 May" in ax.get_xticklabels()[-1].get_text()


def test_monthly_heatmap_leaves_months_without_bars_blank() -> None:
    index = pd.bdate_range("2014-03-17", "2015-05-01")
    returns = pd.Series(0.001, index=index)
    fig = styled(monthly_heatmap_figure, returns, "Strategy")
    grid = fig.axes[0].images[0].get_array()
    assert grid.mask[0, :2].all()  # Jan, Feb 2014: before the first bar (quantstats: 0.00)
    assert not grid.mask[0, 2:].any()
    assert grid.mask[1, 5:].all()  # Jun .. Dec 2015: after the last bar
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 15


def _date_span(ax: Axes) -> tuple[pd.Timestamp, pd.Timestamp]:
    low, high = ax.get_xlim()
    return (pd.Timestamp(mdates.num2date(low)).tz_localize(None),
            pd.Timestamp(mdates.num2date(high)).tz_localize(None))


@pytest.mark.parametrize("freq,n", [("B", 300), ("5min", 400), ("W-FRI", 120)])
def test_date_axes_cover_the_bars_and_nothing_else(
    freq: str, n: int, comparison: RuleComparison
) -> None:
    bt = make_backtest(n=n, freq=freq)
    first, last = bt.price.index[0], bt.price.index[-1]
    margin = (last - first) * 0.1
    figures = [
        styled(position_figure, bt.price, bt.confidence, bt.threshold, bt.trades),
        styled(worst_drawdowns_figure, bt.returns["strategy"], "Strategy"),
        styled(equity_vs_rules_figure,
               pd.DataFrame({"model": bt.returns["strategy"], "rule": bt.returns["benchmark"]}),
               "model", bt.returns["strategy"]),
    ]
    for fig in figures:
        ax = fig.axes[-1]
        low, high = _date_span(ax)
        assert first - margin <= low <= first and last <= high <= last + margin, (low, high)
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert len(labels) >= 3


def test_cost_sensitivity_has_one_line_per_strategy(comparison: RuleComparison) -> None:
    scores = comparison.portfolio.scores
    fig = styled(cost_sensitivity_figure, scores, comparison.model_name)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()[: len(scores)]] == [s.name for s in scores]
    assert list(ax.get_xticks()) == [0, 5, 10, 20]


# -- the plugin's pages ---------------------------------------------------------------------


def test_pages_show_position_rules_and_costs(report_dir: Path, comparison: RuleComparison) -> None:
    text = page(report_dir)
    for anchor in ("bt-position", "bt-rules", "bt-costs"):
        assert f'<section id="{anchor}">' in text
    assert comparison.verdict.split(":")[0] in text
    costs = table(text, "Cost sensitivity")
    assert costs.header[1:5] == [f"Sharpe at {b} bps" for b in (0, 5, 10, 20)]
    assert [r[0] for r in costs.rows] == [s.name for s in comparison.portfolio.scores]
    model = costs.row(comparison.model_name)
    expected = comparison.portfolio.scores[0].sharpe_at_bps
    assert [float(v) for v in model[1:5]] == [round(expected[b], 2) for b in (0, 5, 10, 20)]
    scores = table(text, "Equity beside the simple rules")
    assert len(scores.rows) == len(comparison.portfolio.scores)


def test_pages_without_a_comparison_say_so(flat_report_dir: Path) -> None:
    text = page(flat_report_dir)
    assert '<section id="bt-position">' in text
    assert text.count("n/a (no rule comparison was given to the report writer") == 2


def test_every_figure_is_embedded(report_dir: Path) -> None:
    text = page(report_dir)
    sources = re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', text)
    assert len(sources) == 6  # 3 redrawn quantstats figures + 3 pages
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert text.count("<svg") >= 10  # quantstats' other figures, inline
