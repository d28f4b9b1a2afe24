"""The simple trading rules a trend model is judged against, as positions in [-1, 1] per bar.

Each rule maps a close price array to the position held from the close of bar t, before
volatility scaling (``models.portfolio.vol_targeting.VolTarget.weights`` scales every rule the same
way).
Every rule is causal: the position at bar t reads closes at bars <= t only. Bars where a rule is
still warming up are NaN.

- ``buy_and_hold``: 1.
- ``tsmom``: sign(C_t / C_{t-252} - 1) (Moskowitz, Ooi & Pedersen, 2012).
- ``long_only_tsmom``: max(0, tsmom).
- ``macd`` (Baz et al., 2015, as used by Lim, Zohren & Roberts, 2019): the mean over
  (S, L) in (8, 24), (16, 48), (32, 96) of phi(y), with
  q = (EWMA_S(C) - EWMA_L(C)) / std_63(C), y = q / std_252(q), phi(y) = y exp(-y^2 / 4) / 0.89.
- ``sma_cross``: long-only, 1 while SMA_10(C) > SMA_30(C), else 0.

See:
  - T. J. Moskowitz, Y. H. Ooi, L. H. Pedersen, "Time series momentum", JFE 104(2), 2012.
  - J. Baz, N. Granger, C. R. Harvey, N. Le Roux, S. Rattray, "Dissecting Investment Strategies
    in the Cross Section and Time Series", SSRN 2695101, 2015.
  - B. Lim, S. Zohren, S. Roberts, "Enhancing Time Series Momentum Strategies Using Deep Neural
    Networks", Journal of Financial Data Science, 2019.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import talib

from bt_attention_lstm.models.errors import DataError

TSMOM_LOOKBACK = 252
MACD_TIMESCALES: tuple[tuple[int, int], ...] = ((8, 24), (16, 48), (32, 96))
MACD_PRICE_STD = 63
MACD_SIGNAL_STD = 252
MACD_PHI_SCALE = 0.89
SMA_FAST = 10
SMA_SLOW = 30


def _close(close: np.ndarray) -> np.ndarray:
    """The closes as a contiguous float64 vector; every close must be finite and > 0."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise DataError(f"a trading rule needs a 1-d close array, got shape {c.shape}")
    if c.size and not (np.all(np.isfinite(c)) and np.all(c > 0)):
        raise DataError("a trading rule needs finite closes > 0 (repair the data first)")
    return c


def buy_and_hold(close: np.ndarray) -> np.ndarray:
    """Formula: p_t = 1 at every bar (no warm-up)."""
    return np.ones_like(_close(close))


def tsmom(close: np.ndarray, lookback: int = TSMOM_LOOKBACK) -> np.ndarray:
    """Time-series momentum.

    Formula: p_t = sign(C_t / C_{t-lookback} - 1) in {-1, 0, 1}; NaN for t < lookback.
    See: Moskowitz, Ooi & Pedersen (2012), the 12-month lookback (252 daily bars).
    """
    c = _close(close)
    out = np.full(c.shape, np.nan)
    if c.size > lookback:
        out[lookback:] = np.sign(c[lookback:] / c[:-lookback] - 1.0)
    return out


def long_only_tsmom(close: np.ndarray, lookback: int = TSMOM_LOOKBACK) -> np.ndarray:
    """Formula: p_t = max(0, tsmom_t) in {0, 1}; NaN during tsmom's warm-up."""
    return np.maximum(tsmom(close, lookback), 0.0)  # np.maximum keeps the warm-up's NaN


def _sample_std(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling sample standard deviation (ddof 1) over ``window`` bars ending at t.

    TA-Lib's STDDEV is the population one (ddof 0): rescaled by sqrt(n / (n - 1)) it equals
    pandas' ``rolling(window).std()``, the estimator of the reference code.
    """
    return talib.STDDEV(x, timeperiod=window, nbdev=1.0) * math.sqrt(window / (window - 1.0))


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den; 0 where den is 0 (a flat stretch: no trend), NaN where either is NaN."""
    out = np.divide(num, den, out=np.zeros_like(num), where=den != 0)
    out[np.isnan(num) | np.isnan(den)] = np.nan
    return out


def macd_signal(close: np.ndarray, short: int, long: int) -> np.ndarray:
    """Baz et al.'s normalised MACD y of one timescale pair.

    Formula: q_t = (EWMA_short(C)_t - EWMA_long(C)_t) / std_63(C)_t, y_t = q_t / std_252(q)_t,
    EWMA with alpha = 2 / (span + 1) (TA-Lib's EMA, seeded with the mean of its first ``span``
    values), std the rolling sample std. NaN before bar long + 250 (q needs 252 values).
    See: Baz et al. (2015); Lim, Zohren & Roberts (2019), the MACD inputs and baseline.
    """
    c = _close(close)
    macd = talib.EMA(c, timeperiod=short) - talib.EMA(c, timeperiod=long)
    q = _safe_ratio(macd, _sample_std(c, MACD_PRICE_STD))
    return _safe_ratio(q, _sample_std(q, MACD_SIGNAL_STD))


def baz_response(y: np.ndarray) -> np.ndarray:
    """Formula: phi(y) = y exp(-y^2 / 4) / 0.89, peaking at |y| = sqrt(2) (|phi| <= 0.964).

    See: Baz et al. (2015), the response function of the trend signal.
    """
    return y * np.exp(-(y * y) / 4.0) / MACD_PHI_SCALE


def macd_baz(close: np.ndarray) -> np.ndarray:
    """Formula: p_t = clip(mean over (S, L) in (8, 24), (16, 48), (32, 96) of phi(y_{S,L,t}),
    -1, 1); NaN before bar 96 + 250 = 346, where every timescale is warm."""
    c = _close(close)
    if c.size == 0:
        return np.empty(0)
    phis = [baz_response(macd_signal(c, s, ln)) for s, ln in MACD_TIMESCALES]
    return np.clip(np.mean(phis, axis=0), -1.0, 1.0)


def sma_cross(close: np.ndarray, fast: int = SMA_FAST, slow: int = SMA_SLOW) -> np.ndarray:
    """Long-only moving-average crossover.

    Formula: p_t = 1 if SMA_fast(C)_t > SMA_slow(C)_t else 0; NaN for t < slow - 1.
    """
    if not 1 <= fast < slow:
        raise DataError(f"sma_cross needs 1 <= fast < slow, got fast={fast}, slow={slow}")
    c = _close(close)
    out = np.full(c.shape, np.nan)
    if c.size >= slow:
        f = talib.SMA(c, timeperiod=fast)
        s = talib.SMA(c, timeperiod=slow)
        out[slow - 1 :] = (f[slow - 1 :] > s[slow - 1 :]).astype(np.float64)
    return out


RULES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "buy_and_hold": buy_and_hold,
    "tsmom": tsmom,
    "long_only_tsmom": long_only_tsmom,
    "macd": macd_baz,
    "sma_cross": sma_cross,
}
