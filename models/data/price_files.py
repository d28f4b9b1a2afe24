"""Reading close-only and wide price files into validated close-only frames.

The layout rules (which column is time, which are prices) live in
:mod:`models.data.price_panel`; this module reads the files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.detect import detect_layout
from bt_attention_lstm.models.data.formats import generic_index, numeric_column
from bt_attention_lstm.models.data.price_panel import (
    TIME_NAMES,
    PriceLayout,
    classify_columns,
    close_only_frame,
    column_key,
    degrade_warning,
    match_symbol,
    source_spec,
    split_source,
    trim_to_prices,
)
from bt_attention_lstm.models.data.reading import (
    existing_file,
    read_csv_table,
    read_parquet_table,
    read_text,
)
from bt_attention_lstm.models.data.schema import naive_ns_index
from bt_attention_lstm.models.data.timefmt import bar_time
from bt_attention_lstm.models.data.validation import validate_ohlcv
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

def load_price_panel(
    path: str | os.PathLike[str], symbols: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Every symbol of a wide price file (``Date,AAPL,AMD,...``) as a close-only frame.

    One frame per symbol, in column order (or in the order of ``symbols``, a subset), keyed by
    the file's own column label. Each is what ``load_ohlcv("path#SYMBOL")`` returns: the
    symbol's leading and trailing rows without a price dropped (a stock listed later starts
    later), isolated gaps repaired by :func:`validate_ohlcv`'s rules, open = high = low =
    close, volume 0, attrs ``source`` ``"path#SYMBOL"``, ``symbol``, ``format`` ``"wide"`` and
    ``close_only`` True. The file is read once and one warning is logged for the panel.
    """
    file, symbol = split_source(path)
    if symbol is not None:
        symbols = [symbol, *(symbols or [])]
    p = existing_file(file)
    fmt, layout = detect_layout(p)
    if layout is None or layout.kind != "wide":
        raise DataError(
            f"{p} is not a wide price file (it reads as {fmt}); load it with load_ohlcv"
        )
    frames = close_only_frames(p, symbols)
    panel = {str(df.attrs["symbol"]): df for df in frames}
    logger.warning(degrade_warning(f"{p} ({len(panel)} symbols)"))
    return panel


def close_only_frames(p: Path, symbols: Sequence[str] | None) -> list[pd.DataFrame]:
    """Validated close-only frames of a close-only or wide file: the given ``symbols`` (matched
    to its columns), or every price column. No degrade warning (the callers log one per load)."""
    index, prices, layout = _read_price_table(p)
    if layout.ignored:
        logger.info(
            "%s: %s ignored; using %s", p, ", ".join(layout.ignored), layout.columns[0]
        )
    chosen = (
        list(layout.columns) if symbols is None
        else [match_symbol(s, layout.columns, p) for s in symbols]
    )
    frames = []
    named = symbols is not None or layout.kind == "wide"  # a symbol of the file, by name
    for name in chosen:
        raw = _close_only_raw(index, prices[name], source_spec(p, name) if named else str(p))
        raw.attrs["format"] = layout.kind
        raw.attrs["close_only"] = True
        if named:
            raw.attrs["symbol"] = name
        df = validate_ohlcv(raw, min_bars=1)
        logger.info(
            "loaded %d close-only bars from %s (%s .. %s)",
            len(df), df.attrs["source"], df.index[0], df.index[-1],
        )
        frames.append(df)
    return frames


def _close_only_raw(index: pd.DatetimeIndex, close: np.ndarray, src: str) -> pd.DataFrame:
    """The unvalidated close-only frame of one price column, without the rows before its first
    and after its last price."""
    idx, values, leading, trailing = trim_to_prices(index, close)
    if len(values) == 0:
        raise DataError(f"{src}: no prices (every row of the column is empty)")
    if leading or trailing:
        logger.info(
            "%s: %d leading and %d trailing rows without a price dropped (prices %s .. %s)",
            src, leading, trailing, bar_time(idx[0]), bar_time(idx[-1]),
        )
    raw = close_only_frame(idx, values)
    raw.attrs["source"] = src
    return raw


def _read_price_table(p: Path) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], PriceLayout]:
    """The time index, the price columns (by label) and the layout of a close-only or wide
    file, CSV or parquet."""
    src = str(p)
    if p.suffix.lower() in (".parquet", ".pq"):
        raw = read_parquet_table(p)
        index = raw.index if isinstance(raw.index, pd.DatetimeIndex) else None
    else:
        raw = read_csv_table(read_text(p), p)
        index = None
    labels = {str(c): c for c in raw.columns}
    layout = classify_columns(list(labels), has_time_index=index is not None)
    if layout is None:
        raise DataError(
            f"{p} is not a close-only or wide price file; found {', '.join(labels)}"
        )
    where = [f"row {i + 1}" for i in range(len(raw))]
    if index is None:
        time_cols = {column_key(c): c for c in raw.columns if column_key(c) in TIME_NAMES}
        index = generic_index(raw, time_cols, src, where)
    index = naive_ns_index(pd.DatetimeIndex(index), src)
    prices = {name: numeric_column(raw[labels[name]], name, src, where)
              for name in layout.columns}
    return index, prices, layout
