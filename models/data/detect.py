"""Which format a data file has, from its extension, header or parquet schema."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bt_attention_lstm.models.data.price_panel import (
    PriceLayout,
    classify_columns,
    column_key,
    split_source,
)
from bt_attention_lstm.models.data.reading import (
    decode_text,
    existing_file,
    first_line,
    sniff_separator,
)
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

_YAHOO_HEADER = ("date", "open", "high", "low", "close", "adjclose", "volume")
_BTCSV_HEADERS = (
    ("date", "open", "high", "low", "close", "volume", "openinterest"),
    ("date", "time", "open", "high", "low", "close", "volume", "openinterest"),
)
_SNIFF_BYTES = 65536


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
    return detect_layout(existing_file(file))[0]


def wide_symbols(path: str | os.PathLike[str]) -> list[str]:
    """The symbols (price columns, in file order) of a wide price file; [] for any other file.

    Only the header (or the parquet schema) is read.
    """
    _, layout = detect_layout(existing_file(path))
    return list(layout.columns) if layout is not None and layout.kind == "wide" else []


def detect_layout(p: Path) -> tuple[str, PriceLayout | None]:
    """(format, layout): the layout of a close-only or wide file, None for OHLCV files."""
    if p.suffix.lower() in (".parquet", ".pq"):
        layout = parquet_layout(p)
        return (layout.kind if layout else "parquet"), layout
    with p.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    full = len(head) < _SNIFF_BYTES
    if not full:
        # Cut at the last newline so a multi-byte character split by the read is not garbage.
        head = head[: head.rfind(b"\n") + 1] or head
    header = first_line(decode_text(head, p), p)
    fields = header.split(sniff_separator(header))
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


def parquet_layout(p: Path) -> PriceLayout | None:
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
