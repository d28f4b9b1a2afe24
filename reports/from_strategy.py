"""The backtest report from a user's own Cerebro run, in one call.

    strategy = cerebro.run()[0]
    report_from_strategy(strategy, new_run_dir())  # or a folder of your choice

writes what ``runners/backtest.py`` writes (tearsheet.html, metrics.json, returns.csv,
trades.csv, chart.png; atomically), from a finished ``AttentionLSTMStrategy``. The strategy is
read duck-typed (``reports.run_result``), so this module imports neither backtrader's
strategies nor torch; beside what ``derive_run`` reads it uses ``threshold`` (the effective
entry threshold) and ``artifact``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
from bt_attention_lstm.reports.backtest_metrics import backtest_metrics, warn_if_in_sample
from bt_attention_lstm.reports.run_result import bar_index, derive_run
from bt_attention_lstm.reports.writer import write_backtest_report

__all__ = ["bar_index", "report_from_strategy"]


def report_from_strategy(
    strategy: Any,
    out_dir: str | PathLike[str],
    *,
    html: bool = True,
    title: str | None = None,
    periods_per_year: float | None = None,
) -> Path:
    """Write the report of a finished ``AttentionLSTMStrategy`` run to ``out_dir``.

    Returns start at the strategy's ``trade_start`` (or its first bar); the benchmark is buy
    and hold of the traded feed (an equal-weight mix with several); the chart shows the first
    traded feed (``reports.run_result.derive_run``). ``periods_per_year`` (bars per year) is
    inferred from the bars unless given. ``out_dir`` must not exist or be empty. A backtest
    overlapping the model's training range is marked ``"in_sample": true`` and logged as a
    WARNING, as in ``run_backtest``.
    """
    run = derive_run(strategy)
    datas = list(getattr(strategy, "trade_datas", None) or strategy.datas)
    first = datas[0]
    bars = bar_index(first.datetime.get(size=len(first)))
    periods_per_year = float(periods_per_year) if periods_per_year else infer_periods_per_year(bars)
    artifact = strategy.artifact
    metrics = backtest_metrics(
        run.returns,
        run.trades,
        run.exposure,
        periods_per_year,
        infer_timeframe(bars),
        artifact,
        final_value=run.final_value,
        max_drawdown=run.max_drawdown,
        open_orders=run.open_orders,
    )
    warn_if_in_sample(metrics, artifact)
    names = ", ".join(d._name or f"data{i}" for i, d in enumerate(datas))
    title = title or (
        f"AttentionLSTM on {names} {metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    return write_backtest_report(
        out_dir,
        returns=run.returns,
        trades=run.trades,
        metrics=metrics,
        price=run.price,
        edge=run.edge,
        threshold=float(strategy.threshold),  # the effective one (the param may be None)
        periods_per_year=periods_per_year,
        title=title,
        html=html,
    )
