"""Shared synthetic backtest data and one report written per session (the tear sheet is slow)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.datasets import sample_dir
from bt_attention_lstm.reports import compute_metrics, write_backtest_report
from bt_attention_lstm.reports.rule_comparison import RuleComparison, compare_with_rules

DATA_DIR = sample_dir()
PPY_DAILY = 252.0
TITLE = "Attention-LSTM & SYNTH backtest"
BENCHMARK_NAME = "Buy and Hold"


@dataclass(frozen=True)
class Backtest:
    returns: pd.DataFrame
    trades: pd.DataFrame
    price: pd.Series
    confidence: pd.Series
    threshold: float


def make_backtest(n: int = 300, freq: str = "B", seed: int = 7) -> Backtest:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-04", periods=n, freq=freq)
    bench = rng.normal(0.0004, 0.012, n)
    bench[0] = 0.0
    price = pd.Series(100.0 * np.cumprod(1.0 + bench), index=index, name="close")
    in_market = (np.arange(n) // 20) % 2 == 1  # alternate 20 bars flat, 20 bars long
    strategy = np.where(in_market, bench, 0.0)
    returns = pd.DataFrame({"strategy": strategy, "benchmark": bench}, index=index)
    entries = np.flatnonzero(np.diff(in_market.astype(int)) == 1) + 1
    exits = np.minimum(entries + 19, n - 1)
    trades = pd.DataFrame(
        {
            "exit_reason": "signal",  # deliberately out of the canonical order
            "entry_time": index[entries],
            "exit_time": index[exits],
            "side": ["long" if i % 3 else "short" for i in range(len(entries))],
            "size": 10.0,
            "entry_price": price.iloc[entries].to_numpy(),
            "exit_price": price.iloc[exits].to_numpy(),
        }
    )
    trades["pnl"] = (trades["exit_price"] - trades["entry_price"]) * trades["size"]
    trades["pnl_pct"] = trades["exit_price"] / trades["entry_price"] - 1.0
    trades["bars_held"] = exits - entries
    confidence = pd.Series(np.tanh(rng.normal(0.0, 0.6, n)), index=index, name="confidence")
    return Backtest(returns, trades, price, confidence, threshold=0.3)


@pytest.fixture(scope="session")
def backtest() -> Backtest:
    return make_backtest()


def make_comparison(backtest: Backtest) -> RuleComparison:
    """The model (its signal as the position) beside the simple rules on the backtest's price:
    what ``bt-lstm backtest`` passes to the writer. On 300 bars TSMOM and MACD are still
    warming up (flat), which exercises the pages' n/a cells."""
    return compare_with_rules(
        {"SYNTH": backtest.price},
        {"SYNTH": backtest.confidence.clip(-1.0, 1.0)},
        start=backtest.price.index[0],
    )


@pytest.fixture(scope="session")
def comparison(backtest: Backtest) -> RuleComparison:
    return make_comparison(backtest)


@pytest.fixture(scope="session")
def flat_report_dir(backtest: Backtest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full report of a strategy that never traded (returns all 0, no trades, no rule
    comparison): the case whose tear sheet showed "%" cells and a 1.0% risk of ruin."""
    returns = backtest.returns.assign(strategy=0.0)
    trades = backtest.trades.iloc[0:0]
    out = tmp_path_factory.mktemp("flat") / "run"
    return write_backtest_report(
        out,
        returns=returns,
        trades=trades,
        metrics=compute_metrics(returns, trades, 0.0, PPY_DAILY),
        price=backtest.price,
        edge=backtest.confidence * 0.1,
        threshold=backtest.threshold,
        periods_per_year=PPY_DAILY,
        title="flat: no trades",
        benchmark_name=BENCHMARK_NAME,
    )


@pytest.fixture(scope="session")
def report_dir(
    backtest: Backtest, comparison: RuleComparison, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A full report, tear sheet and the plugin's pages included, written once for every test
    that reads it."""
    metrics = compute_metrics(backtest.returns, backtest.trades, 0.5, PPY_DAILY)
    out = tmp_path_factory.mktemp("reports") / "run"
    return write_backtest_report(
        out,
        returns=backtest.returns,
        trades=backtest.trades,
        metrics=metrics,
        price=backtest.price,
        edge=backtest.confidence,
        threshold=backtest.threshold,
        periods_per_year=PPY_DAILY,
        title=TITLE,
        benchmark_name=BENCHMARK_NAME,
        comparison=comparison,
    )
