"""The per-bar net returns of the model and every trading rule on one symbol, on the bars the
model is scored on, and their equal-weight portfolio.

- Positions before the evaluation start are dropped (NaN), so every strategy enters from flat at
  the start and pays for it.
- w_t = ``VolTarget.weights``(position_t, ``ex_ante_vol``(close)_t); the net return of bar t+1 at
  cost c is ``captured_returns``(w, close, c) = w_t (C_{t+1} / C_t - 1) - c |w_t - w_{t-1}|.
- The scored bars are the returns earned by the model's weights from bars t >= start where the
  model has a weight (position and ex-ante volatility defined): the same bars for every
  strategy. A rule still warming up on a scored bar holds nothing there (return 0).
- Portfolio: R^p_d = the mean of R^s_d over the symbols s scored on date d (equal weights, the
  "diversified" portfolio Lim, Zohren & Roberts, 2019, validate and report on).

See: models/portfolio/vol_targeting.py (the one definition of sigma, weights and captured returns).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bt_attention_lstm.models.portfolio.trading_rules import RULES
from bt_attention_lstm.models.portfolio.vol_targeting import (
    VolTarget,
    captured_returns,
    ex_ante_vol,
)
from bt_attention_lstm.reports.errors import ReportError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetReturns:
    """One strategy's per-bar returns on the scored bars: ``by_cost`` has one column per cost (a
    fraction per unit of weight traded, 0.0 included), ``traded`` the |weight change| whose
    cost each row pays."""

    by_cost: pd.DataFrame
    traded: pd.Series


def rule_positions(close: pd.Series) -> dict[str, pd.Series]:
    """Every rule's positions in [-1, 1] (NaN in warm-up) on ``close``'s index, in RULES order."""
    c = close.to_numpy(dtype=np.float64)
    return {name: pd.Series(rule(c), index=close.index, name=name) for name, rule in RULES.items()}


def checked_position(symbol: str, close: pd.Series, position: pd.Series) -> np.ndarray:
    """The model's positions on ``close``'s index, after checking both series."""
    if not isinstance(close.index, pd.DatetimeIndex):
        raise ReportError(f"{symbol}: the close series needs a DatetimeIndex")
    if not (close.index.is_monotonic_increasing and close.index.is_unique):
        raise ReportError(f"{symbol}: the close index must be strictly increasing")
    extra = position.index.difference(close.index)
    if len(extra):
        raise ReportError(f"{symbol}: {len(extra)} position date(s) have no close, "
                          f"the first {extra[0]}")
    pos = position.reindex(close.index).to_numpy(dtype=np.float64)
    finite = pos[np.isfinite(pos)]
    if finite.size and np.max(np.abs(finite)) > 1.0 + 1e-9:
        raise ReportError(f"{symbol}: model positions must lie in [-1, 1] (before vol scaling)")
    return pos


def scored_returns(
    close: pd.Series, model_pos: np.ndarray, start: pd.Timestamp, vol_target: VolTarget,
    costs: tuple[float, ...], model_name: str,
) -> dict[str, NetReturns]:
    """Net returns at each of ``costs`` of the model (first, as ``model_name``) and every rule,
    on the bars the model is scored on (see the module docstring)."""
    c = close.to_numpy(dtype=np.float64)
    sigma = ex_ante_vol(c)
    before = np.asarray(close.index < start)
    positions = {model_name: model_pos}
    positions.update({k: v.to_numpy() for k, v in rule_positions(close).items()})
    weights = {}
    for name, pos in positions.items():
        pos = np.where(before, np.nan, pos)
        weights[name] = vol_target.weights(pos, sigma)
    scored = np.zeros(c.size, dtype=bool)
    scored[1:] = np.isfinite(weights[model_name][:-1])  # the return of bar t+1 is w_t's
    index = close.index[scored]
    out: dict[str, NetReturns] = {}
    for name, w in weights.items():
        by_cost, traded = {}, np.empty(0)
        for cost in costs:
            net, traded = captured_returns(w, c, cost)
            by_cost[cost] = net[scored]
        flat = int(np.count_nonzero(~np.isfinite(traded[scored])))
        if flat:
            logger.warning("%s: %s has no position on %d of the %d scored bars (warm-up): flat",
                           close.name, name, flat, index.size)
        out[name] = NetReturns(pd.DataFrame(by_cost, index=index).fillna(0.0),
                               pd.Series(traded[scored], index=index).fillna(0.0))
    return out


def portfolio_returns(per_symbol: list[NetReturns]) -> NetReturns:
    """Formula: R^p_d = mean over the symbols scored on date d of R^s_d (the same for D)."""
    by_cost = pd.concat([r.by_cost for r in per_symbol]).groupby(level=0).mean()
    traded = pd.concat([r.traded for r in per_symbol]).groupby(level=0).mean()
    return NetReturns(by_cost, traded)
