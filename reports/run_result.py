"""What a finished AttentionLSTMStrategy run produced, as pandas: the one derivation every report
starts from (``runners.research.cerebro.run_cerebro``, the paper session and
``report_from_strategy`` all call ``derive_run``).

The strategy is read duck-typed, so this module imports neither strategies nor torch: it uses
``equity_times`` and ``equity_values`` (portfolio value per bar, backtrader float datetimes),
``trade_rows()``, ``exposure``, ``trade_datas`` (else ``datas``), ``signals`` (feed -> signal
line with ``confidence``), ``base_rate``, ``broker`` and, when the Cerebro had one, a DrawDown
analyzer named "drawdown".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.reports.errors import ReportError

_DAY = pd.Timedelta(days=1)

# The columns of a trade row (the strategy's TradeRecord), for a run without trades.
TRADE_COLUMNS: tuple[str, ...] = (
    "data", "side", "size", "entry_time", "entry_price", "exit_time", "exit_price", "pnl",
    "pnl_pct", "bars_held", "exit_reason", "commission",
)


@dataclass(frozen=True)
class RunSeries:
    """Per-bar series from the first traded bar on, the trades, and the run's figures."""

    returns: pd.DataFrame  # columns strategy, benchmark (simple returns per bar)
    equity: pd.Series  # portfolio value per traded bar
    trades: pd.DataFrame
    confidence: pd.Series  # the first traded feed's model confidence
    edge: pd.Series  # confidence beyond the model's base rate: what the strategy traded
    price: pd.Series  # the first traded feed's close
    exposure: float
    final_value: float
    max_drawdown: float  # as backtrader's DrawDown: a fraction <= 0, the starting cash a peak
    n_orders: int
    open_orders: int


def derive_run(
    strategy: Any, start: pd.Timestamp | None = None, cash: float | None = None
) -> RunSeries:
    """The RunSeries of a finished run. Returns start at ``start`` (default: the strategy's
    ``trade_start`` param, else its first bar); the value before it is the base of the first
    return (``cash``, default the broker's starting cash, when nothing came before). The
    benchmark is buy and hold of the traded feeds, equal weight."""
    check_finished(strategy)
    datas = list(getattr(strategy, "trade_datas", None) or strategy.datas)
    first = datas[0]
    bars = bar_index(first.datetime.get(size=len(first)))
    starting_cash = float(strategy.broker.startingcash) if cash is None else float(cash)
    equity_all = _equity(strategy.equity_times, strategy.equity_values, bars)
    start = _start(strategy, equity_all.index) if start is None else _at_bars(start, bars)
    before = equity_all[equity_all.index < start]
    base = float(before.iloc[-1]) if len(before) else starting_cash
    equity = equity_all[equity_all.index >= start]
    if len(equity) < 2:
        raise ReportError(f"fewer than two bars from {start} on: nothing to report")
    strategy_returns = equity.pct_change()
    strategy_returns.iloc[0] = equity.iloc[0] / base - 1.0
    returns = pd.DataFrame(
        {"strategy": strategy_returns, "benchmark": _benchmark(datas, equity.index)}
    )
    returns.index.name = "datetime"
    rows = strategy.trade_rows()
    trades = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(TRADE_COLUMNS))
    close = _series(first.close.get(size=len(first)), bars)
    confidence = _series(strategy.signals[first].confidence.get(size=len(first)), bars)
    orders = strategy.broker.orders
    return RunSeries(
        returns=returns,
        equity=equity,
        trades=trades,
        confidence=confidence.reindex(equity.index),
        edge=(confidence - strategy.base_rate).reindex(equity.index),
        price=close.reindex(equity.index),
        exposure=float(strategy.exposure),
        final_value=float(strategy.broker.getvalue()),
        max_drawdown=_max_drawdown(strategy, equity_all, starting_cash),
        n_orders=len(orders),
        open_orders=sum(1 for o in orders if o.alive()),
    )


def check_finished(strategy: Any) -> None:
    """ReportError unless ``strategy`` is a finished AttentionLSTMStrategy run."""
    for attr in ("equity_times", "equity_values", "trade_rows", "signals", "artifact"):
        if not hasattr(strategy, attr):
            raise ReportError(
                f"a report needs a finished AttentionLSTMStrategy (no {attr!r}); "
                "pass the strategy returned by cerebro.run()"
            )
    if len(strategy.equity_values) < 2:
        raise ReportError("the strategy saw fewer than two bars: run the Cerebro first")


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


def _daily(bars: pd.DatetimeIndex) -> bool:
    return len(bars) > 1 and bool(bars.equals(bars.normalize()))


def _equity(times: Any, values: Any, bars: pd.DatetimeIndex) -> pd.Series:
    from backtrader import num2date

    stamps = pd.DatetimeIndex([num2date(t) for t in times]).as_unit("ns")
    stamps = stamps.normalize() if _daily(bars) else stamps.round("s")
    equity = pd.Series(np.asarray(values, dtype=float), index=stamps)
    # One value per bar (a replayed feed repeats a bar as it forms): keep the last.
    return equity[~equity.index.duplicated(keep="last")]


def _at_bars(start: Any, bars: pd.DatetimeIndex) -> pd.Timestamp:
    stamp = pd.Timestamp(start)
    return stamp.normalize() if _daily(bars) else stamp


def _start(strategy: Any, index: pd.DatetimeIndex) -> pd.Timestamp:
    trade_start = getattr(strategy.p, "trade_start", None)
    if trade_start is None:
        return index[0]
    return _at_bars(trade_start, index)


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


def _max_drawdown(strategy: Any, equity: pd.Series, cash: float) -> float:
    """backtrader's DrawDown analyzer when the Cerebro had one named "drawdown", else the same
    figure from the equity: the largest fall from a peak (the starting cash included), <= 0."""
    analyzers = getattr(strategy, "analyzers", None)
    drawdown = getattr(analyzers, "drawdown", None) if analyzers is not None else None
    if drawdown is not None:
        return -float(drawdown.get_analysis().max.drawdown) / 100.0
    values = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(np.maximum(values, cash if math.isfinite(cash) else values[0]))
    return float(np.min(values / peak - 1.0))
