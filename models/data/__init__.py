"""Market data: load, validate, slice and resample OHLCV frames.

Every loader returns the same shape of frame: columns exactly ``open, high, low, close, volume``
as float64, a tz-naive ``DatetimeIndex`` (nanosecond unit) named ``datetime`` that is strictly
increasing, and ``attrs`` holding ``source`` (path, ``"synthetic"`` or ``"yfinance:TICKER"``),
``format``, ``repaired_cells`` and ``close_only``. Bad input raises
:class:`models.errors.DataError` with a one-line message.

Close-only files (``Date,Close``) and wide price files (``Date,AAPL,AMD,...``: one close column
per symbol) load as close-only frames: open = high = low = close, volume 0,
``attrs["close_only"]`` True; one symbol of a wide file is the source ``path#SYMBOL`` (its
``source``), and ``load_price_panel`` loads every symbol. The layout rules are in
:mod:`models.data.price_panel`.

Timestamps: intraday bars keep the file's own time (backtrader's convention: a bar is stamped at
its close). Daily bars are stamped at midnight of their date; backtrader's own CSV feeds stamp
them at the session end of the same date, which is the same trading day.

One module per concern, all public names re-exported here:

- :mod:`.loading` (``load_ohlcv``, ``load_sources``), :mod:`.detect` (which format a file has),
  :mod:`.formats` (Yahoo, backtrader, generic CSV and parquet parsers), :mod:`.reading` (files
  to text and tables), :mod:`.price_files` and :mod:`.price_panel` (close-only and wide files);
- :mod:`.schema` (the canonical frame), :mod:`.validation` (checks and bounded repair);
- :mod:`.resample` (date ranges, coarser timeframes), :mod:`.timeframe` (timeframe labels,
  inference, periods per year, the trained-timeframe check);
- :mod:`.download` (yfinance and its cache), :mod:`.fingerprint` (a content hash);
- :mod:`.synthetic` (seeded synthetic markets), :mod:`.timefmt` (bar times shown to people).
"""

from __future__ import annotations

from bt_attention_lstm.models.data.detect import detect_format, wide_symbols
from bt_attention_lstm.models.data.download import default_cache_dir, download_symbol
from bt_attention_lstm.models.data.fingerprint import data_fingerprint
from bt_attention_lstm.models.data.loading import FORMATS, load_ohlcv, load_sources
from bt_attention_lstm.models.data.price_files import load_price_panel
from bt_attention_lstm.models.data.resample import resample_ohlcv, select_range
from bt_attention_lstm.models.data.schema import OHLCV_COLUMNS, PRICE_COLUMNS
from bt_attention_lstm.models.data.timeframe import (
    frame_timeframes,
    infer_bar_spacing,
    infer_periods_per_year,
    infer_timeframe,
    parse_timeframe,
    require_one_timeframe,
    timeframe_mismatch,
    trained_timeframe,
)
from bt_attention_lstm.models.data.validation import validate_ohlcv

__all__ = [
    "FORMATS",
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "data_fingerprint",
    "default_cache_dir",
    "detect_format",
    "download_symbol",
    "frame_timeframes",
    "infer_bar_spacing",
    "infer_periods_per_year",
    "infer_timeframe",
    "load_ohlcv",
    "load_price_panel",
    "load_sources",
    "parse_timeframe",
    "require_one_timeframe",
    "resample_ohlcv",
    "select_range",
    "timeframe_mismatch",
    "trained_timeframe",
    "validate_ohlcv",
    "wide_symbols",
]
