"""Runs the model cannot serve are refused before the first bar, with the feeds stopped:
replaydata (bars still forming), exactbars and qbuffer (trimmed history)."""

from __future__ import annotations

from collections.abc import Callable

import backtrader as bt
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.live.feed import LiveReplayFeed
from tests.conftest import DATA_DIR
from tests.strategies.conftest import crafted_market, wiggle


class _StopCountingFeed(LiveReplayFeed):
    stops = 0

    def stop(self) -> None:
        type(self).stops += 1
        super().stop()


def _cerebro(artifact: Artifact, **kwargs: object) -> tuple[bt.Cerebro, LiveReplayFeed]:
    cerebro = bt.Cerebro(stdstats=False, **kwargs)
    _StopCountingFeed.stops = 0
    feed = _StopCountingFeed(dataname=crafted_market(wiggle(150)), backfill=100, name="live")
    return cerebro, feed


def test_replaydata_is_refused_with_a_pointer_to_resampledata(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro = bt.Cerebro(stdstats=False)
    minutes = bt.feeds.BacktraderCSVData(dataname=str(DATA_DIR / "2006-min-005.txt"),
                                         timeframe=bt.TimeFrame.Minutes, compression=5)
    cerebro.replaydata(minutes, timeframe=bt.TimeFrame.Minutes, compression=15)
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=signal_artifact(0.05, 0.8))
    with pytest.raises(ConfigError, match="replaydata.*resampledata"):
        cerebro.run()


def test_resampledata_is_accepted(signal_artifact: Callable[..., Artifact]) -> None:
    cerebro = bt.Cerebro(stdstats=False)
    minutes = bt.feeds.BacktraderCSVData(dataname=str(DATA_DIR / "2006-min-005.txt"),
                                         timeframe=bt.TimeFrame.Minutes, compression=5)
    cerebro.resampledata(minutes, timeframe=bt.TimeFrame.Minutes, compression=15)
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=signal_artifact(0.05, 0.8))
    assert cerebro.run()[0].bars_seen > 0


def test_exactbars_is_refused_before_any_bar_and_the_feed_is_stopped(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed = _cerebro(signal_artifact(0.05, 0.8), exactbars=1)
    cerebro.adddata(feed)
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=signal_artifact(0.05, 0.8))
    with pytest.raises(ConfigError, match="exactbars=1"):
        cerebro.run()
    assert _StopCountingFeed.stops >= 1
    assert len(feed) <= 1, "the refusal came after bars were processed"


def test_qbuffer_is_refused_before_any_bar_and_the_feed_is_stopped(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed = _cerebro(signal_artifact(0.05, 0.8))
    feed.qbuffer(savemem=1)
    cerebro.adddata(feed)
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=signal_artifact(0.05, 0.8))
    with pytest.raises(ConfigError, match="qbuffer"):
        cerebro.run()
    assert _StopCountingFeed.stops >= 1
