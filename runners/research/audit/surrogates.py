"""Surrogate price series for the audit's "is this edge noise?" test.

A surrogate keeps the bars before ``first`` verbatim (they warm features and model up) and
replaces every bar from ``first`` on with a randomised version of the same stretch of data:

- ``phase``: FFT phase randomisation of the close-to-close log returns. The amplitude spectrum
  (so the linear autocorrelation and the variance) and the mean are kept; the phases, and with
  them every non-linear structure (volatility clustering, regimes, fat-tailed timing), are
  drawn uniformly at random. See J. Theiler et al., "Testing for nonlinearity in time series:
  the method of surrogate data", Physica D 58 (1992).
- ``block``: the stationary bootstrap of whole bars: blocks of consecutive bars with geometric
  lengths (mean ``block_len``) drawn with wrap-around from the same stretch. Each bar keeps its
  own return, shape and volume, so the marginal distribution (fat tails) and dependence shorter
  than the blocks survive; order beyond that is destroyed. See D. N. Politis, J. P. Romano,
  "The Stationary Bootstrap", JASA 89 (1994).

Phase surrogates keep a trend-following edge in part (trends are linear autocorrelation): on a
planted-edge market a model with real Sharpe 2.6 traded phase surrogates at 1.8 on average and
block surrogates at 0.6. ``phase`` asks "more than the linear autocorrelation?", ``block``
asks "more than the same bars in an order that keeps only short-range dependence?".

Prices are rebuilt around the new closes consistently: close[i] = close[first - 1] x
exp(cumsum(new log returns)), and each bar's open, high and low keep their ratio to the close of
the bar they come from (so high >= max(open, close) >= min(open, close) >= low still holds), and
its volume.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data import validate_ohlcv
from bt_attention_lstm.models.errors import ConfigError

SURROGATE_METHODS = ("block", "phase")


def _log_returns(close: np.ndarray, first: int) -> np.ndarray:
    """Close-to-close log returns of bars first .. n-1."""
    return np.log(close[first:] / close[first - 1 : -1])


def _rebuild(df: pd.DataFrame, first: int, log_returns: np.ndarray, source: np.ndarray
             ) -> pd.DataFrame:
    """Bars first.. with new closes from ``log_returns`` and bar shapes of rows ``source``."""
    o, h, lo, c, v = (df[k].to_numpy(dtype=np.float64)
                      for k in ("open", "high", "low", "close", "volume"))
    new_close = c[first - 1] * np.exp(np.cumsum(log_returns))
    values = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64, copy=True)
    values[first:, 0] = new_close * (o[source] / c[source])
    values[first:, 1] = new_close * (h[source] / c[source])
    values[first:, 2] = new_close * (lo[source] / c[source])
    values[first:, 3] = new_close
    values[first:, 4] = v[source]
    out = pd.DataFrame(values, index=df.index, columns=["open", "high", "low", "close", "volume"])
    out.attrs = dict(df.attrs)
    return validate_ohlcv(out, min_bars=1)


def phase_randomised(df: pd.DataFrame, first: int, rng: np.random.Generator) -> pd.DataFrame:
    """``df`` with bars first.. replaced by an FFT phase-randomised surrogate (same spectrum)."""
    returns = _log_returns(df["close"].to_numpy(dtype=np.float64), first)
    spectrum = np.fft.rfft(returns)
    randomised = np.abs(spectrum) * np.exp(1j * rng.uniform(0.0, 2.0 * np.pi, spectrum.size))
    randomised[0] = spectrum[0]  # the mean (zero frequency) stays as it is
    if returns.size % 2 == 0:
        randomised[-1] = spectrum[-1]  # the Nyquist term must stay real
    new_returns = np.fft.irfft(randomised, returns.size)
    return _rebuild(df, first, new_returns, np.arange(first, len(df)))


def stationary_bootstrap_rows(m: int, mean_block: float, rng: np.random.Generator) -> np.ndarray:
    """Row positions 0..m-1 of one stationary-bootstrap resample of length m (wrap-around)."""
    new_block = rng.random(m) < 1.0 / mean_block
    new_block[0] = True
    block_id = np.cumsum(new_block) - 1
    block_first = np.flatnonzero(new_block)
    offsets = np.arange(m) - block_first[block_id]
    starts = rng.integers(0, m, size=block_first.size)
    return (starts[block_id] + offsets) % m


def block_bootstrapped(
    df: pd.DataFrame, first: int, rng: np.random.Generator, mean_block: float = 5.0
) -> pd.DataFrame:
    """``df`` with bars first.. replaced by a stationary block bootstrap of those bars."""
    returns = _log_returns(df["close"].to_numpy(dtype=np.float64), first)
    rows = stationary_bootstrap_rows(returns.size, mean_block, rng)
    return _rebuild(df, first, returns[rows], rows + first)


def make_surrogate(
    df: pd.DataFrame, first: int, method: str, rng: np.random.Generator, block_len: float = 5.0
) -> pd.DataFrame:
    """One surrogate of ``df`` from bar ``first`` on (1 <= first < len(df) - 1)."""
    if not 1 <= first < len(df) - 1:
        raise ConfigError(f"cannot randomise from bar {first} of {len(df)}")
    if method == "phase":
        return phase_randomised(df, first, rng)
    if method == "block":
        if not block_len >= 1.0:
            raise ConfigError(f"`block_len` must be >= 1 bar, got {block_len}")
        return block_bootstrapped(df, first, rng, block_len)
    raise ConfigError(
        f"unknown surrogate `method` {method!r}; use {' or '.join(SURROGATE_METHODS)}"
    )
