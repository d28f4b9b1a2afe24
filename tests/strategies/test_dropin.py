"""AttentionLSTMStrategy in a user's own Cerebro: plotting, short and late-starting feeds,
resampled context feeds, trade_datas, bar-size and user-sizer warnings, TradeRecords with
optstrategy. Everything runs through backtrader as its users drive it."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from bt_attention_lstm.indicators import ModelSignal, warmup_bars
from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies import AttentionLSTMStrategy, TradeRecords
from tests.conftest import DATA_DIR, load_market_file
from tests.strategies.dropin_helpers import CHURN, FILES, cerebro, trade_keys, yahoo

CHECKS = "bt_attention_lstm.strategies.dropin_checks"
MODES = {"runonce": (True, True), "next": (False, True), "preload_false": (False, False)}


@pytest.fixture
def churn(signal_artifact: Callable[[float, float], Artifact]) -> Artifact:
    """A model that always says confidence +0.5."""
    return signal_artifact(0.1, 0.6)


def bars_needed(artifact: Artifact) -> int:
    return warmup_bars(artifact.feature_spec) + artifact.seq_len


def run(c: bt.Cerebro, artifact: Artifact, **params: object) -> AttentionLSTMStrategy:
    c.addstrategy(AttentionLSTMStrategy, artifact=artifact, **{**CHURN, **params})
    return c.run()[0]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# -- 1. plotting ------------------------------------------------------------------------------
def _headless_plot(c: bt.Cerebro, path: Path) -> None:
    import backtrader.plot  # noqa: F401 - forces TkAgg on import, as in a user's script
    import matplotlib

    matplotlib.use("Agg", force=True)  # the README's headless recipe
    import matplotlib.pyplot as plt

    try:
        figures = c.plot(iplot=False, style="line")
        figures[0][0].savefig(path)
    finally:
        plt.close("all")


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_cerebro_plot_with_the_strategy_saves_a_png(churn: Artifact, tmp_path: Path) -> None:
    c = bt.Cerebro()  # stdstats on: broker, trades and buy/sell observers are plotted too
    c.adddata(yahoo("nvda", "2012-01-01", "2013-06-30"), name="nvda")
    strategy = run(c, churn, threshold=0.3)
    signal = next(iter(strategy.signals.values()))
    assert signal.plotinfo.plothlines == [0.3, 0.0, -0.3]  # the strategy's entry lines
    assert signal.plotlabel() == f"ModelSignal (model {churn.weights_sha256[:8]}, threshold 0.3)"
    _headless_plot(c, tmp_path / "strategy.png")
    _assert_png(tmp_path / "strategy.png")


def test_cerebro_plot_with_model_signal_on_its_own(tiny_artifact: Path, tmp_path: Path) -> None:
    c = bt.Cerebro(stdstats=False)
    c.adddata(yahoo("orcl", "2002-01-01", "2004-12-31"), name="orcl")
    c.addstrategy(bt.Strategy)
    c.addindicator(ModelSignal, model_path=str(tiny_artifact), device="cpu")
    strategy = c.run()[0]
    (signal,) = strategy.getindicators()
    assert signal.plotinfo.plothlines == [0.2, 0.0, -0.2]
    _headless_plot(c, tmp_path / "signal.png")
    _assert_png(tmp_path / "signal.png")


# -- 2. short feeds ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(MODES))
def test_short_feed_warns_and_never_crashes(
    churn: Artifact, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    needed = bars_needed(churn)
    df = load_market_file(DATA_DIR / FILES["nvda"]).loc["2010-01-01":].iloc[: needed - 5]
    runonce, preload = MODES[mode]
    c = cerebro(runonce, preload)
    c.adddata(bt.feeds.PandasData(dataname=df, openinterest=None), name="short")
    c.adddata(yahoo("yhoo", "2010-01-01", "2011-12-31"), name="yhoo")
    with caplog.at_level(logging.WARNING, logger=CHECKS):
        strategy = run(c, churn)
    assert f"short: only {needed - 5} bars; the model needs {needed}" in " ".join(
        warnings_of(caplog)
    )
    names = {t.data for t in strategy.trades}
    assert names == {"yhoo"}  # the long feed still trades, the short one never does


# -- 3. a feed that starts later does not stall the others ----------------------------------
def _late_start(
    artifact: Artifact, with_yhoo: bool, runonce: bool = True, preload: bool = True
) -> list[tuple]:
    c = cerebro(runonce, preload)
    c.adddata(yahoo("nvda", "2010-01-01", "2014-09-30"), name="nvda")
    if with_yhoo:
        c.adddata(yahoo("yhoo", "2014-01-01", "2014-09-30"), name="yhoo")
    return trade_keys(run(c, artifact).trades)


def test_nvda_trades_before_a_late_feed_starts_as_if_alone(churn: Artifact) -> None:
    alone = _late_start(churn, with_yhoo=False)
    both = _late_start(churn, with_yhoo=True)
    before = [t for t in alone if t[3] < "2014"]
    assert len(before) >= 20 and before[0][3] < "2010-06"  # trading from NVDA's own warm-up
    assert [t for t in both if t[3] < "2014"] == before
    assert {t[0] for t in both} == {"nvda", "yhoo"}  # and YHOO trades after its warm-up


@pytest.mark.parametrize("mode", ["next", "preload_false"])
def test_late_feed_trades_agree_in_every_run_mode(churn: Artifact, mode: str) -> None:
    runonce, preload = MODES[mode]
    assert _late_start(churn, True, runonce, preload) == _late_start(churn, True)


# -- 4. context feeds and trade_datas ---------------------------------------------------------
def _daily_and_weekly(artifact: Artifact, how: str = "resampledata", **params: object):  # type: ignore[no-untyped-def]
    c = cerebro()
    daily = yahoo("yhoo", "2010-01-01", "2012-06-30")
    c.adddata(daily, name="yhoo")
    if how == "replaydata":
        c.replaydata(daily, timeframe=bt.TimeFrame.Weeks, name="yhoo-weekly")
    else:
        source = daily if how == "resampledata" else yahoo("yhoo", "2010-01-01", "2012-06-30")
        c.resampledata(source, timeframe=bt.TimeFrame.Weeks, name="yhoo-weekly")
    return run(c, artifact, **params)


@pytest.mark.parametrize("how", ["resampledata", "second-feed", "replaydata"])
def test_resampled_copy_is_context_and_not_traded(churn: Artifact, how: str) -> None:
    strategy = _daily_and_weekly(churn, how)
    assert [d._name for d in strategy.trade_datas] == ["yhoo"]
    alone = cerebro()
    alone.adddata(yahoo("yhoo", "2010-01-01", "2012-06-30"), name="yhoo")
    # Not a second asset: no weekly trades, and the daily feed keeps its whole risk budget.
    assert trade_keys(strategy.trades) == trade_keys(run(alone, churn).trades)
    assert len(strategy.trades) > 10


def test_trade_datas_by_name_and_index(churn: Artifact) -> None:
    both = _daily_and_weekly(churn, trade_datas=["yhoo", "yhoo-weekly"])
    assert {t.data for t in both.trades} == {"yhoo", "yhoo-weekly"}
    weekly_only = _daily_and_weekly(churn, trade_datas=1)
    assert {t.data for t in weekly_only.trades} == {"yhoo-weekly"}
    assert [d._name for d in weekly_only.trade_datas] == ["yhoo-weekly"]


@pytest.mark.parametrize("bad", ["msft", 5, []])
def test_trade_datas_refuses_unknown_feeds(churn: Artifact, bad: object) -> None:
    with pytest.raises(ConfigError, match="trade_datas"):
        _daily_and_weekly(churn, trade_datas=bad)


# -- 5. bar-size check ------------------------------------------------------------------------
def test_weekly_bars_on_a_daily_model_warn(
    tiny_artifact: Path, caplog: pytest.LogCaptureFixture
) -> None:
    c = cerebro()
    c.resampledata(yahoo("yhoo", "2004-01-01", "2013-12-31"), timeframe=bt.TimeFrame.Weeks,
                   name="yhoo-w")
    c.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact), device="cpu")
    with caplog.at_level(logging.WARNING, logger=CHECKS):
        c.run()
    assert any(
        "yhoo-w: the model was trained on 1d bars but the data has 1w bars" in m
        for m in warnings_of(caplog)
    )


@pytest.mark.parametrize("mode", ["runonce", "preload_false"])
def test_five_minute_bars_on_a_daily_model_warn(
    tiny_artifact: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    runonce, preload = MODES[mode]
    c = cerebro(runonce, preload)
    # Declared as daily (backtrader's default): the check reads the bars' own timestamps.
    five_min = bt.feeds.BacktraderCSVData(
        dataname=str(DATA_DIR / "2006-min-005.txt"), todate=datetime(2006, 1, 6)
    )
    c.adddata(five_min, name="es")
    c.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact), device="cpu")
    with caplog.at_level(logging.WARNING, logger=CHECKS):
        c.run()
    assert any("es: the model was trained on 1d bars but the data has 5min" in m
               for m in warnings_of(caplog))


def test_daily_bars_on_a_daily_model_do_not_warn(
    tiny_artifact: Path, caplog: pytest.LogCaptureFixture
) -> None:
    c = cerebro()
    c.adddata(yahoo("orcl", "2003-01-01", "2004-12-31"), name="orcl")
    c.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact), device="cpu")
    with caplog.at_level(logging.WARNING, logger=CHECKS):
        c.run()
    assert warnings_of(caplog) == []


# -- 6. the user's own sizer ------------------------------------------------------------------
def test_user_sizer_wins_and_is_named_in_a_warning(
    churn: Artifact, caplog: pytest.LogCaptureFixture
) -> None:
    c = cerebro()
    c.adddata(yahoo("nvda", "2011-01-01", "2012-12-31"), name="nvda")
    c.addsizer(bt.sizers.FixedSize, stake=7)
    with caplog.at_level(logging.WARNING, logger=CHECKS):
        strategy = run(c, churn)
    (message,) = warnings_of(caplog)
    assert "sizer of your own (FixedSize)" in message and "max_position" in message
    assert strategy.trades and {t.size for t in strategy.trades} == {7}


# -- 7. TradeRecords and optstrategy ----------------------------------------------------------
def test_trade_records_analyzer_equals_the_strategys_trades(churn: Artifact) -> None:
    c = cerebro()
    c.adddata(yahoo("nvda", "2011-01-01", "2012-12-31"), name="nvda")
    c.addanalyzer(TradeRecords, _name="trades")
    strategy = run(c, churn)
    records = strategy.analyzers.trades.get_analysis()
    assert records == strategy.trade_rows() and len(records) > 5


def test_optstrategy_results_carry_their_trades(churn: Artifact) -> None:
    c = cerebro()
    c.adddata(yahoo("nvda", "2011-01-01", "2012-12-31"), name="nvda")
    c.addanalyzer(TradeRecords, _name="trades")
    c.optstrategy(AttentionLSTMStrategy, artifact=churn, threshold=[0.3, 0.6],
                  **{k: v for k, v in CHURN.items() if k != "threshold"})
    results = c.run(maxcpus=1)
    by_threshold = {r[0].params.threshold: r[0].analyzers.trades.get_analysis() for r in results}
    assert set(by_threshold) == {0.3, 0.6}
    assert by_threshold[0.6] == []  # confidence 0.5 never reaches 0.6
    single = cerebro()
    single.adddata(yahoo("nvda", "2011-01-01", "2012-12-31"), name="nvda")
    expected = run(single, churn, threshold=0.3).trade_rows()
    assert by_threshold[0.3] == expected and len(expected) > 5
    # What a multi-process optimisation sends back between processes survives pickling.
    assert pickle.loads(pickle.dumps(by_threshold[0.3])) == expected
    assert isinstance(pd.DataFrame(expected).entry_time.iloc[0], pd.Timestamp)


def test_each_feeds_bar_spacing_is_checked_once_whichever_feed_is_ready_first(
    churn: Artifact, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two feeds of the same prices, the later one added first: the earlier one is ready first,
    and on that bar both have the same close. The check must drop exactly that feed from its
    pending list; a feed's == compares the lines' current values, so list.remove would drop the
    other one, which would then never be checked."""
    import bt_attention_lstm.strategies.attention_lstm as module

    checked: list[str] = []
    monkeypatch.setattr(module, "warn_timeframe", lambda data, meta: checked.append(data._name))
    c = cerebro(True, True)
    c.adddata(yahoo("nvda", "2010-02-01", "2011-12-31"), name="late")
    c.adddata(yahoo("nvda", "2010-01-01", "2011-12-31"), name="early")
    strategy = run(c, churn)
    assert sorted(checked) == ["early", "late"]
    assert strategy._timeframe_pending == []
