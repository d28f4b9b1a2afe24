"""report_from_strategy: the backtest.py report from a user's own Cerebro, in one call; and
importing the plugin leaves matplotlib's backend alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
from bt_attention_lstm.reports import ReportError, report_from_strategy
from bt_attention_lstm.reports.run_result import derive_run
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, pandas_feed, run_cerebro
from bt_attention_lstm.runners.research.reporting import build_metrics, write_report
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.conftest import DATA_DIR, load_market_file, subprocess_env
from tests.strategies.conftest import constant_signal_artifact

PARAMS = {"threshold": 0.2, "stop_loss": 0.03, "take_profit": 0.04, "device": "cpu"}
BROKER = BrokerConfig(cash=100_000.0, commission=0.001, slippage=0.0)
FILES = ("tearsheet.html", "metrics.json", "returns.csv", "trades.csv", "chart.png")


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """A model that always says confidence +0.5: trades every few bars, decided by prices."""
    return constant_signal_artifact(tmp_path_factory.mktemp("churn") / "model", 0.1, 0.6)


@pytest.fixture(scope="module")
def nvda() -> pd.DataFrame:
    return load_market_file(DATA_DIR / "nvda-1999-2014.txt").loc["2010-01-01":"2012-12-31"]


def own_cerebro(*feeds: bt.DataBase) -> bt.Cerebro:
    cerebro = bt.Cerebro(stdstats=False)
    for feed in feeds:
        cerebro.adddata(feed)
    cerebro.broker.setcash(BROKER.cash)
    cerebro.broker.setcommission(commission=BROKER.commission)
    return cerebro


def test_report_from_strategy_equals_the_backtest_runners(
    churn: Artifact, nvda: pd.DataFrame, tmp_path: Path
) -> None:
    # What runners/backtest.py does with the same data, model and broker ...
    result = run_cerebro(nvda, churn, dict(PARAMS), BROKER)
    periods_per_year = infer_periods_per_year(nvda.index)
    expected = build_metrics(result, churn, periods_per_year, infer_timeframe(nvda.index))
    runner_dir = write_report(
        tmp_path / "runner", result, expected, 0.2, periods_per_year, "t", html=False
    )
    # ... and a user's own Cerebro, then one call.
    cerebro = own_cerebro(pandas_feed(nvda, "data0"))
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=churn, **PARAMS)
    strategy = cerebro.run()[0]
    out = report_from_strategy(strategy, tmp_path / "mine")

    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    for block in ("strategy", "benchmark"):
        assert metrics[block] == pytest.approx(expected[block], rel=1e-9, nan_ok=True), block
    assert metrics["period"] == expected["period"] and metrics["model"] == expected["model"]
    assert metrics["in_sample"] is False and metrics["strategy"]["n_trades"] > 20
    bt_mine, bt_runner = metrics["backtrader"], expected["backtrader"]
    assert bt_mine["final_value"] == pytest.approx(bt_runner["final_value"], rel=1e-12)
    assert bt_mine["max_drawdown"] == pytest.approx(bt_runner["max_drawdown"], abs=1e-9)
    for name in ("trades.csv", "returns.csv"):
        assert (out / name).read_text() == (runner_dir / name).read_text(), name
    # one derivation: the user's strategy gives the runner's series, trades and figures
    mine = derive_run(strategy)
    pd.testing.assert_frame_equal(mine.returns, result.returns)
    pd.testing.assert_frame_equal(mine.trades, result.trades)
    pd.testing.assert_series_equal(mine.edge, result.edge)
    assert (mine.exposure, mine.final_value, mine.open_orders) == (
        result.exposure, result.final_value, result.open_orders)
    assert (out / "chart.png").read_bytes()[:4] == b"\x89PNG"
    assert "<html" in (out / "tearsheet.html").read_text()[:2000].lower()


def test_report_from_yahoo_feeds_uses_bar_dates_and_both_feeds(
    churn: Artifact, tmp_path: Path
) -> None:
    def feed(name: str) -> bt.DataBase:
        return bt.feeds.YahooFinanceCSVData(
            dataname=str(DATA_DIR / f"{name}.txt"),
            fromdate=pd.Timestamp("2011-01-01").to_pydatetime(),
            todate=pd.Timestamp("2012-12-31").to_pydatetime(),
        )

    cerebro = own_cerebro(feed("nvda-1999-2014"), feed("yhoo-1996-2014"))
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=churn, **PARAMS)
    strategy = cerebro.run()[0]
    out = report_from_strategy(strategy, tmp_path / "two", html=False)
    metrics = json.loads((out / "metrics.json").read_text())
    # backtrader stamps daily bars 23:59:59.999989: the report shows the bars' dates.
    assert metrics["period"]["start"] == "2011-01-03" and metrics["period"]["timeframe"] == "1d"
    assert metrics["period"]["periods_per_year"] == 252.0
    returns = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)
    assert len(returns) == metrics["period"]["bars"] and returns.benchmark.abs().sum() > 0
    trades = pd.read_csv(out / "trades.csv")
    assert set(trades.data) == {"nvda-1999-2014", "yhoo-1996-2014"}
    assert metrics["backtrader"]["final_value"] == pytest.approx(cerebro.broker.getvalue())


def test_report_from_something_else_is_refused(tmp_path: Path) -> None:
    cerebro = own_cerebro()
    with pytest.raises(ReportError, match="AttentionLSTMStrategy"):
        report_from_strategy(cerebro, tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_importing_the_plugin_keeps_the_users_matplotlib_backend_and_style() -> None:
    code = (
        "import matplotlib\n"
        "before = {k: repr(v) for k, v in matplotlib.rcParams.items() if k != 'backend'}\n"
        "import bt_attention_lstm.reports as r, bt_attention_lstm.strategies as s\n"
        "import bt_attention_lstm.indicators as i, bt_attention_lstm.models as m\n"
        "for name in r.__all__: getattr(r, name)\n"
        "for name in s.__all__: getattr(s, name)\n"
        "for name in i.__all__: getattr(i, name)\n"
        "after = {k: repr(v) for k, v in matplotlib.rcParams.items() if k != 'backend'}\n"
        "assert after == before, {k for k in before if before[k] != after.get(k)}\n"
        "print(matplotlib.get_backend())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(MPLBACKEND="svg"),
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "svg"


def test_report_from_strategy_with_the_default_threshold(
    churn: Artifact, nvda: pd.DataFrame, tmp_path: Path
) -> None:
    """The threshold param defaults to None (its value follows the sizing rule): the report
    uses the strategy's effective threshold."""
    cerebro = own_cerebro(pandas_feed(nvda, "data0"))
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=churn, device="cpu")
    strategy = cerebro.run()[0]
    assert strategy.p.threshold is None
    out = report_from_strategy(strategy, tmp_path / "run", html=False)
    assert (out / "metrics.json").is_file()
    assert strategy.threshold == 0.2  # a classifier's entry rules
