"""Folds' out-of-sample segments -> one equity curve, the per-fold table and metrics.json content.

Each fold starts flat with fresh cash, so the stitched curve chains the folds' per-bar returns:
equity = cash x prod(1 + r). Buy and hold is the data's own bar-to-bar return over the same bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.reports import compute_metrics
from bt_attention_lstm.runners.research.reporting import period_block
from bt_attention_lstm.runners.research.walkforward.fold import FoldOutcome

FOLD_COLUMNS = (
    "fold",
    "train_start",
    "train_end",
    "test_start",
    "test_end",
    "val_loss",
    "oos_sharpe",
    "oos_return",
    "n_trades",
)


@dataclass
class StitchedResult:
    returns: pd.DataFrame  # strategy / benchmark per bar over every test window
    trades: pd.DataFrame
    edge: pd.Series
    price: pd.Series
    exposure: float
    final_value: float
    bt_max_drawdown: float  # the worst fold's backtrader drawdown
    open_orders: int


def stitch(outcomes: list[FoldOutcome], close: pd.Series, cash: float) -> StitchedResult:
    """Chain the folds' test windows in time order into one out-of-sample result."""
    if not outcomes:
        raise DataError("no folds to stitch")
    ordered = sorted(outcomes, key=lambda o: o.plan.test_start)
    strategy = pd.concat([o.returns["strategy"] for o in ordered])
    if not strategy.index.is_monotonic_increasing or strategy.index.has_duplicates:
        raise DataError("fold test windows overlap or are out of order")
    benchmark = close.pct_change().reindex(strategy.index)
    benchmark.iloc[0] = 0.0  # bought at the first out-of-sample bar's close, as in a backtest
    returns = pd.DataFrame({"strategy": strategy, "benchmark": benchmark})
    returns.index.name = "datetime"
    bars = np.array([len(o.returns) for o in ordered], dtype=float)
    exposure = float(np.average([o.exposure for o in ordered], weights=bars))
    trades = pd.concat([o.trades for o in ordered if len(o.trades)] or [ordered[0].trades])
    return StitchedResult(
        returns=returns,
        trades=trades.reset_index(drop=True),
        edge=pd.concat([o.edge for o in ordered]),
        price=pd.concat([o.price for o in ordered]),
        exposure=exposure,
        final_value=float(cash * np.prod(1.0 + strategy.to_numpy())),
        bt_max_drawdown=float(min(o.bt_max_drawdown for o in ordered)),
        open_orders=int(sum(o.open_orders for o in ordered)),
    )


def fold_table(outcomes: list[FoldOutcome]) -> pd.DataFrame:
    rows = [
        {
            "fold": o.plan.fold,
            "train_start": o.train_range[0],
            "train_end": o.train_range[1],
            "test_start": o.test_range[0],
            "test_end": o.test_range[1],
            "val_loss": o.val_loss,
            "oos_sharpe": o.oos_sharpe,
            "oos_return": o.oos_return,
            "n_trades": o.n_trades,
        }
        for o in sorted(outcomes, key=lambda o: o.plan.fold)
    ]
    return pd.DataFrame(rows, columns=list(FOLD_COLUMNS))


def walkforward_metrics(
    stitched: StitchedResult,
    outcomes: list[FoldOutcome],
    periods_per_year: float,
    timeframe: str,
    description: dict[str, Any],
) -> dict[str, Any]:
    """The backtest report's metrics.json schema, for a stitched out-of-sample curve.

    ``in_sample`` is false by construction: every traded bar comes after the training range of
    the model that traded it (plus the label-horizon gap).
    """
    metrics: dict[str, Any] = dict(
        compute_metrics(stitched.returns, stitched.trades, stitched.exposure, periods_per_year)
    )
    index = stitched.returns.index
    ordered = sorted(outcomes, key=lambda o: o.plan.fold)
    metrics["period"] = period_block(index, timeframe, periods_per_year)
    metrics["model"] = {
        "kind": "walk-forward",
        "path": None,
        "sha256": None,
        "trained_start": ordered[0].train_range[0],
        "trained_end": ordered[-1].train_range[1],
        **description,
        "folds": [
            {
                "fold": o.plan.fold,
                "train": list(o.train_range),
                "test": list(o.test_range),
                "sha256": o.weights_sha256,
                "val_loss": o.val_loss,
                "oos_sharpe": o.oos_sharpe,
            }
            for o in ordered
        ],
    }
    metrics["in_sample"] = False
    metrics["backtrader"] = {
        "final_value": stitched.final_value,
        "max_drawdown": stitched.bt_max_drawdown,
        "open_orders_at_end": stitched.open_orders,
    }
    return metrics
