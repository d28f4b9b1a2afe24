"""Backtest result -> metrics.json content, report files and the terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.timefmt import bar_time
from bt_attention_lstm.reports import compute_metrics, write_backtest_report
from bt_attention_lstm.strategies.engine import BacktestResult


def period_block(index: pd.DatetimeIndex, timeframe: str, ppy: float) -> dict[str, Any]:
    """metrics.json's "period": the traded bars' range, count and frequency."""
    return {
        "start": bar_time(index[0]),
        "end": bar_time(index[-1]),
        "bars": int(len(index)),
        "timeframe": timeframe,
        "periods_per_year": float(ppy),
    }


def in_sample(artifact: Artifact, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether [start, end] overlaps the range the model was trained on."""
    t_start, t_end = artifact.trained_range
    try:
        trained_start, trained_end = pd.Timestamp(t_start), pd.Timestamp(t_end)
    except ValueError:
        return True  # unknown training range: do not claim out-of-sample
    if trained_end == trained_end.normalize():
        trained_end = trained_end + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return bool(start <= trained_end and end >= trained_start)


def build_metrics(
    result: BacktestResult, artifact: Artifact, ppy: float, timeframe: str
) -> dict[str, Any]:
    metrics: dict[str, Any] = dict(
        compute_metrics(result.returns, result.trades, result.exposure, ppy)
    )
    index = result.returns.index
    t_start, t_end = artifact.trained_range
    metrics["period"] = period_block(index, timeframe, ppy)
    metrics["model"] = {
        "path": str(artifact.path),
        "sha256": artifact.weights_sha256,
        "trained_start": t_start,
        "trained_end": t_end,
    }
    metrics["in_sample"] = in_sample(artifact, index[0], index[-1])
    metrics["backtrader"] = {
        "final_value": result.final_value,
        "max_drawdown": result.bt_max_drawdown,
        "open_orders_at_end": result.open_orders,
    }
    return metrics


def write_report(
    out: Path,
    result: BacktestResult,
    metrics: dict[str, Any],
    threshold: float,
    ppy: float,
    title: str,
    html: bool = True,
) -> Path:
    return write_backtest_report(
        out,
        returns=result.returns,
        trades=result.trades,
        metrics=metrics,
        price=result.price,
        confidence=result.confidence,
        threshold=threshold,
        periods_per_year=ppy,
        title=title,
        html=html,
    )


def _fmt(value: object, pct: bool) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.2%}" if pct else f"{value:.2f}"


ROWS = (
    ("total return", "total_return", True),
    ("CAGR", "cagr", True),
    ("Sharpe", "sharpe", False),
    ("Sortino", "sortino", False),
    ("max drawdown", "max_drawdown", True),
    ("volatility", "volatility", True),
    ("win rate", "win_rate", True),
    ("trades", "n_trades", False),
    ("exposure", "exposure", True),
    ("PSR (SR > 0)", "psr", True),
)


def print_summary(metrics: dict[str, Any]) -> None:
    period = metrics["period"]
    print()
    print(
        f"{period['start']} .. {period['end']}  ({period['bars']} bars, {period['timeframe']}, "
        f"{period['periods_per_year']:.0f} bars/year)"
        + ("   IN-SAMPLE" if metrics["in_sample"] else "   out-of-sample")
    )
    print(f"{'':<14}{'strategy':>12}{'buy & hold':>12}")
    for label, key, pct in ROWS:
        strat = metrics["strategy"].get(key)
        bench = metrics["benchmark"].get(key, None)
        bench_txt = _fmt(bench, pct) if key in metrics["benchmark"] else ""
        print(f"{label:<14}{_fmt(strat, pct):>12}{bench_txt:>12}")
