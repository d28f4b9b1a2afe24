"""Loading data files: one file (or one symbol of a wide file) with :func:`load_ohlcv`, several
with :func:`load_sources`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import pandas as pd

from bt_attention_lstm.models.data.detect import detect_layout, parquet_layout
from bt_attention_lstm.models.data.formats import (
    parse_btcsv,
    parse_generic,
    parse_yahoo,
    read_parquet_ohlcv,
)
from bt_attention_lstm.models.data.price_files import close_only_frames
from bt_attention_lstm.models.data.price_panel import (
    SYMBOL_SEPARATOR,
    degrade_warning,
    source_spec,
    split_source,
    wide_file_error,
)
from bt_attention_lstm.models.data.reading import existing_file, read_text
from bt_attention_lstm.models.data.validation import validate_ohlcv
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

FORMATS = ("auto", "yahoo", "btcsv", "generic", "parquet", "close", "wide")


def load_ohlcv(path: str | os.PathLike[str], fmt: str = "auto") -> pd.DataFrame:
    """Load one data file (or one symbol of a wide price file) into a validated frame.

    ``fmt`` is one of ``auto`` (by extension, then by header), ``yahoo`` (Yahoo CSV, adjusted
    exactly as backtrader's ``YahooFinanceCSVData`` defaults do), ``btcsv`` (backtrader CSV),
    ``generic`` (any CSV with a date/datetime/timestamp column and OHLC(V) columns),
    ``parquet``, ``close`` (a time column and one price column) or ``wide`` (a time column and
    one price column per symbol; see :mod:`models.data.price_panel`). ``path`` may be
    ``FILE#SYMBOL``: that symbol's column of a wide file. A wide file without ``#SYMBOL`` raises
    DataError naming its symbols (:func:`load_price_panel` loads them all). Close-only frames
    have open = high = low = close, volume 0 and ``attrs["close_only"]`` True (False on OHLCV
    frames), with one warning per load. The result has passed :func:`validate_ohlcv` with
    ``min_bars=1``.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown data format {fmt!r}; use one of {', '.join(FORMATS)}")
    file, symbol = split_source(path)
    p = existing_file(file)
    if fmt in ("auto", "close", "wide") or symbol is not None:
        detected, layout = detect_layout(p)
    elif fmt == "parquet":  # a parquet file may still hold closes only
        detected, layout = fmt, parquet_layout(p)
    else:  # an explicit OHLCV format: its reader, whatever the header says
        detected, layout = fmt, None
    fmt = detected if fmt == "auto" else fmt
    if symbol is not None and layout is None:
        raise DataError(
            f"{source_spec(p, symbol)}: {p} is not a wide price file (it reads as {detected} "
            f"bars); drop {SYMBOL_SEPARATOR}{symbol}"
        )
    if fmt in ("close", "wide") and layout is None:
        raise DataError(
            f"{p} is not a close-only or wide price file (it reads as {detected}); "
            "use format auto"
        )
    if layout is not None:
        if symbol is None and layout.kind == "wide":
            raise wide_file_error(p, layout.columns)
        (df,) = close_only_frames(p, None if symbol is None else [symbol])
        logger.warning(degrade_warning(str(df.attrs["source"])))
        return df
    if fmt == "parquet":
        raw = read_parquet_ohlcv(p)
    else:
        text = read_text(p)
        if fmt == "yahoo":
            raw = parse_yahoo(text, p)
        elif fmt == "btcsv":
            raw = parse_btcsv(text, p)
        else:
            raw = parse_generic(text, p)
    raw.attrs["source"] = str(p)
    raw.attrs["format"] = fmt
    raw.attrs["close_only"] = False
    df = validate_ohlcv(raw, min_bars=1)
    logger.info(
        "loaded %d %s bars from %s (%s .. %s)", len(df), fmt, p, df.index[0], df.index[-1]
    )
    return df


def load_sources(
    sources: Sequence[str | os.PathLike[str]], fmt: str = "auto"
) -> list[pd.DataFrame]:
    """:func:`load_ohlcv` of every source, in order, reading each wide file only once.

    Sources are paths or ``path#SYMBOL`` specs (as ``expand_data_paths`` writes them); the
    specs of one wide file are loaded together, with one close-only warning per file.
    """
    if fmt not in FORMATS:
        raise DataError(f"unknown data format {fmt!r}; use one of {', '.join(FORMATS)}")
    split = [split_source(s) for s in sources]
    grouped: dict[str, list[str]] = {}
    if fmt in ("auto", "close", "wide"):
        for file, symbol in split:
            if symbol is not None:
                grouped.setdefault(file, []).append(symbol)
    loaded: dict[str, list[pd.DataFrame]] = {}
    for file, symbols in grouped.items():
        p = existing_file(file)
        if detect_layout(p)[1] is None:
            continue  # not a price file: load_ohlcv below names the problem
        loaded[file] = close_only_frames(p, symbols)
        logger.warning(degrade_warning(f"{p} ({len(symbols)} symbols)"))
    out = []
    for source, (file, symbol) in zip(sources, split, strict=True):
        if symbol is not None and loaded.get(file):
            out.append(loaded[file].pop(0))  # the file's specs, in the order they were given
        else:
            out.append(load_ohlcv(source, fmt))
    return out
