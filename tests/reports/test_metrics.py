"""compute_metrics: quantstats-consistent, frequency-aware, JSON-ready."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from bt_attention_lstm.reports import ReportError, compute_metrics, probabilistic_sharpe_ratio
from tests.reports.conftest import PPY_DAILY, Backtest, make_backtest

STRATEGY_KEYS = {
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "volatility",
    "calmar",
    "win_rate",
    "n_trades",
    "exposure",
    "psr",
}
BENCHMARK_KEYS = {"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility"}


def read_returns_csv(report_dir: Path) -> pd.DataFrame:
    return pd.read_csv(report_dir / "returns.csv", index_col="datetime", parse_dates=True)


def test_schema(backtest: Backtest) -> None:
    metrics = compute_metrics(backtest.returns, backtest.trades, 0.5, PPY_DAILY)
    assert set(metrics) == {"strategy", "benchmark"}
    assert set(metrics["strategy"]) == STRATEGY_KEYS
    assert set(metrics["benchmark"]) == BENCHMARK_KEYS
    assert metrics["strategy"]["max_drawdown"] <= 0
    assert metrics["benchmark"]["max_drawdown"] <= 0


def test_sharpe_equals_quantstats_on_returns_csv_read_back(report_dir: Path) -> None:
    written = json.loads((report_dir / "metrics.json").read_text())
    csv = read_returns_csv(report_dir)
    for column in ("strategy", "benchmark"):
        assert written[column]["sharpe"] == qs.stats.sharpe(csv[column], periods=PPY_DAILY)
        assert written[column]["sortino"] == qs.stats.sortino(csv[column], periods=PPY_DAILY)
        assert written[column]["max_drawdown"] == qs.stats.max_drawdown(csv[column])


def test_values_match_their_definitions(backtest: Backtest) -> None:
    m = compute_metrics(backtest.returns, backtest.trades, 0.5, PPY_DAILY)["strategy"]
    r = backtest.returns["strategy"]
    total = float(np.prod(1.0 + r) - 1.0)
    assert m["total_return"] == pytest.approx(total, rel=1e-12)
    assert m["cagr"] == pytest.approx((1.0 + total) ** (PPY_DAILY / len(r)) - 1.0, rel=1e-12)
    assert m["calmar"] == pytest.approx(m["cagr"] / abs(m["max_drawdown"]), rel=1e-12)
    assert m["win_rate"] == pytest.approx((backtest.trades["pnl"] > 0).mean())
    assert m["n_trades"] == len(backtest.trades)
    assert m["exposure"] == 0.5
    assert m["psr"] == pytest.approx(probabilistic_sharpe_ratio(r), rel=1e-12)


def test_cagr_agrees_with_quantstats(backtest: Backtest) -> None:
    # quantstats 0.0.86 annualises CAGR by periods; we compute it ourselves so older
    # releases (calendar days) cannot change metrics.json, and pin that the two agree.
    m = compute_metrics(backtest.returns, backtest.trades, 0.5, 19656.0)
    for column in ("strategy", "benchmark"):
        expected = qs.stats.cagr(backtest.returns[column], periods=19656.0)
        assert m[column]["cagr"] == pytest.approx(expected, rel=1e-10)


def test_intraday_periods_per_year_annualise_everything() -> None:
    bars_per_day = 78  # 5-minute bars over 6.5 hours
    intraday = make_backtest(n=600, freq="5min")
    daily = compute_metrics(intraday.returns, intraday.trades, 0.5, PPY_DAILY)["strategy"]
    fast = compute_metrics(intraday.returns, intraday.trades, 0.5, PPY_DAILY * bars_per_day)
    fast_s = fast["strategy"]
    r = intraday.returns["strategy"]
    assert fast_s["volatility"] == pytest.approx(
        r.std(ddof=1) * math.sqrt(PPY_DAILY * bars_per_day), rel=1e-12
    )
    assert fast_s["volatility"] / daily["volatility"] == pytest.approx(math.sqrt(bars_per_day))
    assert fast_s["sharpe"] / daily["sharpe"] == pytest.approx(math.sqrt(bars_per_day))
    # 600 bars of 5 minutes are ~7.7 trading days: CAGR annualises by bars, not calendar days.
    total = fast_s["total_return"]
    assert fast_s["cagr"] == pytest.approx(
        (1 + total) ** (PPY_DAILY * bars_per_day / 600) - 1, rel=1e-12
    )


def test_undefined_values_are_none_not_nan(backtest: Backtest) -> None:
    flat = backtest.returns.assign(strategy=0.0)
    no_trades = backtest.trades.iloc[0:0]
    m = compute_metrics(flat, no_trades, 0.0, PPY_DAILY)["strategy"]
    assert m["n_trades"] == 0
    assert m["win_rate"] is None
    assert m["max_drawdown"] == 0.0
    assert m["calmar"] is None
    assert m["sharpe"] is None and m["sortino"] is None and m["psr"] is None
    assert m["total_return"] == 0.0 and m["cagr"] == 0.0


def test_empty_trades_frame_without_columns_is_accepted(backtest: Backtest) -> None:
    m = compute_metrics(backtest.returns, pd.DataFrame(), 0.5, PPY_DAILY)["strategy"]
    assert m["n_trades"] == 0 and m["win_rate"] is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.drop(columns="benchmark"), "benchmark"),
        (lambda r: r.iloc[0:0], "empty"),
        (lambda r: r.reset_index(drop=True), "DatetimeIndex"),
        (lambda r: r.assign(strategy=np.nan), "missing"),
    ],
)
def test_bad_returns_are_rejected(backtest: Backtest, mutate, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        compute_metrics(mutate(backtest.returns), backtest.trades, 0.5, PPY_DAILY)


def test_bad_periods_per_year_is_rejected(backtest: Backtest) -> None:
    with pytest.raises(ReportError, match="periods_per_year"):
        compute_metrics(backtest.returns, backtest.trades, 0.5, 0.0)
