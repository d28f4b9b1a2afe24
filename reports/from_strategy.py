"""The backtest report from a user's own Cerebro run, in one call.

    strategy = cerebro.run()[0]
    report_from_strategy(strategy, new_run_dir())  # or a folder of your choice

writes what ``runners/backtest.py`` writes (tearsheet.html, metrics.json, returns.csv,
trades.csv, chart.png; atomically), from a finished ``AttentionLSTMStrategy``. The strategy is
read duck-typed, so this module imports neither backtrader's strategies nor torch: it uses
``equity_times`` and ``equity_values`` (portfolio value per bar), ``trade_rows()``,
``exposure``, ``trade_datas``, ``signals``, ``base_rate`` (the chart shows the edge beyond
it), ``threshold`` (the effective entry threshold), ``artifact``, ``broker`` and the param
``trade_start``.
"""

from __future__ import annotations

import logging
import math
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
from bt_attention_lstm.reports.backtest_metrics import backtest_metrics
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.writer import TRADE_COLUMNS, write_backtest_report

logger = logging.getLogger(__name__)

_DAY = pd.Timedelta(days=1)


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
    traded feed. ``periods_per_year`` (bars per year) is inferred from the bars unless given.
    ``out_dir``
    must not exist or be empty. A backtest overlapping the model's training range is marked
    ``"in_sample": true`` and logged as a WARNING, as in ``backtest.py``.
    """
    _check_finished(strategy)
    datas = list(getattr(strategy, "trade_datas", None) or strategy.datas)
    first = datas[0]
    bars = bar_index(first.datetime.get(size=len(first)))
    equity_all = _equity(strategy.equity_times, strategy.equity_values, bars)
    start = _start(strategy, equity_all.index)
    before = equity_all[equity_all.index < start]
    base = float(before.iloc[-1]) if len(before) else float(strategy.broker.startingcash)
    equity = equity_all[equity_all.index >= start]
    if len(equity) < 2:
        raise ReportError(f"fewer than two bars from {start} on: nothing to report")
    strategy_returns = equity.pct_change()
    strategy_returns.iloc[0] = equity.iloc[0] / base - 1.0
    benchmark = _benchmark(datas, equity.index)
    returns = pd.DataFrame({"strategy": strategy_returns, "benchmark": benchmark})
    returns.index.name = "datetime"
    rows = strategy.trade_rows()
    trades = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(TRADE_COLUMNS))
    periods_per_year = float(periods_per_year) if periods_per_year else infer_periods_per_year(bars)
    artifact = strategy.artifact
    metrics = backtest_metrics(
        returns,
        trades,
        strategy.exposure,
        periods_per_year,
        infer_timeframe(bars),
        artifact,
        final_value=float(strategy.broker.getvalue()),
        max_drawdown=_max_drawdown(equity_all, float(strategy.broker.startingcash)),
        open_orders=sum(1 for o in strategy.broker.orders if o.alive()),
    )
    if metrics["in_sample"]:
        logger.warning(
            "the backtest range overlaps the model's training range (%s .. %s): these results "
            "are IN-SAMPLE and overstate what the model can do",
            *artifact.trained_range,
        )
    names = ", ".join(d._name or f"data{i}" for i, d in enumerate(datas))
    title = title or (
        f"AttentionLSTM on {names} {metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    close = _series(first.close.get(size=len(first)), bars)
    confidence = _series(strategy.signals[first].confidence.get(size=len(first)), bars)
    edge = confidence - strategy.base_rate  # what the strategy traded
    return write_backtest_report(
        out_dir,
        returns=returns,
        trades=trades,
        metrics=metrics,
        price=close.reindex(equity.index),
        edge=edge.reindex(equity.index),
        threshold=float(strategy.threshold),  # the effective one (the param may be None)
        periods_per_year=periods_per_year,
        title=title,
        html=html,
    )


def bar_index(stamps: Any) -> pd.DatetimeIndex:
    """backtrader's float datetimes as bar timestamps: daily and coarser bars at midnight
    (backtrader stamps them at the session end, 23:59:59.999989), intraday to the second."""
    from backtrader import num2date  # here: keeps `import bt_attention_lstm.reports` light

    index = pd.DatetimeIndex([num2date(x) for x in stamps]).as_unit("ns")
    if len(index) > 1 and pd.Series(index).diff().median() >= _DAY * 0.75:
        return index.normalize()
    return index.round("s")


def _series(values: Any, index: pd.DatetimeIndex) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=index)


def _check_finished(strategy: Any) -> None:
    for attr in ("equity_times", "equity_values", "trade_rows", "signals", "artifact"):
        if not hasattr(strategy, attr):
            raise ReportError(
                f"report_from_strategy needs a finished AttentionLSTMStrategy (no {attr!r}); "
                "pass the strategy returned by cerebro.run()"
            )
    if len(strategy.equity_values) < 2:
        raise ReportError("the strategy saw fewer than two bars: run the Cerebro first")


def _equity(times: Any, values: Any, bars: pd.DatetimeIndex) -> pd.Series:
    from backtrader import num2date

    stamps = pd.DatetimeIndex([num2date(t) for t in times]).as_unit("ns")
    daily = len(bars) > 1 and bars.equals(bars.normalize())
    stamps = stamps.normalize() if daily else stamps.round("s")
    equity = pd.Series(np.asarray(values, dtype=float), index=stamps)
    # One value per bar (a replayed feed repeats a bar as it forms): keep the last.
    return equity[~equity.index.duplicated(keep="last")]


def _start(strategy: Any, index: pd.DatetimeIndex) -> pd.Timestamp:
    trade_start = getattr(strategy.p, "trade_start", None)
    if trade_start is None:
        return index[0]
    start = pd.Timestamp(trade_start)
    return start.normalize() if index.equals(index.normalize()) else start


def _benchmark(datas: list[Any], index: pd.DatetimeIndex) -> pd.Series:
    """Buy and hold of each traded feed, equal weight, on the report's bars (first bar 0)."""
    parts = []
    for data in datas:
        n = len(data)
        close = _series(data.close.get(size=n), bar_index(data.datetime.get(size=n)))
        parts.append(close.pct_change().reindex(index))
    benchmark = pd.concat(parts, axis=1).mean(axis=1, skipna=True).fillna(0.0)
    benchmark.iloc[0] = 0.0
    return benchmark.rename("benchmark")


def _max_drawdown(equity: pd.Series, cash: float) -> float:
    """Largest fall from a peak (the starting cash included), as backtrader's DrawDown: <= 0."""
    values = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(np.maximum(values, cash if math.isfinite(cash) else values[0]))
    return float(np.min(values / peak - 1.0))
