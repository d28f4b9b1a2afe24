"""The scores of one strategy's per-bar returns after costs: Sharpe with its standard error and
PSR, annualised return and volatility, drawdown, turnover, Sharpe against cost and the
break-even cost.

The returns come from ``models.portfolio.vol_targeting.captured_returns`` at each cost; this module
only
summarises them. Formulas (n scored bars, P periods a year, R^c the net returns at cost c, D the
|weight changes| paid for in them):

- Sharpe = mean(R^c) / std(R^c) * sqrt(P) with its standard error (Mertens, 2002), both from
  ``sharpe_standard_error``; PSR = P[true Sharpe > 0] (Bailey & Lopez de Prado, 2012);
- annualised return = mean(R^c) * P (arithmetic, so return / volatility = Sharpe),
  annualised volatility = std(R^c) * sqrt(P);
- max drawdown = min_t (E_t / max_{s<=t} E_s - 1), E_t = prod_{s<=t} (1 + R^c_s), E_0 = 1 (<= 0);
- turnover = mean(D) * P, the weight traded a year;
- break-even cost = mean(R^0) / mean(D) in bps: where mean(R^c) = mean(R^0) - c mean(D), and so
  the Sharpe, reaches 0 (negative when the strategy loses before costs; None without trades).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.reports.jsonsafe import to_jsonable
from bt_attention_lstm.reports.scored_returns import NetReturns
from bt_attention_lstm.reports.stats import probabilistic_sharpe_ratio, sharpe_standard_error

BPS = 1e-4
COST_LEVELS_BPS: tuple[int, ...] = (0, 5, 10, 20)


@dataclass(frozen=True)
class StrategyScore:
    """The scores of one strategy at one cost (see the module docstring for the formulas)."""

    name: str
    n_bars: int
    sharpe: float
    sharpe_se: float
    psr: float
    ann_return: float
    ann_vol: float
    max_drawdown: float
    turnover: float
    sharpe_at_bps: Mapping[int, float]
    break_even_bps: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: floats or None (an undefined PSR is None), never NaN."""
        return to_jsonable(asdict(self))


def annualised_sharpe(returns: pd.Series, periods_per_year: float) -> float:
    """Formula: mean / std (ddof 1) * sqrt(P); 0 for constant returns (no trade)."""
    return sharpe_standard_error(returns, periods_per_year)[0]


def max_drawdown(returns: pd.Series) -> float:
    """Formula: min_t (E_t / max_{s<=t} E_s - 1) of E_t = prod_{s<=t} (1 + r_s), E_0 = 1."""
    equity = np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(returns, dtype=float)]))
    return float(np.min(equity / np.maximum.accumulate(equity) - 1.0))


def break_even_bps(gross: pd.Series, traded: pd.Series) -> float | None:
    """Formula: mean(gross) / mean(|weight change|) / 1e-4; None when nothing is traded."""
    turnover = float(np.mean(traded))
    if not turnover > 0.0:
        return None
    return float(np.mean(gross)) / turnover / BPS


def score_strategy(
    name: str, returns: NetReturns, cost: float, periods_per_year: float
) -> StrategyScore:
    """Scores of ``returns`` at ``cost`` (a column of ``returns.by_cost``), with the Sharpe at
    every cost of ``COST_LEVELS_BPS`` (columns too)."""
    net = returns.by_cost[cost]
    sharpe, se = sharpe_standard_error(net, periods_per_year)
    x = net.to_numpy(dtype=float)
    std = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    return StrategyScore(
        name=name,
        n_bars=int(x.size),
        sharpe=sharpe,
        sharpe_se=se,
        psr=probabilistic_sharpe_ratio(net),
        ann_return=float(np.mean(x)) * periods_per_year if x.size else math.nan,
        ann_vol=std * math.sqrt(periods_per_year),
        max_drawdown=max_drawdown(net),
        turnover=float(np.mean(returns.traded)) * periods_per_year,
        sharpe_at_bps={
            bps: annualised_sharpe(returns.by_cost[bps * BPS], periods_per_year)
            for bps in COST_LEVELS_BPS
        },
        break_even_bps=break_even_bps(returns.by_cost[0.0], returns.traded),
    )
