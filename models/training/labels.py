"""Down / flat / up labels for the forward return over a horizon, with a volatility-scaled band."""

from __future__ import annotations

import numpy as np

CLASS_NAMES: tuple[str, ...] = ("down", "flat", "up")
DOWN, FLAT, UP = 0, 1, 2
NO_LABEL = -1


def make_labels(
    close: np.ndarray, horizon: int = 5, flat_band: float = 0.5, vol_window: int = 20
) -> np.ndarray:
    """Label bar t by the log return from close[t] to close[t + horizon].

    Formula: r_t = ln(C[t+H] / C[t]); band_t = flat_band * sigma_t * sqrt(H), where sigma_t is the
    standard deviation of the last ``vol_window`` one-bar log returns up to and including t (known
    at t). r_t < -band_t -> down, r_t > band_t -> up, else flat.

    Only the array given is read: the last ``horizon`` bars and the bars before sigma is defined
    get ``NO_LABEL``. Pass the training range alone and no label reads past it.
    """
    if horizon < 1:
        raise ValueError("horizon must be >= 1")
    c = np.asarray(close, dtype=np.float64)
    n = c.shape[0]
    labels = np.full(n, NO_LABEL, dtype=np.int64)
    if n <= max(horizon, vol_window):
        return labels
    log_c = np.log(c)
    ret_1 = np.diff(log_c)
    sigma = np.full(n, np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(ret_1, vol_window)
    sigma[vol_window:] = windows.std(axis=1)
    forward = np.full(n, np.nan)
    forward[: n - horizon] = log_c[horizon:] - log_c[: n - horizon]
    band = flat_band * sigma * np.sqrt(horizon)
    ok = np.isfinite(forward) & np.isfinite(band)
    labels[ok] = FLAT
    labels[ok & (forward > band)] = UP
    labels[ok & (forward < -band)] = DOWN
    return labels
