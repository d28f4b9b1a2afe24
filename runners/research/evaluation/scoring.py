"""Per-run trading scores (Sharpe with its standard error, PSR, total return) and their
mean and spread over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.reports.stats import probabilistic_sharpe_ratio, sharpe_standard_error


@dataclass(frozen=True)
class TradingScore:
    """One return series: annualised Sharpe, its standard error, PSR (vs 0) and total return."""

    sharpe: float
    sharpe_se: float
    psr: float
    total_return: float
    n_trades: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def trading_score(
    returns: pd.Series, periods_per_year: float, n_trades: int | None = None
) -> TradingScore:
    sharpe, se = sharpe_standard_error(returns, periods_per_year)
    psr = probabilistic_sharpe_ratio(returns)
    total = float(np.prod(1.0 + np.asarray(returns, dtype=float)) - 1.0)
    return TradingScore(sharpe, se, psr, total, n_trades)  # psr NaN: no variance (no trades)


def mean_sd(values: Sequence[float]) -> dict[str, float]:
    """{"mean", "sd"} over seeds (sd with ddof=1; 0 for a single value)."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return {"mean": math.nan, "sd": math.nan}
    return {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if arr.size > 1 else 0.0}


def summarise(scores: Sequence[TradingScore]) -> dict[str, Any]:
    """Mean and sd over seeds of every field, plus the per-seed values."""
    fields = ("sharpe", "sharpe_se", "psr", "total_return")
    out: dict[str, Any] = {f: mean_sd([getattr(s, f) for s in scores]) for f in fields}
    trades = [s.n_trades for s in scores if s.n_trades is not None]
    if trades:
        out["n_trades"] = mean_sd(trades)
    out["runs"] = [s.to_dict() for s in scores]
    return out
