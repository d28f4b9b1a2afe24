"""The canonical OHLCV frame every loader returns, and the index rules it follows.

Columns exactly ``open, high, low, close, volume`` as float64; a tz-naive ``DatetimeIndex``
(nanosecond unit) named ``datetime``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
# Tokens that mean "no value here" rather than "garbage": they become NaN and go through the
# bounded forward-fill repair of validate_ohlcv instead of failing the load.
MISSING_TOKENS = frozenset({"", "nan", "null", "na", "n/a", "none", "#n/a"})

def ohlcv_frame(index: pd.DatetimeIndex, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame({c: cols[c] for c in OHLCV_COLUMNS}, index=index)
    df.index.name = "datetime"
    return df


def as_datetime_index(index: pd.Index | pd.DataFrame | pd.Series) -> pd.DatetimeIndex:
    if isinstance(index, pd.DataFrame | pd.Series):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"expected a DatetimeIndex, got {type(index).__name__}")
    return index


def naive_ns_index(index: pd.DatetimeIndex, src: str) -> pd.DatetimeIndex:
    if index.tz is not None:
        # Keep the exchange's wall-clock time: sessions and calendar dates stay meaningful.
        logger.info("%s: dropping time zone %s (keeping local wall-clock time)", src, index.tz)
        index = index.tz_localize(None)
    try:
        # rename() returns a new index: never relabel the caller's own index in place.
        return index.as_unit("ns").rename("datetime")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise DataError(f"{src}: timestamps outside 1677..2262 cannot be used") from None
