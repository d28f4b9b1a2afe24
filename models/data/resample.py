"""Slicing a frame to a date range and resampling it to a coarser timeframe."""

from __future__ import annotations

import logging
from datetime import date, datetime

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import OHLCV_COLUMNS, as_datetime_index
from bt_attention_lstm.models.data.timefmt import bar_span
from bt_attention_lstm.models.data.timeframe import (
    TIMEFRAME_UNIT_SPAN,
    infer_bar_spacing,
    infer_timeframe,
    parse_timeframe,
)
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

def as_timestamp(value: str | date | datetime | pd.Timestamp, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"cannot parse {what} date {value!r}; use YYYY-MM-DD") from None
    if ts is pd.NaT:
        raise DataError(f"cannot parse {what} date {value!r}; use YYYY-MM-DD")
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts


def _is_whole_day(value: object, ts: pd.Timestamp) -> bool:
    if isinstance(value, datetime):  # includes pd.Timestamp: an explicit instant
        return False
    if isinstance(value, date):
        return True
    return ts == ts.normalize() and ":" not in str(value)


def select_range(
    df: pd.DataFrame, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Bars with start <= timestamp <= end (inclusive; either bound may be None).

    A date-only ``end`` such as ``"2009-12-31"`` includes every intraday bar of that day.
    """
    lo = as_timestamp(start, "start") if start is not None else None
    hi = as_timestamp(end, "end") if end is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"start {start} is after end {end}")
    mask = np.ones(len(df), dtype=bool)
    if lo is not None:
        mask &= df.index >= lo
    if hi is not None:
        if _is_whole_day(end, hi):
            mask &= df.index < hi + pd.Timedelta(days=1)
        else:
            mask &= df.index <= hi
    out = df.loc[mask]
    if len(out) == 0:
        span = bar_span(df.index)
        raise DataError(
            f"no bars between {start or 'the start'} and {end or 'the end'}; "
            f"the data covers {span}"
        )
    out = out.copy()
    out.attrs = dict(df.attrs)
    return out


def resample_ohlcv(df: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate bars to a coarser timeframe (1min, 5min, 15min, 30min, 1h, 4h, 1d, 1w; aliases
    H, D, W).

    open=first, high=max, low=min, close=last, volume=sum; empty periods are dropped.

    Timestamp rule (no look-ahead): a resampled bar is stamped with the timestamp of the LAST
    source bar inside it, so a backtest never sees it before its last source bar exists.
    Bucket membership follows backtrader's convention that a bar is stamped at its close:
    intraday buckets are right-closed, aligned to midnight (the 1h bucket stamped up to 10:00
    holds source bars in (09:00, 10:00]); daily buckets are calendar dates; weekly buckets are
    weeks ending Friday (Saturday .. Friday). Resampling to a finer timeframe raises DataError.
    """
    n, unit = parse_timeframe(timeframe)
    if len(df) == 0:
        raise DataError("cannot resample an empty frame")
    target = n * TIMEFRAME_UNIT_SPAN[unit]
    if len(df) >= 2:
        spacing = infer_bar_spacing(df.index)
        if target < spacing:
            raise DataError(
                f"cannot resample {infer_timeframe(df.index)} bars to the finer timeframe "
                f"{timeframe}; pick a timeframe of at least {infer_timeframe(df.index)}"
            )
    idx = as_datetime_index(df.index)
    if unit == "w":
        keys = idx.to_period("W-FRI").start_time
    elif unit == "d":
        keys = idx.normalize()
    else:
        keys = idx.ceil(f"{n}{unit}")  # right-closed: a bar at 10:00 belongs to the 10:00 bucket
    frame = df[list(OHLCV_COLUMNS)].copy()
    frame["_stamp"] = idx
    grouped = frame.groupby(np.asarray(keys), sort=False)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        stamp=("_stamp", "last"),
    )
    out.index = pd.DatetimeIndex(out.pop("stamp").to_numpy(), name="datetime").as_unit("ns")
    out = out.astype(np.float64)
    out.attrs = dict(df.attrs)
    out.attrs["timeframe"] = f"{n}{unit}"
    logger.debug("resampled %d bars to %d %s bars", len(df), len(out), timeframe)
    return out
