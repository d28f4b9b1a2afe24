"""Close-only and wide price files: which columns hold time and which hold prices, and how a series
of closes becomes a canonical OHLCV frame.

Many users hold prices without bars: one adjusted close per day, either for one symbol
(``Date,Close``) or as a panel with one column per symbol (``Date,AAPL,AMD,...``, a "wide" file).
This module holds the layout rules, free of file reading (``models.data`` reads the files):

- a table with a time column and exactly one price column (``close``, ``adj close``, ``price`` or
  any single other column) is ``close``; ``Close`` beside ``Adj Close`` is ``close`` too and the
  adjusted column is used, as backtrader's Yahoo feed does by default;
- a time column plus two or more columns, none of them a bar field (open, high, low, volume...)
  nor a price name, is ``wide``: each column is a symbol;
- anything else is left to the OHLCV readers.

A close-only frame has open = high = low = close and volume = 0, so the features that read high,
low or volume degrade: ATR becomes a close-to-close range, the bar range features are 0 and the
volume features are 0. ``attrs["close_only"]`` says so. A source spec ``path#SYMBOL`` names one
column of a wide file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.samples import SYMBOL_SEPARATOR, resolve_source
from bt_attention_lstm.models.errors import DataError

# Price column names in order of preference when several are present (normalised keys).
CLOSE_NAMES = ("adjclose", "close", "price")
TIME_NAMES = ("datetime", "timestamp", "date", "time")
# Bar fields: a table holding any of them is an OHLCV table, never close-only or wide.
BAR_FIELD_NAMES = frozenset({"open", "high", "low", "volume", "vol", "openinterest"})
_LISTED_SYMBOLS = 20  # a message lists at most this many symbols

PriceKind = Literal["close", "wide"]


def column_key(name: object) -> str:
    """A column name's comparison key: lower case without spaces, underscores or dashes."""
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def is_unnamed_column(label: object) -> bool:
    """Whether ``label`` is the blank header pandas writes for an index (``df.to_csv()``)."""
    text = str(label).strip().lower()
    return text in ("", "index") or text.startswith("unnamed:")


@dataclass(frozen=True)
class PriceLayout:
    """Where the prices of a close-only or wide table are.

    ``kind``: ``close`` (one price column) or ``wide`` (one column per symbol). ``columns``: the
    table's own labels of the price columns used, in file order (for ``wide`` the symbols).
    ``ignored``: price columns left out (a ``Close`` beside ``Adj Close``).
    """

    kind: PriceKind
    columns: tuple[str, ...]
    ignored: tuple[str, ...] = ()


def classify_columns(labels: Sequence[object], has_time_index: bool = False) -> PriceLayout | None:
    """The close-only or wide layout of a table with these column labels, or None for OHLCV.

    Time columns are the ones named datetime/timestamp/date/time and a blank first label (an
    index written by pandas); ``has_time_index``: the time is in the table's index (parquet),
    so no time column is needed. Without any time, None (the OHLCV reader names the problem).
    """
    names = [str(label) for label in labels]
    keys = [column_key(n) for n in names]
    time = [k in TIME_NAMES or (i == 0 and is_unnamed_column(n)) for i, (n, k) in
            enumerate(zip(names, keys, strict=True))]
    if not (any(time) or has_time_index):
        return None
    rest = [(n, k) for (n, k), t in zip(zip(names, keys, strict=True), time, strict=True) if not t]
    if not rest or any(k in BAR_FIELD_NAMES for _, k in rest):
        return None
    priced = [(n, k) for n, k in rest if k in CLOSE_NAMES]
    if priced:
        if len(priced) != len(rest) or len({k for _, k in priced}) != len(priced):
            return None  # a price column beside other data, or twice the same name: not ours
        best = min(priced, key=lambda nk: CLOSE_NAMES.index(nk[1]))
        return PriceLayout("close", (best[0],), tuple(n for n, _ in priced if n != best[0]))
    if len(rest) == 1:
        return PriceLayout("close", (rest[0][0],))
    return PriceLayout("wide", tuple(n for n, _ in rest))


