"""The OHLCV file formats: Yahoo CSV, backtrader CSV, generic CSV and parquet.

Each parser turns a file's text (or table) into an unvalidated canonical frame; the Yahoo and
backtrader parsers reproduce backtrader's own feeds bit for bit.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.price_panel import column_key, is_unnamed_column
from bt_attention_lstm.models.data.reading import (
    check_field_counts,
    data_lines,
    parse_fixed_datetimes,
    parse_floats,
    read_csv_table,
    read_parquet_table,
)
from bt_attention_lstm.models.data.schema import (
    MISSING_TOKENS,
    OHLCV_COLUMNS,
    PRICE_COLUMNS,
    naive_ns_index,
    ohlcv_frame,
)
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

_TIME_COLUMN_KEYS = ("datetime", "timestamp", "date", "time")
_UTC_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def parse_yahoo(text: str, path: Path) -> pd.DataFrame:
    """Yahoo CSV, reproducing backtrader's ``YahooFinanceCSVData._loadline`` with its defaults.

    adjclose=True, adjvolume=True, round=True, decimals=2, roundvolume=0: rows with a "null"
    token are skipped; adjfactor = close / adjclose; open, high, low /= adjfactor;
    close = adjclose; volume *= adjfactor; prices rounded with Python's ``round(x, 2)`` (not
    numpy's: they disagree on some halves) and volume with ``round(v, 0)``.
    """
    rows = data_lines(text, path)
    rows = [(n, t) for n, t in rows if "null" not in t[1:]]  # backtrader skips these rows
    if not rows:
        raise DataError(f"{path}: every data row contains 'null'")
    check_field_counts(rows, (7,), path, "Date,Open,High,Low,Close,Adj Close,Volume")
    where = [f"{path.name} line {n}" for n, _ in rows]
    # backtrader reads only the first 10 characters of the date: YYYY-MM-DD.
    index = parse_fixed_datetimes([t[0][:10] for _, t in rows], "%Y-%m-%d", where)
    names = ("open", "high", "low", "close", "adj close")
    o, h, lo, c, adj = (
        parse_floats([t[k] for _, t in rows], name, where)
        for k, name in enumerate(names, start=1)
    )
    vol_tokens = [t[6] for _, t in rows]
    blank_vol = [tok.strip().lower() in MISSING_TOKENS for tok in vol_tokens]
    if any(blank_vol):
        # backtrader turns an unreadable volume into 0.0; do the same for blank volumes.
        logger.info("%s: %d blank volume cells read as 0", path, sum(blank_vol))
        vol_tokens = ["0" if b else tok for tok, b in zip(vol_tokens, blank_vol, strict=True)]
    v = parse_floats(vol_tokens, "volume", where)
    if np.any(adj[np.isfinite(adj)] <= 0) or np.any(c[np.isfinite(c)] <= 0):
        bad = int(np.flatnonzero((adj <= 0) | (c <= 0))[0])
        raise DataError(f"non-positive close or adj close at {where[bad]}")
    with np.errstate(invalid="ignore", divide="ignore"):
        adjfactor = c / adj
        o, h, lo = o / adjfactor, h / adjfactor, lo / adjfactor
        v = v * adjfactor
    # IEEE division above is bit-identical to backtrader's per-value Python arithmetic.
    cols = {
        "open": _pyround(o, 2),
        "high": _pyround(h, 2),
        "low": _pyround(lo, 2),
        "close": _pyround(adj, 2),
        "volume": _pyround(v, 0),
    }
    return ohlcv_frame(index, cols)


def _pyround(values: np.ndarray, ndigits: int) -> np.ndarray:
    # Python's round() is correctly rounded on the decimal value; numpy's scales by 10**n first.
    return np.array(
        [round(x, ndigits) if math.isfinite(x) else x for x in values.tolist()], dtype=np.float64
    )


def parse_btcsv(text: str, path: Path) -> pd.DataFrame:
    """backtrader CSV: ``Date[,Time],Open,High,Low,Close,Volume,OpenInterest``.

    Like ``BacktraderCSVData``, each row decides by its own field count whether it has a time
    (8 fields) or is daily (7 fields); the header is ignored because some files (the sample
    ``2006-01-02-volume-min-001.txt``) omit Time in the header while every row has one.
    """
    rows = data_lines(text, path)
    check_field_counts(
        rows, (7, 8), path, "Date[,Time],Open,High,Low,Close,Volume,OpenInterest"
    )
    where = [f"{path.name} line {n}" for n, _ in rows]
    stamps = [
        f"{t[0].strip()[:10]} {t[1].strip()[:8] if len(t) == 8 else '00:00:00'}" for _, t in rows
    ]
    index = parse_fixed_datetimes(stamps, "%Y-%m-%d %H:%M:%S", where)
    cols = {}
    for k, name in enumerate(OHLCV_COLUMNS):
        cols[name] = parse_floats([t[len(t) - 6 + k] for _, t in rows], name, where)
    return ohlcv_frame(index, cols)


def parse_generic(text: str, path: Path) -> pd.DataFrame:
    return _columns_to_frame(read_csv_table(text, path), str(path), index=None)


def read_parquet_ohlcv(path: Path) -> pd.DataFrame:
    raw = read_parquet_table(path)
    index = raw.index if isinstance(raw.index, pd.DatetimeIndex) else None
    return _columns_to_frame(raw, str(path), index=index)


def _find_columns(raw: pd.DataFrame, src: str) -> dict[str, Any]:
    """Map canonical names to the frame's own column labels (case/space/underscore-insensitive)."""
    found: dict[str, Any] = {}
    for col in raw.columns:
        key = column_key(col)
        key = "volume" if key == "vol" else key
        if key in found:
            raise DataError(f"{src}: ambiguous columns {found[key]!r} and {col!r}")
        found[key] = col
    return found


