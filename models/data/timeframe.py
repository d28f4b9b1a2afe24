"""Timeframes (bar sizes): their labels, inferring one from an index, periods per year, and the
check that a model meets the timeframe it was trained on.

A timeframe label is "1min", "5min", "1h", "1d", "1w", "1mo"... (:func:`infer_timeframe`). A
model only knows the timeframe it was trained on: a daily model's features (20-bar volatility,
50-bar trend, a 5-bar label horizon) mean something else on weekly or 5-minute bars, and the
model says nothing about it, so :func:`timeframe_mismatch` compares ``meta.json``'s
``training.timeframe`` with the data's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import as_datetime_index
from bt_attention_lstm.models.errors import DataError

_TF_UNITS = {"min": "min", "t": "min", "m": "min", "h": "h", "d": "d", "w": "w"}
TIMEFRAME_UNIT_SPAN = {"min": pd.Timedelta(minutes=1), "h": pd.Timedelta(hours=1),
                       "d": pd.Timedelta(days=1), "w": pd.Timedelta(days=7)}
_TF_ALIASES = {"d": "1d", "w": "1w", "h": "1h", "1wk": "1w", "daily": "1d", "weekly": "1w",
               "hourly": "1h", "min": "1min", "t": "1min"}


def parse_timeframe(timeframe: str) -> tuple[int, str]:
    """``(count, unit)`` of a timeframe label: "15min" -> (15, "min"), "1h"/"H" -> (1, "h"),
    "daily"/"D" -> (1, "d"); DataError for labels :func:`models.data.resample_ohlcv` cannot
    produce."""
    tf = str(timeframe).strip()
    tf = _TF_ALIASES.get(tf.lower(), tf)
    m = re.fullmatch(r"(\d*)\s*(min|T|t|m|h|H|d|D|w|W)", tf)
    if not m or (m.group(1) and int(m.group(1)) == 0):
        raise DataError(
            f"unsupported timeframe {timeframe!r}; use e.g. 1min, 5min, 15min, 30min, 1h, 4h, "
            "1d, 1w"
        )
    n = int(m.group(1) or 1)
    unit = _TF_UNITS[m.group(2).lower()]
    if unit in ("d", "w") and n != 1:
        raise DataError(f"unsupported timeframe {timeframe!r}; daily and weekly are 1d and 1w")
    return n, unit


def infer_bar_spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Median spacing between consecutive bars (robust to weekends, holidays and overnight)."""
    idx = as_datetime_index(index)
    if len(idx) < 2:
        raise DataError(f"need at least 2 bars to infer the bar spacing, got {len(idx)}")
    steps = np.diff(idx.as_unit("ns").asi8)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise DataError("cannot infer the bar spacing: all timestamps are equal")
    return pd.Timedelta(int(np.median(steps)), unit="ns")


def infer_timeframe(index: pd.DatetimeIndex) -> str:
    """Timeframe label from the median spacing: "1min", "5min", "1h", "1d", "1w", "1mo"...

    Daily data with weekend and holiday gaps is "1d" (the median step is one day).
    """
    spacing = infer_bar_spacing(index)
    secs = spacing.total_seconds()
    day = 86400.0
    if secs < 60:
        return f"{round(secs):d}s"
    if secs < day * 0.75:
        minutes = round(secs / 60)
        return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"
    days = secs / day
    if days < 1.5:
        return "1d"
    if days <= 5:
        return f"{round(days)}d"
    if days <= 10:
        return "1w"
    if days < 20:
        return f"{round(days / 7)}w"
    if days <= 45:
        return "1mo"
    if days <= 120:
        return "1q"
    return "1y"


def infer_periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year, for annualising: daily 252, weekly 52, monthly 12, quarterly 4, yearly 1.

    Intraday: the median number of bars per calendar date (one session) times 252.
    """
    idx = as_datetime_index(index)
    spacing = infer_bar_spacing(idx)
    days = spacing.total_seconds() / 86400.0
    if days >= 0.75:
        table = {"1d": 252.0, "1w": 52.0, "1mo": 12.0, "1q": 4.0, "1y": 1.0}
        tf = infer_timeframe(idx)
        if tf in table:
            return table[tf]
        return 252.0 / days if days < 7 else 52.0 * 7.0 / days
    per_day = pd.Series(idx.normalize()).value_counts()
    return float(np.median(per_day.to_numpy())) * 252.0


def trained_timeframe(meta: Mapping[str, Any]) -> str | None:
    """The timeframe recorded in an artifact's meta.json, or None when it was not recorded."""
    training = meta.get("training")
    timeframe = training.get("timeframe") if isinstance(training, Mapping) else None
    return str(timeframe) if timeframe else None


def timeframe_mismatch(meta: Mapping[str, Any], data_timeframe: str) -> str | None:
    """A sentence describing the mismatch, or None when the timeframes agree (or are unknown)."""
    trained = trained_timeframe(meta)
    if trained is None or trained == data_timeframe:
        return None
    return f"the model was trained on {trained} bars but the data has {data_timeframe} bars"


def frame_timeframes(frames: Sequence[pd.DataFrame]) -> list[tuple[str, str]]:
    """(source, timeframe) of every frame; the source is ``df.attrs["source"]`` when known."""
    return [
        (str(df.attrs.get("source", f"data #{i + 1}")), infer_timeframe(df.index))
        for i, df in enumerate(frames)
    ]


def require_one_timeframe(frames: Sequence[pd.DataFrame]) -> str:
    """The common timeframe of ``frames``; DataError naming each file's when they differ.

    One model learns one timeframe: mixing 1-minute and daily files would train on neither.
    """
    labelled = frame_timeframes(frames)
    timeframes = {timeframe for _, timeframe in labelled}
    if len(timeframes) > 1:
        listing = ", ".join(f"{source}: {timeframe}" for source, timeframe in labelled)
        raise DataError(
            f"the data files have different bar sizes ({listing}); train one model per bar "
            "size, or resample them all to one `timeframe`"
        )
    return timeframes.pop()
