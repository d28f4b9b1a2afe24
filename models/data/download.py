"""Daily bars from Yahoo Finance (yfinance), cached as Yahoo CSV files under the user's cache
directory, with the newest covering cached copy used when the download fails."""

from __future__ import annotations

import logging
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.cache import cache_dir
from bt_attention_lstm.models.data.loading import load_ohlcv
from bt_attention_lstm.models.data.price_panel import column_key
from bt_attention_lstm.models.data.resample import as_timestamp
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bt-attention-lstm/yfinance`` (``~/.cache/...`` when it is unset)."""
    return cache_dir("yfinance")


def _day(value: str | date | datetime | pd.Timestamp | None, what: str) -> str | None:
    if value is None:
        return None
    return as_timestamp(value, what).strftime("%Y-%m-%d")


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
    hint = "(offline? pass a local CSV as `data` instead)"
    # yfinance logs its own ERROR line on failure; ours, raised below, is the one to show
    yf_logger = logging.getLogger("yfinance")
    previous = yf_logger.level
    yf_logger.setLevel(logging.CRITICAL)
    debug: Any = None
    hidden = True
    try:
        import yfinance as yf  # lazy: slow import, and only needed to download

        kwargs: dict[str, Any] = {"interval": "1d", "auto_adjust": False, "actions": False,
                                  "timeout": timeout}
        # yfinance's errors must raise: its config says so since 1.x (`raise_errors` is
        # deprecated there, and would fail every download once it is gone)
        debug = getattr(getattr(yf, "config", None), "debug", None)
        if debug is not None and hasattr(debug, "hide_exceptions"):
            hidden, debug.hide_exceptions = debug.hide_exceptions, False
        else:
            debug = None
            kwargs["raise_errors"] = True
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
        if debug is not None:
            debug.hide_exceptions = hidden
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
