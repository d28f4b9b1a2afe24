"""Performance metrics of a backtest, as plain fractions ready for metrics.json.

Sharpe, Sortino, volatility and drawdown come from quantstats, so metrics.json agrees with
the tear sheet and with `qs.stats.sharpe(returns_csv["strategy"], periods=periods_per_year)`.
CAGR is computed here from the bar count, so it annualises by bars per year on any bar
frequency (some quantstats releases annualise CAGR by calendar days instead).
"""

from __future__ import annotations

import logging
import math
from typing import SupportsFloat, TypeAlias

import numpy as np
import pandas as pd

from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.quantstats_import import qs
from bt_attention_lstm.reports.stats import probabilistic_sharpe_ratio

logger = logging.getLogger(__name__)

MetricValue: TypeAlias = float | int | None
Metrics: TypeAlias = dict[str, dict[str, MetricValue]]


def compute_metrics(
    returns: pd.DataFrame,
    trades: pd.DataFrame,
    exposure: float,
    periods_per_year: float,
) -> Metrics:
    """Strategy and benchmark metrics from per-bar simple returns.

    `returns` has columns "strategy" and "benchmark" on a DatetimeIndex; `trades` one row per
    closed trade with a "pnl" column; `exposure` the fraction of bars in the market;
    `periods_per_year` the bars per year of the data (252 daily, ~19656 for 5-minute bars).

    Values are fractions (0.05 is 5%); max_drawdown is <= 0; an undefined value is None.
    """
    _validate(returns, periods_per_year)
    strategy = returns["strategy"]
    benchmark = returns["benchmark"]

    strat = _series_metrics(strategy, periods_per_year)
    cagr, max_dd = strat["cagr"], strat["max_drawdown"]
    strat["calmar"] = _finite(cagr / abs(max_dd)) if cagr is not None and max_dd else None
    strat["win_rate"] = _win_rate(trades)
    strat["n_trades"] = len(trades)
    strat["exposure"] = _finite(exposure)
    strat["psr"] = _finite(probabilistic_sharpe_ratio(strategy))

    return {"strategy": strat, "benchmark": _series_metrics(benchmark, periods_per_year)}


def _series_metrics(returns: pd.Series, periods_per_year: float) -> dict[str, MetricValue]:
    total = float(qs.stats.comp(returns))
    # quantstats annotates ``periods`` as an int but only takes its square root: bars per year
    # inferred from intraday data is fractional, and rounding it would move the ratios.
    periods = periods_per_year
    # Constant returns make Sharpe 0/0: that is reported as None, not warned about.
    with np.errstate(invalid="ignore", divide="ignore"):
        sharpe = qs.stats.sharpe(returns, rf=0.0, periods=periods)  # type: ignore[arg-type]
        sortino = qs.stats.sortino(returns, rf=0.0, periods=periods)  # type: ignore[arg-type]
        volatility = qs.stats.volatility(returns, periods=periods)  # type: ignore[arg-type]
        max_drawdown = qs.stats.max_drawdown(returns)
    return {
        "total_return": _finite(total),
        "cagr": _cagr(total, int(returns.count()), periods_per_year),
        "sharpe": _finite(sharpe),
        "sortino": _finite(sortino),
        "max_drawdown": _finite(max_drawdown),
        "volatility": _finite(volatility),
    }


def _cagr(total_return: float, n_bars: int, periods_per_year: float) -> float | None:
    """(1 + total)^(1 / years) - 1 with years = n_bars / periods_per_year."""
    wealth = 1.0 + total_return
    if n_bars == 0 or wealth < 0.0:
        return None  # a negative terminal wealth has no real growth rate
    return _finite(wealth ** (periods_per_year / n_bars) - 1.0)


def _win_rate(trades: pd.DataFrame) -> float | None:
    if len(trades) == 0:
        return None
    if "pnl" not in trades.columns:
        raise ReportError("trades needs a 'pnl' column to compute the win rate")
    pnl = pd.to_numeric(trades["pnl"], errors="coerce").dropna()
    return float((pnl > 0).mean()) if len(pnl) else None


def _validate(returns: pd.DataFrame, periods_per_year: float) -> None:
    missing = {"strategy", "benchmark"} - set(returns.columns)
    if missing:
        raise ReportError(f"returns lacks column(s) {sorted(missing)}")
    if len(returns) == 0:
        raise ReportError("returns is empty")
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise ReportError("returns needs a DatetimeIndex")
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ReportError(f"periods_per_year must be positive, got {periods_per_year!r}")
    for name in ("strategy", "benchmark"):
        column = returns[name]
        if column.isna().any():
            raise ReportError(f"returns[{name!r}] has missing values")
        # quantstats reads a series that never goes negative and tops 1 as prices.
        if column.min() >= 0 and column.max() > 1:
            logger.warning("returns[%r] looks like prices to quantstats; metrics may be off", name)


def _finite(value: SupportsFloat | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
