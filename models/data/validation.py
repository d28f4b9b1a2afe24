"""Validation and bounded repair of OHLCV frames: the checks every loaded frame has passed."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import MISSING_TOKENS, OHLCV_COLUMNS, naive_ns_index
from bt_attention_lstm.models.data.timefmt import bar_time
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

_PRICE_RTOL = 1e-9  # rounding tolerance for OHLC consistency, relative to price


def validate_ohlcv(
    df: pd.DataFrame,
    min_bars: int = 1,
    max_repair_fraction: float = 0.01,
    max_repair_run: int = 3,
    reason: str = "",
) -> pd.DataFrame:
    """Check an OHLCV frame and return a clean float64 copy (``attrs`` kept).

    Raises DataError for: missing columns, non-numeric cells, a non-datetime index, unsorted or
    duplicate timestamps (never sorted silently), non-positive prices, high < low, open/close
    outside [low, high] beyond a 1e-9 relative rounding tolerance, negative volume, and fewer
    than ``min_bars`` rows (``reason`` is appended to that message).

    NaN/inf cells are repaired only when few and isolated: at most ``max_repair_fraction`` of rows
    affected and no run of consecutive bad rows longer than ``max_repair_run``. Leading bad rows
    are dropped (nothing to fill from); the others are forward-filled, and high/low of a repaired
    row are widened to cover its open and close. One warning is logged;
    ``attrs["repaired_cells"]`` holds the count.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    src = str(df.attrs.get("source", "data"))
    out = _canonical_columns(df, src)
    if len(out) == 0:
        raise DataError(f"{src}: no data rows")
    out.index = _checked_index(df.index, src)
    out, repaired = _repair_non_finite(out, src, max_repair_fraction, max_repair_run)
    _check_prices(out, src)
    if len(out) < min_bars:
        extra = f" ({reason})" if reason else ""
        raise DataError(f"{src}: needs at least {min_bars} bars, got {len(out)}{extra}")
    out.attrs = dict(df.attrs)
    out.attrs["repaired_cells"] = repaired
    return out


def _canonical_columns(df: pd.DataFrame, src: str) -> pd.DataFrame:
    lookup = {str(c).strip().lower(): c for c in df.columns}
    missing = [c for c in OHLCV_COLUMNS if c not in lookup]
    if missing:
        raise DataError(
            f"{src}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, df.columns)) or 'none'}"
        )
    cols: dict[str, np.ndarray] = {}
    for name in OHLCV_COLUMNS:
        series = df[lookup[name]]
        if isinstance(series, pd.DataFrame):
            raise DataError(f"{src}: column '{name}' appears more than once")
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            cols[name] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        numeric = pd.to_numeric(series, errors="coerce")
        bad = numeric.isna() & series.notna()
        bad &= ~series.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{src}: non-numeric value {series.iloc[pos]!r} in column '{name}' "
                f"at row {pos + 1} ({df.index[pos]})"
            )
        cols[name] = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(cols, index=pd.RangeIndex(len(df)))


def _checked_index(index: pd.Index, src: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{src}: index must be a DatetimeIndex, got {type(index).__name__}; "
            "set the timestamp column as the index"
        )
    if index.hasnans:
        pos = int(np.flatnonzero(index.isna())[0])
        raise DataError(f"{src}: missing timestamp at row {pos + 1}")
    idx = naive_ns_index(index, src)
    steps = np.diff(idx.asi8)
    if steps.size and steps.min() <= 0:
        pos = int(np.flatnonzero(steps <= 0)[0]) + 1
        if steps[pos - 1] == 0:
            raise DataError(f"{src}: duplicate timestamp {idx[pos]} (row {pos + 1})")
        raise DataError(
            f"{src}: timestamps not in increasing order: {idx[pos]} (row {pos + 1}) comes "
            f"after {idx[pos - 1]}; sort the data by time"
        )
    return idx


def _longest_run(mask: np.ndarray) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _repair_non_finite(
    df: pd.DataFrame, src: str, max_fraction: float, max_run: int
) -> tuple[pd.DataFrame, int]:
    values = df.to_numpy()
    bad_cells = ~np.isfinite(values)
    n_bad = int(bad_cells.sum())
    if n_bad == 0:
        return df, 0
    bad_rows = bad_cells.any(axis=1)
    n_rows = len(df)
    lead = int(np.argmin(bad_rows)) if not bad_rows.all() else n_rows
    run = _longest_run(bad_rows[lead:])
    if bad_rows.sum() > max_fraction * n_rows or run > max_run:
        raise DataError(
            f"{src}: {n_bad} NaN/inf cells in {int(bad_rows.sum())} of {n_rows} rows "
            f"(longest run {max(run, lead)} rows) is too many to repair "
            f"(limits: {max_fraction:.2%} of rows, runs of {max_run}); clean the data"
        )
    out = df.iloc[lead:].replace([np.inf, -np.inf], np.nan)
    repaired_rows = bad_rows[lead:]
    out = out.ffill(limit=max_run)
    if repaired_rows.any():
        # A filled open/close may fall outside the row's own high/low: widen them to stay valid.
        sub = out.loc[repaired_rows]
        out.loc[repaired_rows, "high"] = sub[["open", "high", "low", "close"]].max(axis=1)
        out.loc[repaired_rows, "low"] = sub[["open", "high", "low", "close"]].min(axis=1)
    logger.warning(
        "%s: repaired %d NaN/inf cells (%d rows forward-filled, %d leading rows dropped): %s",
        src, n_bad, int(repaired_rows.sum()), lead, _bad_cells_text(df, bad_cells),
    )
    if len(out) == 0:
        raise DataError(f"{src}: no rows with finite values")
    return out, n_bad


def _bad_cells_text(df: pd.DataFrame, bad_cells: np.ndarray, most: int = 10) -> str:
    """Where the repaired cells were: 'bar 2010-01-05 (close), bar 2010-02-01 (open, high)'."""
    rows = np.flatnonzero(bad_cells.any(axis=1))
    parts = []
    for i in rows[:most]:
        columns = ", ".join(str(c) for c, bad in zip(df.columns, bad_cells[i], strict=True) if bad)
        parts.append(f"bar {bar_time(df.index[i])} ({columns})")
    more = f" and {len(rows) - most} more rows" if len(rows) > most else ""
    return ", ".join(parts) + more


def _check_prices(df: pd.DataFrame, src: str) -> None:
    o, h, lo, c, v = (df[k].to_numpy() for k in OHLCV_COLUMNS)
    tol = _PRICE_RTOL * np.maximum(np.abs(h), np.abs(lo))
    checks = (
        ((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "non-positive price"),
        (h < lo - tol, "high below low"),
        ((o > h + tol) | (o < lo - tol), "open outside [low, high]"),
        ((c > h + tol) | (c < lo - tol), "close outside [low, high]"),
        (v < 0, "negative volume"),
    )
    for mask, what in checks:
        if mask.any():
            pos = int(np.flatnonzero(mask)[0])
            row = df.iloc[pos]
            vals = ", ".join(f"{k}={row[k]:g}" for k in OHLCV_COLUMNS)
            raise DataError(f"{src}: {what} at {df.index[pos]} ({vals})")
