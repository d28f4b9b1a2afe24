"""The one feature definition, shared by training and trading.

``feature_matrix`` is the numpy core; ``compute_features`` wraps it for DataFrames and
``FeatureVector`` calls it inside backtrader. Every feature is stationary (returns, ratios,
oscillators), never a raw price level, and causal: TA-Lib computes each output from earlier inputs
only, so the value at bar t depends on bars <= t.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import talib

from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.spec import RETURN_HORIZONS, TREND_SPANS, FeatureSpec
from bt_attention_lstm.models.portfolio.vol_targeting import ewm_vol_of_returns

DEFAULT_SPEC = FeatureSpec()
# A standard deviation below this (relative to the level) is treated as zero: TA-Lib's running
# sums leave ~1e-8 noise on constant inputs such as the zero volume of index data.
_FLAT_STD = 1e-7


def _safe_ratio(num: np.ndarray, den: np.ndarray, flat_den: np.ndarray) -> np.ndarray:
    """num / den, with 0 where the denominator is (numerically) flat."""
    out = np.zeros_like(num)
    ok = ~flat_den
    np.divide(num, den, out=out, where=ok)
    out[np.isnan(num) | np.isnan(den)] = np.nan
    return out


def _raw(name: str) -> Callable[..., Any]:
    """TA-Lib's C function itself, without the wrapper that checks every call for pandas and
    polars Series (a measurable share of the per-bar path's cost; the values are the same)."""
    func = getattr(talib, name)
    return getattr(func, "__wrapped__", func)


_RSI, _MACD, _ATR, _BBANDS = _raw("RSI"), _raw("MACD"), _raw("ATR"), _raw("BBANDS")
_ADX, _PLUS_DI, _MINUS_DI = _raw("ADX"), _raw("PLUS_DI"), _raw("MINUS_DI")
_STDDEV, _SMA, _WILLR = _raw("STDDEV"), _raw("SMA"), _raw("WILLR")
_EMA = _raw("EMA")


def _trend_oscillator(c: np.ndarray, short: int, long: int, spec: FeatureSpec) -> np.ndarray:
    """Baz et al. (2015) trend signal: (EMA_short - EMA_long) / std_63(price), then divided by its
    own rolling ``trend_norm``-bar std. Flat prices give 0, never a division by zero."""
    price_std = _STDDEV(c, timeperiod=spec.trend_price_std, nbdev=1.0)
    q = _safe_ratio(
        _EMA(c, timeperiod=short) - _EMA(c, timeperiod=long), price_std, price_std <= _FLAT_STD * c
    )
    q_std = _STDDEV(q, timeperiod=spec.trend_norm, nbdev=1.0)
    return _safe_ratio(q, q_std, q_std <= _FLAT_STD)


def _trend_columns(
    c: np.ndarray,
    log_return: Callable[[int, int], np.ndarray],
    ret_1_all: np.ndarray,
    spec: FeatureSpec,
    first: int,
) -> dict[str, np.ndarray]:
    """ta-v2 columns for rows ``first:``: volatility-normalised returns, trend oscillators and
    the ex-ante volatility itself.

    Formula: nret_h = ln(C_t / C_{t-h}) / (sigma_t * sqrt(h)), sigma_t = sqrt(EMA_60(r^2)) of
    one-bar log returns up to and including t (Lim, Zohren & Roberts, 2019): the shared
    ``models.portfolio.vol_targeting`` definition, computed once for the returns and the
    ``ex_ante_vol`` line (what vol-target sizing divides by; no model reads it).
    """
    sigma = ewm_vol_of_returns(ret_1_all, spec.ewm_vol_span)[first:]
    flat_sigma = sigma <= _FLAT_STD
    columns = {
        f"nret_{h}": _safe_ratio(log_return(h, first), sigma * np.sqrt(h), flat_sigma)
        for h in RETURN_HORIZONS
    }
    columns["ex_ante_vol"] = sigma
    for short, long in TREND_SPANS:
        columns[f"trend_{short}_{long}"] = _trend_oscillator(c, short, long, spec)[first:]
    return columns


def feature_matrix(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    spec: FeatureSpec = DEFAULT_SPEC,
    last: int | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Compute the (n_bars, n_features) float64 feature matrix; warm-up rows are NaN.

    Columns follow ``names``: by default ``spec.names`` (the model's inputs); a FeatureVector
    asks for ``spec.line_names`` (every feature, the ones the strategy reads as well).
    ``open_`` is accepted for a complete OHLCV signature (no feature set uses it). With
    ``last=k`` only the last k rows are returned, with the values they have in the full matrix:
    TA-Lib still runs over the whole input, only the per-row arithmetic after it is restricted
    (the per-bar path needs one row).
    """
    matrix = _raw_matrix(high, low, close, volume, spec, last, names)
    first = close.shape[0] - matrix.shape[0]
    # TA-Lib returns NaN during its own warm-up; make the warm-up block uniform so that a row is
    # either fully defined or fully NaN.
    matrix[: max(0, min(warmup_bars(spec), close.shape[0]) - first)] = np.nan
    return matrix


def _raw_matrix(  # noqa: C901 - one flat list of feature formulas reads best in one place
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    spec: FeatureSpec,
    last: int | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """The feature columns before the warm-up rows are blanked."""
    h = np.ascontiguousarray(high, dtype=np.float64)
    lo = np.ascontiguousarray(low, dtype=np.float64)
    c = np.ascontiguousarray(close, dtype=np.float64)
    v = np.ascontiguousarray(volume, dtype=np.float64)
    n = c.shape[0]
    first = n - min(n, last) if last is not None else 0  # first row computed
    rows = slice(first, n)
    log_c = np.log(c)

    def log_return(lag: int, start: int) -> np.ndarray:
        """log(c[t] / c[t - lag]) for rows t >= start; NaN where t < lag."""
        out = np.full(n - start, np.nan)
        begin = max(lag, start)
        if n > begin:
            out[begin - start :] = log_c[begin:] - log_c[begin - lag : n - lag]
        return out

    ret_1_all = log_return(1, 0)  # realized volatility needs the whole history of returns
    # log1p keeps zero volume (index data) finite; a flat window gives a z-score of 0.
    log_v = np.log1p(np.maximum(v, 0.0))
    rsi = _RSI(c, timeperiod=spec.rsi_period)
    _, _, macd_hist = _MACD(
        c, fastperiod=spec.macd_fast, slowperiod=spec.macd_slow, signalperiod=spec.macd_signal
    )
    atr = _ATR(h, lo, c, timeperiod=spec.atr_period)
    upper, _, lower = _BBANDS(
        c, timeperiod=spec.bb_period, nbdevup=spec.bb_dev, nbdevdn=spec.bb_dev, matype=0
    )
    adx = _ADX(h, lo, c, timeperiod=spec.adx_period)
    plus_di = _PLUS_DI(h, lo, c, timeperiod=spec.adx_period)
    minus_di = _MINUS_DI(h, lo, c, timeperiod=spec.adx_period)
    realized_vol = _STDDEV(ret_1_all, timeperiod=spec.vol_period, nbdev=1.0)
    vol_mean = _SMA(log_v, timeperiod=spec.volume_period)
    vol_std = _STDDEV(log_v, timeperiod=spec.volume_period, nbdev=1.0)
    sma = _SMA(c, timeperiod=spec.sma_period)
    willr = _WILLR(h, lo, c, timeperiod=spec.willr_period)

    # Per-row arithmetic, on the requested rows only.
    c_all = c
    h, lo, c, log_c_rows = h[rows], lo[rows], c[rows], log_c[rows]
    upper, lower, vol_mean, vol_std = upper[rows], lower[rows], vol_mean[rows], vol_std[rows]
    band = upper - lower
    volume_z = _safe_ratio(
        log_v[rows] - vol_mean, vol_std, vol_std <= _FLAT_STD * (1.0 + vol_mean)
    )
    hl = h - lo
    flat_bar = hl <= 0.0
    close_location = _safe_ratio(c - lo, hl, flat_bar) - np.where(flat_bar, 0.0, 0.5)

    columns = {
        "ret_1": ret_1_all[rows],
        "ret_5": log_return(5, first),
        "ret_20": log_return(20, first),
        "rsi_14": rsi[rows] / 100.0 - 0.5,
        "macd_hist": macd_hist[rows] / c,
        "atr_ratio": atr[rows] / c,
        "bb_pctb": _safe_ratio(c - lower, band, band <= _FLAT_STD * c) - 0.5,
        "adx_14": adx[rows] / 100.0,
        "di_spread": (plus_di[rows] - minus_di[rows]) / 100.0,
        "realized_vol_20": realized_vol[rows],
        "volume_z_20": volume_z,
        "hl_range": np.log(h / lo),
        "close_location": close_location,
        "sma_gap_50": log_c_rows - np.log(sma[rows]),
        "willr_14": willr[rows] / 100.0 + 0.5,
    }
    if spec.has_trend_features:
        columns.update(_trend_columns(c_all, log_return, ret_1_all, spec, first))
    wanted = spec.names if names is None else names
    matrix = np.empty((n - first, len(wanted)), dtype=np.float64)
    for j, name in enumerate(wanted):
        matrix[:, j] = columns[name]
    return matrix


def compute_features(
    df: pd.DataFrame, spec: FeatureSpec = DEFAULT_SPEC, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Features of an OHLCV frame (columns open, high, low, close, volume; datetime index).

    Columns: ``names``, by default ``spec.names`` (what the model reads); ``spec.line_names``
    gives every feature. The first ``warmup_bars(spec)`` rows are NaN; after them no value is
    NaN or infinite.
    """
    missing = [c for c in ("open", "high", "low", "close", "volume") if c not in df.columns]
    if missing:
        raise DataError(f"OHLCV frame lacks column(s) {missing}")
    matrix = feature_matrix(
        df["open"].to_numpy(dtype=np.float64),
        df["high"].to_numpy(dtype=np.float64),
        df["low"].to_numpy(dtype=np.float64),
        df["close"].to_numpy(dtype=np.float64),
        df["volume"].to_numpy(dtype=np.float64),
        spec,
        names=names,
    )
    columns = list(spec.names if names is None else names)
    return pd.DataFrame(matrix, index=df.index, columns=columns)


@lru_cache(maxsize=16)
def warmup_bars(spec: FeatureSpec = DEFAULT_SPEC) -> int:
    """Index of the first bar at which every feature of ``spec.line_names`` is defined.

    Found from TA-Lib's own lookbacks, by running the raw computation on a smooth series that
    keeps every indicator defined; a FeatureVector's minperiod is this plus one. ta-v1 needs 49
    bars; ta-v2 about 350 (its slowest trend oscillator: a 96-bar EMA, then a 252-bar std).
    """
    longest = max(spec.sma_period, spec.macd_slow + spec.macd_signal, 3 * spec.adx_period)
    if spec.has_trend_features:
        longest = max(longest, max(RETURN_HORIZONS), spec.trend_norm + spec.trend_price_std + 96)
    n = 4 * longest + 50
    t = np.arange(n, dtype=np.float64)
    close = 100.0 + 5.0 * np.sin(t / 7.0) + 0.01 * t
    high, low = close + 1.0 + 0.2 * np.cos(t), close - 1.0 - 0.2 * np.sin(t / 3.0)
    volume = 1000.0 + 100.0 * np.sin(t / 5.0)
    every = _raw_matrix(high, low, close, volume, spec, names=spec.line_names)
    defined = np.isfinite(every).all(axis=1)
    return int(np.argmax(defined))
