"""FeatureVector's streaming path inside backtrader == compute_features, bar for bar: every
shipped data file in every run mode (runonce: the batched path; runonce=False and preload=False:
the streaming state), a live-like feed that backfills, loses its connection and backfills again,
bars that form in place (replaydata), a slower resampled feed shown again on every step, and
the windowed recompute it replaced (kept as the reference and as the fallback of a TA-Lib
without the Streaming API)."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.indicators import FeatureVector, compute_features, feature_vector
from bt_attention_lstm.models.features.compute import feature_matrix, warmup_bars
from bt_attention_lstm.models.features.spec import FEATURE_NAMES, FeatureSpec
from bt_attention_lstm.strategies.live.feed import LiveReplayFeed
from tests.indicators.feature_parity import assert_rows_match, shipped_files, shipped_frames
from tests.indicators.list_feed import ListFeed

MODES = {
    "runonce": ({}, {}),
    "next": ({}, {"runonce": False}),
    "preload_false": ({"preload": False}, {}),
}
FILES = shipped_files()


class Collect(bt.Strategy):
    """A FeatureVector on every data (``streaming`` as given)."""

    params = (("streaming", True), ("rebuild", False))

    def __init__(self) -> None:
        self.fvs = [FeatureVector(d, streaming=self.p.streaming) for d in self.datas]
        if self.p.rebuild:  # forget that the feed replays: rebuild the state at its first change
            for fv in self.fvs:
                fv._follower._keep_before = False


def lines_of(fv: FeatureVector) -> np.ndarray:
    return np.column_stack([np.asarray(line.array, dtype=np.float64) for line in fv.lines])


def bars_of(data: bt.DataBase) -> pd.DataFrame:
    """The bars a data delivered (after the run), as an OHLCV frame."""
    cols = {k: np.asarray(getattr(data, k).array, dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame(cols)


def offline(df: pd.DataFrame) -> np.ndarray:
    return compute_features(df, names=FEATURE_NAMES).to_numpy()


def run(datas: list[bt.DataBase], mode: str = "next", **params) -> Collect:
    cerebro_kw, run_kw = MODES[mode]
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kw)
    for data in datas:
        cerebro.adddata(data)
    cerebro.addstrategy(Collect, **params)
    return cerebro.run(**run_kw)[0]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("file", list(FILES))
def test_every_shipped_file_in_every_run_mode(file, mode):
    # A wide close-only file runs as one Cerebro holding every column (a panel, as trained on).
    frames = FILES[file]
    strat = run([ListFeed(frame=df, name=name) for name, df in frames.items()], mode)
    for fv, (name, df) in zip(strat.fvs, frames.items(), strict=True):
        got = lines_of(fv)
        assert_rows_match(got, offline(df), FEATURE_NAMES, f"{name}, {mode}")
        w = min(warmup_bars(), len(df))
        assert np.isnan(got[:w]).all() and np.isfinite(got[w:]).all()


def test_streaming_equals_the_windowed_recompute_it_replaced():
    df = shipped_frames()["nvda-1999-2014.txt"].iloc[:2600]  # past next_history (2048)
    streamed = run([ListFeed(frame=df)], "next")
    windowed = run([ListFeed(frame=df)], "next", streaming=False)
    assert streamed.fvs[0].streaming and not windowed.fvs[0].streaming
    reference = lines_of(windowed.fvs[0])
    assert_rows_match(lines_of(streamed.fvs[0]), reference, FEATURE_NAMES, "vs windowed")
    assert_rows_match(reference, offline(df), FEATURE_NAMES, "windowed vs offline")


def test_without_talib_streams_the_windowed_recompute_is_used(monkeypatch):
    monkeypatch.setattr(feature_vector, "streaming_available", lambda: False)
    df = shipped_frames()["orcl-1995-2014.txt"].iloc[:600]
    strat = run([ListFeed(frame=df)], "preload_false")
    assert strat.fvs[0].streaming is False
    assert_rows_match(lines_of(strat.fvs[0]), offline(df), FEATURE_NAMES, "fallback")


@pytest.mark.parametrize("backfill", [0, 400, 900])
def test_a_live_feed_that_backfills_and_reconnects(backfill):
    df = shipped_frames()["yhoo-1996-2014.txt"].loc["2008-01-01":"2012-12-31"]
    feed = LiveReplayFeed(dataname=df, backfill=backfill, disconnect_after=150, missed=5)
    strat = run([feed], "next")
    assert feed.live_start is not None  # DELAYED history, then LIVE bars one at a time
    assert len(strat.data) == len(df)
    assert_rows_match(lines_of(strat.fvs[0]), offline(df), FEATURE_NAMES, "live")


@pytest.mark.parametrize("rebuild", [False, True], ids=["state-kept", "rebuilt-once"])
def test_replayed_bars_that_form_in_place(rebuild):
    minutes = shipped_frames()["2006-01-02-volume-min-001.txt"].iloc[:2600]
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.replaydata(ListFeed(frame=minutes, timeframe=bt.TimeFrame.Minutes),
                       timeframe=bt.TimeFrame.Minutes, compression=5)
    cerebro.addstrategy(Collect, rebuild=rebuild)
    strat = cerebro.run(runonce=False)[0]
    bars = bars_of(strat.data)  # the completed 5-minute bars
    assert len(bars) > warmup_bars() + 50
    want = feature_matrix(*(bars[k].to_numpy() for k in bars), names=FEATURE_NAMES)
    assert_rows_match(lines_of(strat.fvs[0]), want, FEATURE_NAMES, "replay")
    assert strat.fvs[0]._follower.revised > len(bars)  # each 5-minute bar formed 4 times


@pytest.mark.parametrize("mode", ["next", "preload_false"])
def test_a_slower_resampled_feed_shown_again_on_every_step(mode):
    days = shipped_frames()["orcl-1995-2014.txt"]
    cerebro_kw, run_kw = MODES[mode]
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kw)
    cerebro.adddata(ListFeed(frame=days, timeframe=bt.TimeFrame.Days))
    cerebro.resampledata(cerebro.datas[0], timeframe=bt.TimeFrame.Weeks)
    cerebro.addstrategy(Collect)
    strat = cerebro.run(**run_kw)[0]
    daily, weekly = strat.fvs
    assert_rows_match(lines_of(daily), offline(days), FEATURE_NAMES, "daily")
    bars = bars_of(strat.datas[1])
    assert len(bars) > warmup_bars() + 50
    want = feature_matrix(*(bars[k].to_numpy() for k in bars), names=FEATURE_NAMES)
    assert_rows_match(lines_of(weekly), want, FEATURE_NAMES, "weekly")


def test_a_ta_v1_spec_streams_in_next_mode():
    from bt_attention_lstm.models.features.spec import v1_spec

    spec = v1_spec()
    df = shipped_frames()["nvda-1999-2014.txt"].iloc[:1200]

    class V1(bt.Strategy):
        def __init__(self) -> None:
            self.fv = FeatureVector(self.data, spec=spec)

    cerebro = bt.Cerebro(stdstats=False, preload=False)
    cerebro.adddata(ListFeed(frame=df))
    cerebro.addstrategy(V1)
    fv = cerebro.run()[0].fv
    got = np.column_stack([np.asarray(line.array) for line in fv.spec_lines])
    want = compute_features(df, spec, names=spec.line_names).to_numpy()
    assert_rows_match(got, want, spec.line_names, "ta-v1")
    assert np.isnan(np.asarray(fv.nret_1.array)).all()  # lines outside the spec stay NaN
    assert FeatureSpec().line_names == FEATURE_NAMES
