"""Adapters from backtrader analyzer output to naive-indexed pandas series."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.reports import (
    ReportError,
    buy_and_hold_returns,
    returns_from_timereturn,
    to_naive_index,
)


def test_timereturn_becomes_sorted_naive_series_named_strategy() -> None:
    analysis = {
        datetime(2006, 1, 3): 0.02,
        datetime(2006, 1, 2): -0.01,
        date(2006, 1, 4): 0.0,  # TimeReturn on Years uses date keys
    }
    series = returns_from_timereturn(analysis)
    assert series.name == "strategy"
    assert isinstance(series.index, pd.DatetimeIndex) and series.index.tz is None
    assert list(series.index) == list(pd.to_datetime(["2006-01-02", "2006-01-03", "2006-01-04"]))
    assert series.tolist() == [-0.01, 0.02, 0.0]


def test_timereturn_relabelled_onto_bars() -> None:
    # TimeReturn keys a 5-minute bar stamped 09:05 as 09:09: relabel by position.
    analysis = {datetime(2006, 1, 2, 9, 9 + 5 * i): 0.001 * i for i in range(3)}
    bars = pd.date_range("2006-01-02 09:00", periods=4, freq="5min")
    series = returns_from_timereturn(analysis, bar_index=bars)
    assert list(series.index) == list(bars[1:])
    assert series.tolist() == [0.0, 0.001, 0.002]
    with pytest.raises(ReportError, match="finer timeframe"):
        returns_from_timereturn(analysis, bar_index=bars[:2])


def test_pyfolio_utc_index_keeps_wall_clock_time() -> None:
    utc = pd.date_range("2006-01-02", periods=3, freq="D", tz="UTC")
    naive = to_naive_index(pd.Series([0.1, 0.2, 0.3], index=utc))
    assert naive.index.tz is None
    assert list(naive.index) == list(pd.date_range("2006-01-02", periods=3, freq="D"))


def test_buy_and_hold_returns() -> None:
    close = pd.Series([100.0, 110.0, 99.0], index=pd.date_range("2006-01-02", periods=3))
    returns = buy_and_hold_returns(close)
    assert returns.name == "benchmark"
    np.testing.assert_allclose(returns.to_numpy(), [0.0, 0.1, -0.1])


def test_buy_and_hold_refuses_gaps() -> None:
    close = pd.Series([100.0, np.nan, 99.0], index=pd.date_range("2006-01-02", periods=3))
    with pytest.raises(ReportError, match="gaps"):
        buy_and_hold_returns(close)
