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
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import warnings
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.price_panel import (
    SYMBOL_SEPARATOR,
    TIME_NAMES,
    PriceLayout,
    classify_columns,
    close_only_frame,
    column_key,
    degrade_warning,
    is_unnamed_column,
    match_symbol,
    source_spec,
    split_source,
    trim_to_prices,
    wide_file_error,
)
from bt_attention_lstm.models.data.timefmt import bar_span, bar_time
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
FORMATS = ("auto", "yahoo", "btcsv", "generic", "parquet", "close", "wide")

def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bt-attention-lstm/yfinance`` (``~/.cache/...`` when it is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "bt-attention-lstm" / "yfinance"

# Tokens that mean "no value here" rather than "garbage": they become NaN and go through the
# bounded forward-fill repair of validate_ohlcv instead of failing the load.
_MISSING_TOKENS = frozenset({"", "nan", "null", "na", "n/a", "none", "#n/a"})
_YAHOO_HEADER = ("date", "open", "high", "low", "close", "adjclose", "volume")
_BTCSV_HEADERS = (
    ("date", "open", "high", "low", "close", "volume", "openinterest"),
    ("date", "time", "open", "high", "low", "close", "volume", "openinterest"),
)
_TIME_COLUMN_KEYS = ("datetime", "timestamp", "date", "time")
_UTC_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
_SNIFF_BYTES = 65536
_PRICE_RTOL = 1e-9  # rounding tolerance for OHLC consistency, relative to price


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


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
    p = _existing_file(file)
    if fmt in ("auto", "close", "wide") or symbol is not None:
        detected, layout = _detect(p)
    elif fmt == "parquet":  # a parquet file may still hold closes only
        detected, layout = fmt, _parquet_layout(p)
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
        (df,) = _close_only_frames(p, None if symbol is None else [symbol])
        logger.warning(degrade_warning(str(df.attrs["source"])))
        return df
    if fmt == "parquet":
        raw = _read_parquet(p)
    else:
        text = _read_text(p)
        if fmt == "yahoo":
            raw = _parse_yahoo(text, p)
        elif fmt == "btcsv":
            raw = _parse_btcsv(text, p)
        else:
            raw = _parse_generic(text, p)
    raw.attrs["source"] = str(p)
    raw.attrs["format"] = fmt
    raw.attrs["close_only"] = False
    df = validate_ohlcv(raw, min_bars=1)
    logger.info(
        "loaded %d %s bars from %s (%s .. %s)", len(df), fmt, p, df.index[0], df.index[-1]
    )
    return df


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of a data file: ``yahoo``, ``btcsv``, ``generic``, ``parquet``,
    ``close`` or ``wide``.

    The layout of the columns decides first: a time column with one price column is ``close``,
    with several symbol columns ``wide`` (CSV or parquet alike; see
    :func:`models.data.price_panel.classify_columns`). Otherwise ``.parquet``/``.pq`` files are
    parquet, and the CSV header decides (case-insensitive): ``Date,Open,High,Low,Close,Adj
    Close,Volume`` is Yahoo, backtrader's ``Date[,Time],Open,High,Low,Close,Volume,OpenInterest``
    is btcsv, anything else is generic (an ``Adj Close`` column in another layout is then
    ignored, with an info log).
    """
    file, _ = split_source(path)
    return _detect(_existing_file(file))[0]


def wide_symbols(path: str | os.PathLike[str]) -> list[str]:
    """The symbols (price columns, in file order) of a wide price file; [] for any other file.

    Only the header (or the parquet schema) is read.
    """
    _, layout = _detect(_existing_file(path))
    return list(layout.columns) if layout is not None and layout.kind == "wide" else []


def _detect(p: Path) -> tuple[str, PriceLayout | None]:
    """(format, layout): the layout of a close-only or wide file, None for OHLCV files."""
    if p.suffix.lower() in (".parquet", ".pq"):
        layout = _parquet_layout(p)
        return (layout.kind if layout else "parquet"), layout
    with p.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    full = len(head) < _SNIFF_BYTES
    if not full:
        # Cut at the last newline so a multi-byte character split by the read is not garbage.
        head = head[: head.rfind(b"\n") + 1] or head
    header = _first_line(_decode(head, p), p)
    fields = header.split(_sniff_separator(header))
    tokens = tuple(column_key(t) for t in fields)
    if tokens == _YAHOO_HEADER:
        return "yahoo", None
    if tokens in _BTCSV_HEADERS:
        return "btcsv", None
    layout = classify_columns([t.strip().strip('"') for t in fields])  # as pandas names them
    if layout is not None:
        twice = [c for i, c in enumerate(layout.columns) if c in layout.columns[:i]]
        if twice:
            raise DataError(f"{p}: column {twice[0]!r} appears more than once in the header")
        return layout.kind, layout
    if "adjclose" in tokens:
        # Not backtrader's layout (which reads Adj Close by position): the generic reader
        # takes the unadjusted OHLC columns and ignores Adj Close.
        logger.info("%s: Adj Close column ignored (not the Yahoo CSV layout)", p)
    return "generic", None


def _parquet_layout(p: Path) -> PriceLayout | None:
    """The close-only or wide layout of a parquet file from its schema; None for OHLCV columns
    or a file whose schema cannot be read (the load then names the problem)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(p)
    except Exception:  # noqa: BLE001 - any failure here is reported by the load itself
        return None
    meta = schema.pandas_metadata or {}
    index_columns = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    time_index = any(
        pa.types.is_timestamp(schema.field(c).type) or pa.types.is_date(schema.field(c).type)
        for c in index_columns
    )
    labels = [n for n in schema.names if n not in index_columns]
    return classify_columns(labels, has_time_index=time_index)


def _existing_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data file not found: {p}")
    if not p.is_file():
        raise DataError(f"data path is not a file: {p}")
    return p


def _decode(raw: bytes, path: Path) -> str:
    if b"\x00" in raw:
        raise DataError(f"{path} is not a text CSV (it contains NUL bytes); pass a CSV or parquet")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not a text CSV (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 CSV"
        ) from None


def _read_text(path: Path) -> str:
    return _decode(path.read_bytes(), path)


def _first_line(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise DataError(f"{path} is empty")


def _sniff_separator(header: str) -> str:
    # Only the generic reader honours other separators; backtrader's feeds always split on ",".
    if "," in header:
        return ","
    for sep in (";", "\t", "|"):
        if sep in header:
            return sep
    return ","


def _data_lines(text: str, path: Path) -> list[tuple[int, list[str]]]:
    """(line number, tokens) of every non-blank line after the header, split like backtrader."""
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataError(f"{path} is empty")
    out: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        if line.strip():
            out.append((lineno, line.split(",")))
    if not out:
        raise DataError(f"{path} has a header but no data rows")
    return out


def _parse_floats(tokens: Sequence[str], column: str, where: Sequence[str]) -> np.ndarray:
    """Python-float parse (bit-identical to ``float(tok)``, as backtrader does), NaN for blanks.

    ``where[i]`` names row i in an error message ("line 12", "row 3").
    """
    try:
        return np.asarray(tokens, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    out = np.empty(len(tokens), dtype=np.float64)
    for i, tok in enumerate(tokens):
        try:
            out[i] = float(tok)
        except (ValueError, TypeError):
            if tok is None or str(tok).strip().lower() in _MISSING_TOKENS:
                out[i] = np.nan
            else:
                raise DataError(
                    f"non-numeric value {str(tok)!r} in column '{column}' at {where[i]}"
                ) from None
    return out


def _parse_fixed_datetimes(texts: list[str], fmt: str, where: Sequence[str]) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(texts, format=fmt, errors="coerce"))
    bad = np.flatnonzero(idx.isna())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"unparseable timestamp {texts[i]!r} at {where[i]} (expected {fmt})")
    return idx


def _frame(index: pd.DatetimeIndex, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame({c: cols[c] for c in OHLCV_COLUMNS}, index=index)
    df.index.name = "datetime"
    return df


def _check_field_counts(rows: list[tuple[int, list[str]]], allowed: tuple[int, ...], path: Path,
                        layout: str) -> None:
    for lineno, toks in rows:
        if len(toks) not in allowed:
            raise DataError(
                f"{path}: line {lineno} has {len(toks)} fields, expected "
                f"{' or '.join(map(str, allowed))} ({layout})"
            )


def _parse_yahoo(text: str, path: Path) -> pd.DataFrame:
    """Yahoo CSV, reproducing backtrader's ``YahooFinanceCSVData._loadline`` with its defaults.

    adjclose=True, adjvolume=True, round=True, decimals=2, roundvolume=0: rows with a "null"
    token are skipped; adjfactor = close / adjclose; open, high, low /= adjfactor;
    close = adjclose; volume *= adjfactor; prices rounded with Python's ``round(x, 2)`` (not
    numpy's: they disagree on some halves) and volume with ``round(v, 0)``.
    """
    rows = _data_lines(text, path)
    rows = [(n, t) for n, t in rows if "null" not in t[1:]]  # backtrader skips these rows
    if not rows:
        raise DataError(f"{path}: every data row contains 'null'")
    _check_field_counts(rows, (7,), path, "Date,Open,High,Low,Close,Adj Close,Volume")
    where = [f"{path.name} line {n}" for n, _ in rows]
    # backtrader reads only the first 10 characters of the date: YYYY-MM-DD.
    index = _parse_fixed_datetimes([t[0][:10] for _, t in rows], "%Y-%m-%d", where)
    names = ("open", "high", "low", "close", "adj close")
    o, h, lo, c, adj = (
        _parse_floats([t[k] for _, t in rows], name, where)
        for k, name in enumerate(names, start=1)
    )
    vol_tokens = [t[6] for _, t in rows]
    blank_vol = [tok.strip().lower() in _MISSING_TOKENS for tok in vol_tokens]
    if any(blank_vol):
        # backtrader turns an unreadable volume into 0.0; do the same for blank volumes.
        logger.info("%s: %d blank volume cells read as 0", path, sum(blank_vol))
        vol_tokens = ["0" if b else tok for tok, b in zip(vol_tokens, blank_vol, strict=True)]
    v = _parse_floats(vol_tokens, "volume", where)
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
    return _frame(index, cols)


def _pyround(values: np.ndarray, ndigits: int) -> np.ndarray:
    # Python's round() is correctly rounded on the decimal value; numpy's scales by 10**n first.
    return np.array(
        [round(x, ndigits) if math.isfinite(x) else x for x in values.tolist()], dtype=np.float64
    )


def _parse_btcsv(text: str, path: Path) -> pd.DataFrame:
    """backtrader CSV: ``Date[,Time],Open,High,Low,Close,Volume,OpenInterest``.

    Like ``BacktraderCSVData``, each row decides by its own field count whether it has a time
    (8 fields) or is daily (7 fields); the header is ignored because some files (the sample
    ``2006-01-02-volume-min-001.txt``) omit Time in the header while every row has one.
    """
    rows = _data_lines(text, path)
    _check_field_counts(
        rows, (7, 8), path, "Date[,Time],Open,High,Low,Close,Volume,OpenInterest"
    )
    where = [f"{path.name} line {n}" for n, _ in rows]
    stamps = [
        f"{t[0].strip()[:10]} {t[1].strip()[:8] if len(t) == 8 else '00:00:00'}" for _, t in rows
    ]
    index = _parse_fixed_datetimes(stamps, "%Y-%m-%d %H:%M:%S", where)
    cols = {}
    for k, name in enumerate(OHLCV_COLUMNS):
        cols[name] = _parse_floats([t[len(t) - 6 + k] for _, t in rows], name, where)
    return _frame(index, cols)


def _parse_generic(text: str, path: Path) -> pd.DataFrame:
    return _columns_to_frame(_read_csv_table(text, path), str(path), index=None)


def _read_csv_table(text: str, path: Path) -> pd.DataFrame:
    """Every cell of a CSV as text (the separator sniffed from the header), at least one row."""
    header = _first_line(text, path)
    sep = _sniff_separator(header)
    try:
        raw = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse CSV: {msg}") from None
    if raw.empty:
        raise DataError(f"{path} has a header but no data rows")
    return raw


def _read_parquet_table(path: Path) -> pd.DataFrame:
    """A parquet file as pandas reads it (columns and index as stored), at least one row."""
    try:
        raw = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"cannot read parquet {path}: {exc} (pip install pyarrow)") from None
    except Exception as exc:  # pyarrow raises many types for a corrupt or non-parquet file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read parquet {path}: {first}") from None
    if raw.empty:
        raise DataError(f"{path} has no data rows")
    return raw


def _read_parquet(path: Path) -> pd.DataFrame:
    raw = _read_parquet_table(path)
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
        index = _generic_index(raw, cols, src, where)
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
        out[name] = _numeric_column(raw[cols[name]], name, src, where)
    return _frame(_naive_ns(pd.DatetimeIndex(index), src), out)


def _numeric_column(series: pd.Series, name: str, src: str, where: Sequence[str]) -> np.ndarray:
    """A column as float64: numbers as they are, text parsed (blanks NaN), else DataError."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        return _parse_floats(series.tolist(), name, where)
    except DataError as exc:
        raise DataError(f"{src}: {exc}") from None


def _generic_index(
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


def _naive_ns(index: pd.DatetimeIndex, src: str) -> pd.DatetimeIndex:
    if index.tz is not None:
        # Keep the exchange's wall-clock time: sessions and calendar dates stay meaningful.
        logger.info("%s: dropping time zone %s (keeping local wall-clock time)", src, index.tz)
        index = index.tz_localize(None)
    try:
        # rename() returns a new index: never relabel the caller's own index in place.
        return index.as_unit("ns").rename("datetime")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise DataError(f"{src}: timestamps outside 1677..2262 cannot be used") from None


# --------------------------------------------------------------------------------------------
# Close-only and wide price files (layout rules in models.data.price_panel)
# --------------------------------------------------------------------------------------------


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
    p = _existing_file(file)
    fmt, layout = _detect(p)
    if layout is None or layout.kind != "wide":
        raise DataError(
            f"{p} is not a wide price file (it reads as {fmt}); load it with load_ohlcv"
        )
    frames = _close_only_frames(p, symbols)
    panel = {str(df.attrs["symbol"]): df for df in frames}
    logger.warning(degrade_warning(f"{p} ({len(panel)} symbols)"))
    return panel


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
        p = _existing_file(file)
        if _detect(p)[1] is None:
            continue  # not a price file: load_ohlcv below names the problem
        loaded[file] = _close_only_frames(p, symbols)
        logger.warning(degrade_warning(f"{p} ({len(symbols)} symbols)"))
    out = []
    for source, (file, symbol) in zip(sources, split, strict=True):
        if symbol is not None and loaded.get(file):
            out.append(loaded[file].pop(0))  # the file's specs, in the order they were given
        else:
            out.append(load_ohlcv(source, fmt))
    return out


def _close_only_frames(p: Path, symbols: Sequence[str] | None) -> list[pd.DataFrame]:
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
        raw = _read_parquet_table(p)
        index = raw.index if isinstance(raw.index, pd.DatetimeIndex) else None
    else:
        raw = _read_csv_table(_read_text(p), p)
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
        index = _generic_index(raw, time_cols, src, where)
    index = _naive_ns(pd.DatetimeIndex(index), src)
    prices = {name: _numeric_column(raw[labels[name]], name, src, where)
              for name in layout.columns}
    return index, prices, layout


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


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
        bad &= ~series.astype(str).str.strip().str.lower().isin(_MISSING_TOKENS)
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
    idx = _naive_ns(index, src)
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


# --------------------------------------------------------------------------------------------
# Slicing, resampling, frequency
# --------------------------------------------------------------------------------------------


def _as_timestamp(value: str | date | datetime | pd.Timestamp, what: str) -> pd.Timestamp:
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
    lo = _as_timestamp(start, "start") if start is not None else None
    hi = _as_timestamp(end, "end") if end is not None else None
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


_TF_UNITS = {"min": "min", "t": "min", "m": "min", "h": "h", "d": "d", "w": "w"}
_TF_SPAN = {"min": pd.Timedelta(minutes=1), "h": pd.Timedelta(hours=1), "d": pd.Timedelta(days=1),
            "w": pd.Timedelta(days=7)}
_TF_ALIASES = {"d": "1d", "w": "1w", "h": "1h", "1wk": "1w", "daily": "1d", "weekly": "1w",
               "hourly": "1h", "min": "1min", "t": "1min"}


def _parse_timeframe(timeframe: str) -> tuple[int, str]:
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
    n, unit = _parse_timeframe(timeframe)
    if len(df) == 0:
        raise DataError("cannot resample an empty frame")
    target = n * _TF_SPAN[unit]
    if len(df) >= 2:
        spacing = infer_bar_spacing(df.index)
        if target < spacing:
            raise DataError(
                f"cannot resample {infer_timeframe(df.index)} bars to the finer timeframe "
                f"{timeframe}; pick a timeframe of at least {infer_timeframe(df.index)}"
            )
    idx = _as_index(df.index)
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


def _as_index(index: pd.Index | pd.DataFrame | pd.Series) -> pd.DatetimeIndex:
    if isinstance(index, pd.DataFrame | pd.Series):
        index = index.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"expected a DatetimeIndex, got {type(index).__name__}")
    return index


def infer_bar_spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Median spacing between consecutive bars (robust to weekends, holidays and overnight)."""
    idx = _as_index(index)
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
    idx = _as_index(index)
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


def data_fingerprint(df: pd.DataFrame) -> str:
    """sha256 hex of the index (int64 nanoseconds) and the OHLCV values (float64), stable
    across runs and machines (little-endian bytes, fixed column order)."""
    missing = [c for c in OHLCV_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"cannot fingerprint data without column(s) {', '.join(missing)}")
    idx = _as_index(df.index).as_unit("ns")
    h = hashlib.sha256()
    h.update(b"ohlcv-v1")
    h.update(np.ascontiguousarray(idx.asi8, dtype="<i8").tobytes())
    values = df[list(OHLCV_COLUMNS)].to_numpy(dtype=np.float64)
    h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _day(value: str | date | datetime | pd.Timestamp | None, what: str) -> str | None:
    if value is None:
        return None
    return _as_timestamp(value, what).strftime("%Y-%m-%d")


def download_symbol(
    ticker: str,
    cache_dir: str | os.PathLike[str] | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    timeout: float = 10.0,
) -> pd.DataFrame:
    """Daily bars of ``ticker`` from Yahoo Finance (yfinance), cached as a Yahoo-format CSV.

    The cache file ``{TICKER}_{start|max}_{end|today}.csv`` in ``cache_dir`` (default
    :func:`default_cache_dir`) is reused when present; it is written in Yahoo's CSV layout so
    backtrader's ``YahooFinanceCSVData`` reads it identically, and it is loaded with
    :func:`load_ohlcv` (``fmt="yahoo"``). ``start`` and ``end`` are inclusive dates. When the
    download fails (offline, say), the newest cached file of the ticker that covers the request
    is used instead, with a warning; with none, DataError names the cache folder, after at most
    about ``timeout`` seconds.
    """
    sym = str(ticker).strip().upper()
    if not re.fullmatch(r"[A-Z0-9^=._\-]{1,20}", sym):
        raise DataError(f"invalid ticker {ticker!r}")
    first, last = _day(start, "start"), _day(end, "end")
    if first and last and first > last:
        raise DataError(f"start {first} is after end {last}")
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    stem_end = last or pd.Timestamp.today().strftime("%Y-%m-%d")
    safe = re.sub(r"[^A-Z0-9._\-]", "_", sym)
    cache = folder / f"{safe}_{first or 'max'}_{stem_end}.csv"
    if cache.is_file():
        logger.info("using cached %s from %s", sym, cache)
    else:
        try:
            raw = _yfinance_history(sym, first, last, timeout)
        except DataError as exc:
            fallback = _covering_cache(folder, safe, first, last)
            if fallback is None:
                raise DataError(
                    f"{exc}; no cached copy of {sym} covers it in {folder}"
                ) from None
            logger.warning("%s; using the newest cached copy that covers it: %s", exc, fallback)
            cache = fallback
        else:
            _write_yahoo_csv(raw, cache)
            logger.info("downloaded %d bars of %s to %s", len(raw), sym, cache)
    df = load_ohlcv(cache, fmt="yahoo")
    df.attrs["source"] = f"yfinance:{sym}"
    df.attrs["cache_path"] = str(cache)
    return df


def _covering_cache(folder: Path, safe: str, first: str | None, last: str | None) -> Path | None:
    """The newest cache file of ``safe`` whose range contains [first, last] (ISO dates compare
    as strings; 'max' starts before any date; a file's end is the last day it was asked for)."""
    best: tuple[float, Path] | None = None
    for path in folder.glob(f"{safe}_*_*.csv"):
        parts = path.stem[len(safe) + 1:].split("_")
        if len(parts) != 2:
            continue
        f_start, f_end = parts
        starts_ok = f_start == "max" or (first is not None and f_start <= first)
        ends_ok = last is None or f_end >= last
        if starts_ok and ends_ok and (best is None or path.stat().st_mtime > best[0]):
            best = (path.stat().st_mtime, path)
    return None if best is None else best[1]


def _yfinance_history(sym: str, start: str | None, end: str | None, timeout: float) -> pd.DataFrame:
    hint = "(offline? pass a local CSV with --data instead)"
    # yfinance logs its own ERROR line on failure; ours, raised below, is the one to show
    yf_logger = logging.getLogger("yfinance")
    previous = yf_logger.level
    yf_logger.setLevel(logging.CRITICAL)
    try:
        import yfinance as yf  # lazy: slow import, and only needed to download

        kwargs: dict[str, Any] = {"interval": "1d", "auto_adjust": False, "actions": False,
                                  "timeout": timeout, "raise_errors": True}
        if start is None:
            kwargs["period"] = "max"
        else:
            kwargs["start"] = start
        if end is not None:
            # yfinance's end is exclusive; ours is inclusive.
            kwargs["end"] = (pd.Timestamp(end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        raw = yf.Ticker(sym).history(**kwargs)
    except Exception as exc:  # network, DNS, rate-limit and yfinance errors all mean the same
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = reason.split(" See https://")[0][:200]  # drop curl's boilerplate tail
        raise DataError(f"could not download {sym}: {reason} {hint}") from None
    finally:
        yf_logger.setLevel(previous)
    if raw is None or len(raw) == 0:
        raise DataError(f"could not download {sym}: no rows returned {hint}")
    return raw


def _write_yahoo_csv(raw: pd.DataFrame, path: Path) -> None:
    cols = {column_key(c): c for c in raw.columns}
    needed = ("open", "high", "low", "close", "volume")
    if any(k not in cols for k in needed):
        raise DataError(f"unexpected columns from yfinance: {', '.join(map(str, raw.columns))}")
    adj = cols.get("adjclose", cols["close"])
    idx = pd.DatetimeIndex(raw.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    out = pd.DataFrame(
        {
            "Date": idx.strftime("%Y-%m-%d"),
            "Open": raw[cols["open"]].to_numpy(dtype=np.float64),
            "High": raw[cols["high"]].to_numpy(dtype=np.float64),
            "Low": raw[cols["low"]].to_numpy(dtype=np.float64),
            "Close": raw[cols["close"]].to_numpy(dtype=np.float64),
            "Adj Close": raw[adj].to_numpy(dtype=np.float64),
            "Volume": raw[cols["volume"]].to_numpy(dtype=np.float64),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    # "null" marks a missing value the way Yahoo did; both loaders skip such rows.
    out.to_csv(tmp, index=False, na_rep="null")
    os.replace(tmp, path)
