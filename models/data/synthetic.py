"""Synthetic OHLCV markets for tests, demos and null experiments.

These are SYNTHETIC prices from a seeded random generator, not market data. One generator,
:func:`generate_market`, simulates log returns with

* GARCH(1,1) volatility clustering around a target per-bar volatility,
* Student-t shocks (fat tails, scaled to unit variance),
* hidden drift regimes: each regime lasts ``min_regime_len`` plus a geometric number of bars
  (mean ``mean_regime_len``) and carries a persistent drift of random sign (or none),
  which is the only predictable part of the returns,

and builds realistic bars from them: the open gaps slightly away from the previous close, the
high/low extend beyond max/min(open, close), and volume is lognormal and rises with |return|.
Three presets share it: :func:`synthetic_market` (regimes a model can learn from a few
thousand bars, the demo's market),
:func:`random_walk_market` (no edge at all: a null test) and :func:`planted_edge_market`
(a strong, easily learnable drift pattern).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import OHLCV_COLUMNS
from bt_attention_lstm.models.data.validation import validate_ohlcv
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MarketModel:
    """Parameters of the synthetic return process (per bar, log-return units)."""

    bar_vol: float = 0.012  # unconditional volatility per bar (about 19% a year on daily bars)
    base_drift: float = 0.0002  # drift shared by all regimes (a mild equity-like upward bias)
    # size of a regime's own drift; 0 disables regimes. 0.3% a bar under 1.2% noise: over a
    # regime of mean length the drift is about 2.7 standard errors from 0, so the regimes can be
    # told from noise within their own span, as the demo needs (at 0.12% they could not: 1.1)
    regime_drift: float = 0.003
    neutral_prob: float = 0.3  # chance that a regime has no drift of its own
    min_regime_len: int = 20
    mean_regime_len: float = 120.0  # mean regime length in bars, min_regime_len included
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    t_df: float = 4.0  # Student-t degrees of freedom of the shocks (> 2)
    gap_scale: float = 0.15  # open-vs-previous-close gap, in units of the bar's volatility
    wick_scale: float = 0.5  # high/low beyond the body, in units of the bar's volatility
    base_volume: float = 1_000_000.0
    volume_beta: float = 0.35  # log-volume per unit of |standardised shock|
    volume_sigma: float = 0.3  # lognormal noise of volume

    def check(self) -> None:
        if not self.bar_vol > 0:
            raise DataError(f"bar_vol must be > 0, got {self.bar_vol}")
        if not (self.garch_alpha >= 0 and self.garch_beta >= 0
                and self.garch_alpha + self.garch_beta < 1):
            raise DataError("GARCH needs alpha >= 0, beta >= 0 and alpha + beta < 1")
        if not self.t_df > 2:
            raise DataError(f"t_df must be > 2 (finite variance), got {self.t_df}")
        if self.min_regime_len < 1 or self.mean_regime_len <= self.min_regime_len:
            raise DataError("need 1 <= min_regime_len < mean_regime_len")
        if not 0 <= self.neutral_prob <= 1:
            raise DataError(f"neutral_prob must be in [0, 1], got {self.neutral_prob}")


MARKET = MarketModel()
RANDOM_WALK = MarketModel(base_drift=0.0, regime_drift=0.0)
PLANTED_EDGE = MarketModel(
    bar_vol=0.01, base_drift=0.0, regime_drift=0.004, neutral_prob=0.0,
    min_regime_len=15, mean_regime_len=60.0, garch_alpha=0.05, garch_beta=0.90,
)


def _regime_drifts(n: int, rng: np.random.Generator, m: MarketModel) -> np.ndarray:
    """Per-bar drift of a hidden regime path with geometric durations."""
    drift = np.empty(n, dtype=np.float64)
    p = 1.0 / (m.mean_regime_len - m.min_regime_len + 1.0)
    pos = 0
    while pos < n:
        length = m.min_regime_len + int(rng.geometric(p)) - 1
        sign = 0.0 if rng.random() < m.neutral_prob else (1.0 if rng.random() < 0.5 else -1.0)
        size = m.regime_drift * rng.uniform(0.5, 1.5)
        drift[pos : pos + length] = sign * size
        pos += length
    return drift + m.base_drift


def _garch_sigma(z: np.ndarray, m: MarketModel) -> np.ndarray:
    """Conditional volatility of eps_t = sigma_t * z_t under GARCH(1,1)."""
    var0 = m.bar_vol**2
    omega = var0 * (1.0 - m.garch_alpha - m.garch_beta)
    sigma = np.empty_like(z)
    var = var0
    for t, zt in enumerate(z.tolist()):  # a recursion: no vectorised form
        sigma[t] = var**0.5
        var = omega + (m.garch_alpha * zt * zt + m.garch_beta) * var
    return sigma


def generate_market(
    n_bars: int,
    seed: int,
    model: MarketModel = MARKET,
    start: str = "2005-01-03",
    freq: str = "B",
    start_price: float = 100.0,
) -> pd.DataFrame:
    """The one synthetic generator behind the presets (see the module docstring).

    Deterministic: the same arguments give an identical frame. The result has passed
    :func:`models.data.validate_ohlcv`; ``attrs["source"]`` is ``"synthetic"``.
    """
    if int(n_bars) < 1:
        raise DataError(f"n_bars must be >= 1, got {n_bars}")
    if not start_price > 0:
        raise DataError(f"start_price must be > 0, got {start_price}")
    model.check()
    n = int(n_bars)
    try:
        index = pd.date_range(start=start, periods=n, freq=freq, name="datetime").as_unit("ns")
    except (ValueError, TypeError) as exc:
        raise DataError(f"bad synthetic calendar (start={start!r}, freq={freq!r}): {exc}") from None
    rng = np.random.default_rng(seed)

    # Draw every random stream up front, in a fixed order, so results depend only on the seed.
    z = rng.standard_t(model.t_df, size=n) * np.sqrt((model.t_df - 2.0) / model.t_df)
    drift = _regime_drifts(n, rng, model)
    gap_noise = rng.standard_normal(n)
    wick_up = np.abs(rng.standard_normal(n))
    wick_down = np.abs(rng.standard_normal(n))
    vol_noise = rng.standard_normal(n)

    sigma = _garch_sigma(z, model)
    log_close = np.log(start_price) + np.cumsum(drift + sigma * z)
    close = np.exp(log_close)
    prev_close = np.concatenate(([start_price], close[:-1]))
    # The open gaps around the previous close; the close-to-close return is unchanged by it.
    open_ = prev_close * np.exp(model.gap_scale * sigma * gap_noise)
    body_hi = np.maximum(open_, close)
    body_lo = np.minimum(open_, close)
    high = body_hi * np.exp(model.wick_scale * sigma * wick_up)
    low = body_lo * np.exp(-model.wick_scale * sigma * wick_down)
    log_vol = model.volume_beta * np.abs(z) + model.volume_sigma * vol_noise
    volume = np.maximum(np.round(model.base_volume * np.exp(log_vol)), 1.0)

    df = pd.DataFrame(
        dict(zip(OHLCV_COLUMNS, (open_, high, low, close, volume), strict=True)), index=index
    )
    df.attrs["source"] = "synthetic"
    df.attrs["format"] = "synthetic"
    df = validate_ohlcv(df, min_bars=1)
    df.attrs["seed"] = int(seed)
    logger.debug("generated %d synthetic bars (seed %d)", n, seed)
    return df


def _with_overrides(base: MarketModel, kw: dict[str, Any]) -> tuple[MarketModel, dict[str, Any]]:
    fields = {f.name for f in dataclasses.fields(MarketModel)}
    calendar = {"start", "freq", "start_price"}
    unknown = set(kw) - fields - calendar
    if unknown:
        raise DataError(f"unknown synthetic market option(s): {', '.join(sorted(unknown))}")
    model = dataclasses.replace(base, **{k: v for k, v in kw.items() if k in fields})
    return model, {k: v for k, v in kw.items() if k in calendar}


def synthetic_market(
    n_bars: int = 4000,
    seed: int = 7,
    start: str = "2005-01-03",
    freq: str = "B",
    start_price: float = 100.0,
) -> pd.DataFrame:
    """SYNTHETIC daily-like market (not real data): GARCH(1,1) volatility clustering,
    Student-t (df 4) shocks, and hidden drift regimes lasting tens to hundreds of bars, about
    2.7 standard errors strong over a regime: an edge a model can learn from a few thousand bars
    (docs/MODEL_QUALITY.md). Deterministic in ``seed``."""
    return generate_market(n_bars, seed, MARKET, start=start, freq=freq, start_price=start_price)


def random_walk_market(n_bars: int, seed: int, **kw: Any) -> pd.DataFrame:
    """SYNTHETIC null market: zero drift, fat tails and volatility clustering, no regimes, so
    nothing is predictable. ``kw``: start, freq, start_price or any MarketModel field."""
    model, calendar = _with_overrides(RANDOM_WALK, kw)
    return generate_market(n_bars, seed, model, **calendar)


def planted_edge_market(n_bars: int, seed: int, **kw: Any) -> pd.DataFrame:
    """SYNTHETIC market with strong persistent drift regimes of random length (a learnable
    pattern: recent returns predict the next ones). ``kw`` as for :func:`random_walk_market`."""
    model, calendar = _with_overrides(PLANTED_EDGE, kw)
    return generate_market(n_bars, seed, model, **calendar)
