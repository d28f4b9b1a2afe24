"""A backtest's CerebroRun -> metrics.json content, the report files, and why it made no trade."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.reports import write_backtest_report
from bt_attention_lstm.reports.backtest_metrics import (  # noqa: F401 - re-exported
    backtest_metrics,
    in_sample,
    period_block,
)
from bt_attention_lstm.reports.rule_comparison import RuleComparison
from bt_attention_lstm.runners.research.cerebro import CerebroRun


def build_metrics(
    result: CerebroRun, artifact: Artifact, periods_per_year: float, timeframe: str
) -> dict[str, Any]:
    return backtest_metrics(
        result.returns,
        result.trades,
        result.exposure,
        periods_per_year,
        timeframe,
        artifact,
        final_value=result.final_value,
        max_drawdown=result.bt_max_drawdown,
        open_orders=result.open_orders,
    )


class ReportSeries(Protocol):
    """What a report is drawn from: a CerebroRun, or walk-forward folds stitched together."""

    returns: pd.DataFrame
    trades: pd.DataFrame
    price: pd.Series
    edge: pd.Series


def write_report(
    out: Path,
    result: ReportSeries,
    metrics: dict[str, Any],
    threshold: float,
    periods_per_year: float,
    title: str,
    html: bool = True,
    comparison: RuleComparison | None = None,
) -> Path:
    return write_backtest_report(
        out,
        returns=result.returns,
        trades=result.trades,
        metrics=metrics,
        price=result.price,
        edge=result.edge,
        threshold=threshold,
        periods_per_year=periods_per_year,
        title=title,
        html=html,
        comparison=comparison,
    )


def no_trade_reason(
    result: CerebroRun, artifact: Artifact, threshold: float, allow_short: bool
) -> str | None:
    """Why a backtest made no trade, in one line for the terminal; None when it traded, or when
    its signal reached the threshold (then the stops, the sizer or the broker decided)."""
    if not result.trades.empty:
        return None
    if artifact.says_nothing:
        return ("no trades: the model was calibrated to the class prior (its training found no "
                "edge that held out of sample), so it has no view to trade")
    edge = result.edge.dropna()
    if edge.empty:
        return "no trades: no bar got a signal (too few bars after the warm-up)"
    low, high = float(edge.min()), float(edge.max())
    reach = max(high, -low) if allow_short else high
    if reach >= threshold:
        return None
    shorts = "" if allow_short or low > -threshold else "; its short signals need `allow_short`"
    return (f"no trades: the model's edge stayed within [{low:+.3f}, {high:+.3f}], never "
            f"reaching the entry threshold {threshold:g}{shorts}")
