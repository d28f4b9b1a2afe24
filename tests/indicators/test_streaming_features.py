"""StreamingFeatures (one bar at a time, O(1) a bar) == feature_matrix (the offline definition)
on every bar of every shipped market frame, for ta-v2, ta-v1 and other periods; TaStream keeps
TA-Lib's Function API semantics (warm-up, leading NaN, a non-finite bar)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from bt_attention_lstm.models.features import ta_stream
from bt_attention_lstm.models.features.compute import feature_matrix, warmup_bars
from bt_attention_lstm.models.features.spec import FEATURE_NAMES, FeatureSpec, v1_spec
from bt_attention_lstm.models.features.streaming import StreamingFeatures
from bt_attention_lstm.models.features.ta_stream import TaStream
from tests.indicators.feature_parity import assert_rows_match, deviations, shipped_frames

FRAMES = shipped_frames()


def offline(df: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    cols = [df[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume")]
    return feature_matrix(*cols, spec=spec, names=spec.line_names)


def streamed(df: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    stream = StreamingFeatures(spec)
    bars = zip(*(df[k].tolist() for k in ("high", "low", "close", "volume")), strict=True)
    return np.array([stream.update(*bar) for bar in bars], dtype=np.float64)


def test_the_shipped_data_is_all_there():
    names = " ".join(FRAMES)
    for part in ("orcl", "nvda", "yhoo", "2006-day", "2006-min-005", "volume-min-001",
                 "ko-close", "us-stocks-close-1990-2022.csv#KO"):
        assert part in names
    assert sum(1 for n in FRAMES if "#" in n) == 10  # each column of the wide close-only file


@pytest.mark.parametrize("name", list(FRAMES))
def test_every_bar_of_every_shipped_frame_equals_the_offline_features(name):
    df = FRAMES[name]
    spec = FeatureSpec()
    got, want = streamed(df, spec), offline(df, spec)
    assert_rows_match(got, want, spec.line_names, name)
    w = min(warmup_bars(spec), len(df))
    assert np.isnan(got[:w]).all() and np.isfinite(got[w:]).all()


@pytest.mark.parametrize("name", ["orcl-1995-2014.txt", "2006-min-005.txt"])
def test_a_ta_v1_spec_streams_its_own_15_features(name):
    spec = v1_spec()
    df = FRAMES[name]
    got = streamed(df, spec)
    assert got.shape[1] == len(spec.line_names) == 15
    assert_rows_match(got, offline(df, spec), spec.line_names, name)


def test_other_periods_are_streamed_with_their_own_lookbacks():
    spec = FeatureSpec(rsi_period=9, macd_fast=5, macd_slow=35, macd_signal=5, atr_period=7,
                       bb_period=10, bb_dev=1.5, adx_period=10, vol_period=30, volume_period=10,
                       sma_period=100, willr_period=21, ewm_vol_span=30, trend_price_std=40,
                       trend_norm=120)
    df = FRAMES["nvda-1999-2014.txt"].iloc[:2500]
    assert_rows_match(streamed(df, spec), offline(df, spec), spec.line_names, "nvda")


def test_the_deviation_per_feature_is_reported_and_zero_on_orcl():
    df = FRAMES["orcl-1995-2014.txt"]
    spec = FeatureSpec()
    dev = deviations(streamed(df, spec), offline(df, spec), spec.line_names)
    assert set(dev) == set(FEATURE_NAMES)
    # TaStream is TA-Lib's own state and the row arithmetic is feature_matrix's, operation for
    # operation: nothing to round differently (1e-9 is the contract; this is what holds here).
    assert all(d == (0.0, 0.0, 0, 0) for d in dev.values()), dev


def test_a_copy_is_an_independent_fork():
    df = FRAMES["yhoo-1996-2014.txt"].iloc[:1500]
    bars = list(zip(*(df[k].tolist() for k in ("high", "low", "close", "volume")), strict=True))
    stream = StreamingFeatures()
    for bar in bars[:1000]:
        stream.update(*bar)
    fork = stream.copy()
    assert fork.bars == stream.bars == 1000
    odd = (bars[1000][0] * 1.1, bars[1000][1], bars[1000][2] * 1.05, 0.0)
    stream.update(*odd)  # the original goes elsewhere; the fork must not notice
    rows = [fork.update(*bar) for bar in bars[1000:]]
    want = offline(df, FeatureSpec())[1000:]
    assert_rows_match(np.array(rows), want, FeatureSpec().line_names, "fork")


# -- TaStream: TA-Lib's Function API, one bar at a time ---------------------------------------
def test_ta_stream_warms_up_like_the_function_api_and_skips_leading_nans():
    x = np.concatenate([[np.nan] * 3, 50.0 + np.cumsum(np.sin(np.arange(200.0)))])
    stream = TaStream("RSI", timeperiod=14)
    got = np.array([stream.update(v) for v in x])
    np.testing.assert_array_equal(got, talib.RSI(x, timeperiod=14))


def test_ta_stream_gives_every_output_of_a_multi_output_function():
    x = 20.0 + np.cumsum(np.cos(np.arange(120.0) / 3.0))
    stream = TaStream("BBANDS", n_outputs=3, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    got = np.array([stream.update(v) for v in x])
    np.testing.assert_array_equal(got, np.column_stack(talib.BBANDS(x, 20, 2.0, 2.0, 0)))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("at", [5, 60])  # before and after the handle opens
def test_a_non_finite_input_after_the_start_makes_the_stream_nan_for_ever(bad, at):
    x = list(10.0 + np.sin(np.arange(100.0)))
    x[at] = bad
    stream = TaStream("EMA", timeperiod=20)
    got = np.array([stream.update(v) for v in x])
    assert np.isnan(got[at:]).all()
    np.testing.assert_array_equal(got[:at], talib.EMA(np.array(x[:at]), timeperiod=20))


def test_without_the_streaming_api_a_stream_is_refused_with_a_reason(monkeypatch):
    monkeypatch.setattr(ta_stream, "_HAS_STREAMS", False)
    assert not ta_stream.streaming_available()
    with pytest.raises(RuntimeError, match="Streaming API"):
        TaStream("EMA", timeperiod=5)