def split_source(source: str | os.PathLike[str]) -> tuple[str, str | None]:
    """``(path, symbol)`` of a source spec: ``prices.csv#KO`` -> ``("prices.csv", "KO")``;
    ``sample:FILE[#SYMBOL]`` names a shipped file (``models.data.samples.resolve_source``).

    A path that exists as given is never split (a file may have ``#`` in its name); the symbol
    is the text after the last ``#``.
    """
    text = resolve_source(os.fspath(source))
    if SYMBOL_SEPARATOR not in text or os.path.exists(os.path.expanduser(text)):
        return text, None
    path, _, symbol = text.rpartition(SYMBOL_SEPARATOR)
    symbol = symbol.strip()
    if not path or not symbol:
        raise DataError(f"data source {text!r}: write a wide file and a symbol as PATH#SYMBOL")
    return path, symbol


def source_spec(path: str | os.PathLike[str], symbol: str) -> str:
    """The spec ``path#SYMBOL`` that names one column of a wide file."""
    return f"{os.fspath(path)}{SYMBOL_SEPARATOR}{symbol}"


def symbol_list(symbols: Sequence[str]) -> str:
    """``AAPL, AMD, BAC``, shortened to the first few with a count for a long panel."""
    shown = ", ".join(symbols[:_LISTED_SYMBOLS])
    more = len(symbols) - _LISTED_SYMBOLS
    return f"{shown}, ... ({more} more)" if more > 0 else shown


def match_symbol(symbol: str, symbols: Sequence[str], path: object) -> str:
    """The column of ``symbols`` that ``symbol`` names: exact, else the one case-insensitive
    match. DataError listing the symbols when there is none."""
    if symbol in symbols:
        return symbol
    folded = [s for s in symbols if s.casefold() == symbol.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"{path} has no symbol {symbol!r}; its symbols: {symbol_list(symbols)}")


def wide_file_error(path: object, symbols: Sequence[str]) -> DataError:
    """The one-line error for a wide file given where a single series is needed."""
    return DataError(
        f"{path} is a wide price file with {len(symbols)} symbols ({symbol_list(symbols)}): "
        f"choose one with {path}{SYMBOL_SEPARATOR}SYMBOL, or train one model on all of them"
    )


def degrade_warning(what: str) -> str:
    """The warning logged once per close-only load: which features lose their meaning."""
    return (
        f"{what}: close-only data (no open/high/low/volume): open = high = low = close and "
        "volume = 0, so high/low features degrade (ATR becomes a close-to-close range, hl_range "
        "and close_location are 0) and volume features are 0"
    )


def trim_to_prices(index: pd.DatetimeIndex, close: np.ndarray) -> tuple[pd.DatetimeIndex,
                                                                         np.ndarray, int, int]:
    """Index and closes without the leading and trailing rows that have no price.

    A symbol listed later starts later, one delisted earlier ends earlier: those rows are not
    gaps. ``(index, close, leading, trailing)``; the gaps between prices stay for the repair
    rules of ``validate_ohlcv``. All rows empty: ``(empty, empty, n, 0)``.
    """
    finite = np.isfinite(close)
    if not finite.any():
        return index[:0], close[:0], len(close), 0
    first = int(np.argmax(finite))
    last = len(close) - int(np.argmax(finite[::-1]))
    return index[first:last], close[first:last], first, len(close) - last


def close_only_frame(index: pd.DatetimeIndex, close: np.ndarray) -> pd.DataFrame:
    """A canonical OHLCV frame from closes: open = high = low = close, volume = 0 (unvalidated;
    NaN closes stay NaN in all four price columns)."""
    c = np.asarray(close, dtype=np.float64)
    df = pd.DataFrame(
        {"open": c, "high": c.copy(), "low": c.copy(), "close": c.copy(),
         "volume": np.zeros(len(c))},
        index=index,
    )
    df.index.name = "datetime"
    return df