def _columns_to_frame(
    raw: pd.DataFrame, src: str, index: pd.DatetimeIndex | None
) -> pd.DataFrame:
    cols = _find_columns(raw, src)
    where = [f"row {i + 1}" for i in range(len(raw))]
    if index is None:
        index = generic_index(raw, cols, src, where)
    missing = [c for c in PRICE_COLUMNS if c not in cols]
    if missing:
        raise DataError(
            f"{src}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, raw.columns))}"
        )
    out: dict[str, np.ndarray] = {}
    for name in OHLCV_COLUMNS:
        if name not in cols:
            logger.info("%s: no volume column; using volume 0.0", src)
            out[name] = np.zeros(len(raw))
            continue
        out[name] = numeric_column(raw[cols[name]], name, src, where)
    return ohlcv_frame(naive_ns_index(pd.DatetimeIndex(index), src), out)


def numeric_column(series: pd.Series, name: str, src: str, where: Sequence[str]) -> np.ndarray:
    """A column as float64: numbers as they are, text parsed (blanks NaN), else DataError."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return parse_floats(series.tolist(), name, where)
    except DataError as exc:
        raise DataError(f"{src}: {exc}") from None


def generic_index(
    raw: pd.DataFrame, cols: dict[str, Any], src: str, where: Sequence[str]
) -> pd.DatetimeIndex:
    if "date" in cols and "time" in cols and "datetime" not in cols and "timestamp" not in cols:
        texts = (raw[cols["date"]].astype(str) + " " + raw[cols["time"]].astype(str)).tolist()
        return _parse_any_datetimes(texts, src, where)
    for key in _TIME_COLUMN_KEYS:
        if key in cols:
            return _parse_any_datetimes(raw[cols[key]].tolist(), src, where)
    first = raw.columns[0]
    if is_unnamed_column(first):
        # pandas' DataFrame.to_csv() writes a datetime index under a blank header
        logger.info("%s: reading the unnamed first column %r as the bar time", src, first)
        return _parse_any_datetimes(raw[first].tolist(), src, where)
    raise DataError(
        f"{src}: no date/datetime/timestamp column; found {', '.join(map(str, raw.columns))}"
    )


def _parse_any_datetimes(values: list[Any], src: str, where: Sequence[str]) -> pd.DatetimeIndex:
    texts = ["" if v is None else str(v).strip() for v in values]
    if texts and all(t.isdigit() for t in texts):
        return _epoch_index(texts)
    idx = pd.DatetimeIndex([])
    for fmt in (None, "mixed"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(texts, errors="coerce", format=fmt)
        except ValueError:
            # Mixed UTC offsets (a DST change) cannot share one tz. Strip them and keep the
            # wall-clock time, as for a single time zone: sessions keep their local hours.
            naive = [_UTC_OFFSET.sub("", t) for t in texts]
            parsed = pd.to_datetime(naive, errors="coerce", format="mixed")
            logger.info("%s: mixed UTC offsets dropped (local wall-clock time kept)", src)
        idx = pd.DatetimeIndex(parsed)
        if not idx.isna().any():
            return idx
    i = int(np.flatnonzero(idx.isna())[0])
    raise DataError(f"{src}: unparseable timestamp {texts[i]!r} at {where[i]}")


def _epoch_index(texts: list[str]) -> pd.DatetimeIndex:
    ints = np.array([int(t) for t in texts], dtype=np.int64)
    # The magnitude of a Unix timestamp tells its unit (seconds today are ~1.7e9).
    big = int(np.abs(ints).max())
    unit = "s" if big < 10**11 else "ms" if big < 10**14 else "us" if big < 10**17 else "ns"
    return pd.DatetimeIndex(pd.to_datetime(ints, unit=unit))
