"""Adapters from backtrader analyzer output to pandas return series.

backtrader labels returns in two incompatible ways: `TimeReturn` keys are naive datetimes at
the end of each period (for 5-minute bars the 09:05 bar is keyed 09:09; daily bars are keyed at
midnight while the feed reports 23:59:59.999989), and `PyFolio.get_pf_items()` returns a
UTC-aware index. Everything leaving this module has a naive, sorted DatetimeIndex.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime

import pandas as pd

from bt_attention_lstm.reports.errors import ReportError

logger = logging.getLogger(__name__)


def to_naive_index(series: pd.Series) -> pd.Series:
    """Return `series` on a naive (timezone-free), sorted DatetimeIndex.

    A tz-aware index keeps its wall-clock time (`tz_localize(None)`): backtrader's own
    datetimes are naive wall-clock times, and PyFolio merely stamps them as UTC.
    """
    index = pd.DatetimeIndex(series.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    out = series.copy()
    out.index = index
    return out.sort_index()


def returns_from_timereturn(
    analysis: Mapping[datetime | date, float],
    bar_index: pd.DatetimeIndex | None = None,
) -> pd.Series:
    """Per-period returns from `TimeReturn.get_analysis()` as a Series named "strategy".

    With `bar_index` (the feed's bar timestamps), the returns are relabelled with the bars
    they belong to, so they align with a benchmark built from the same bars. That needs one
    return per bar, i.e. TimeReturn on the data's own timeframe (its default): analyzers run
    in prenext too, so the last len(analysis) bars are exactly the ones it saw.
    """
    series = pd.Series(
        [float(v) for v in analysis.values()],
        index=pd.to_datetime(list(analysis.keys())),
        name="strategy",
        dtype=float,
    )
    series = to_naive_index(series)
    if series.index.has_duplicates:
        raise ReportError("TimeReturn analysis has duplicate timestamps")
    if bar_index is None:
        return series
    bars = to_naive_index(pd.Series(0.0, index=bar_index)).index
    if len(series) > len(bars):
        raise ReportError(
            f"TimeReturn has {len(series)} returns but there are only {len(bars)} bars: "
            "was it run on a finer timeframe than the data?"
        )
    if len(series) < len(bars):
        logger.debug("TimeReturn covers the last %d of %d bars", len(series), len(bars))
    series.index = bars[len(bars) - len(series) :]
    return series


def buy_and_hold_returns(close: pd.Series) -> pd.Series:
    """Close-to-close simple returns of holding the asset, first bar 0.0, named "benchmark"."""
    if len(close) == 0:
        raise ReportError("buy_and_hold_returns needs at least one close price")
    close = to_naive_index(close.astype(float))
    if close.isna().any() or (close <= 0).any():
        # A gap or a zero price would become a fake 0% or -100% bar: refuse it.
        raise ReportError("close prices must be positive and without gaps")
    returns = close.pct_change(fill_method=None)
    returns.iloc[0] = 0.0
    return returns.rename("benchmark")
