"""Reading data files into text, tokens and raw tables, with one-line errors for bad files.

The format parsers (:mod:`models.data.formats`) and the close-only reader
(:mod:`models.data.price_files`) build on these; nothing here knows a column layout.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import MISSING_TOKENS
from bt_attention_lstm.models.errors import DataError


def existing_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data file not found: {p}")
    if not p.is_file():
        raise DataError(f"data path is not a file: {p}")
    return p


def decode_text(raw: bytes, path: Path) -> str:
    if b"\x00" in raw:
        raise DataError(f"{path} is not a text CSV (it contains NUL bytes); pass a CSV or parquet")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not a text CSV (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 CSV"
        ) from None


def read_text(path: Path) -> str:
    return decode_text(path.read_bytes(), path)


def first_line(text: str, path: Path) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise DataError(f"{path} is empty")


def sniff_separator(header: str) -> str:
    # Only the generic reader honours other separators; backtrader's feeds always split on ",".
    if "," in header:
        return ","
    for sep in (";", "\t", "|"):
        if sep in header:
            return sep
    return ","


def data_lines(text: str, path: Path) -> list[tuple[int, list[str]]]:
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


def parse_floats(tokens: Sequence[str], column: str, where: Sequence[str]) -> np.ndarray:
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
            if tok is None or str(tok).strip().lower() in MISSING_TOKENS:
                out[i] = np.nan
            else:
                raise DataError(
                    f"non-numeric value {str(tok)!r} in column '{column}' at {where[i]}"
                ) from None
    return out


def parse_fixed_datetimes(texts: list[str], fmt: str, where: Sequence[str]) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(texts, format=fmt, errors="coerce"))
    bad = np.flatnonzero(idx.isna())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"unparseable timestamp {texts[i]!r} at {where[i]} (expected {fmt})")
    return idx


def check_field_counts(rows: list[tuple[int, list[str]]], allowed: tuple[int, ...], path: Path,
                        layout: str) -> None:
    for lineno, toks in rows:
        if len(toks) not in allowed:
            raise DataError(
                f"{path}: line {lineno} has {len(toks)} fields, expected "
                f"{' or '.join(map(str, allowed))} ({layout})"
            )


def read_csv_table(text: str, path: Path) -> pd.DataFrame:
    """Every cell of a CSV as text (the separator sniffed from the header), at least one row."""
    header = first_line(text, path)
    sep = sniff_separator(header)
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


def read_parquet_table(path: Path) -> pd.DataFrame:
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
