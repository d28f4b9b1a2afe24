"""The backtest chart: price with trades, the model's edge, equity, drawdown."""

from __future__ import annotations

import logging
from os import PathLike
from typing import SupportsFloat

import matplotlib
import matplotlib.dates as mdates
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bt_attention_lstm.reports.errors import ReportError

logger = logging.getLogger(__name__)

TRADE_COLUMNS: tuple[str, ...] = ("entry_time", "exit_time", "side", "entry_price", "exit_price")
DPI = 110


def plot_backtest(
    path: str | PathLike[str],
    price: pd.Series,
    trades: pd.DataFrame,
    edge: pd.Series,
    threshold: float,
    equity: pd.Series,
    benchmark_equity: pd.Series,
    title: str,
) -> None:
    """Write a PNG of four stacked panels sharing the time axis.

    1. price, with entries (^ green long, v red short) and exits (x) at the times of `trades`
       (columns entry_time, exit_time, side, entry_price, exit_price), on the price line;
    2. the model's edge (p_up - p_down beyond its base rate, what the strategy trades) with
       the +/- `threshold` entry lines;
    3. `equity` and `benchmark_equity` as growth of 1 (e.g. ``(1 + returns).cumprod()``);
    4. the strategy's drawdown, measured from a peak that includes the starting 1.0, like
       quantstats' max_drawdown, so the panel's trough equals metrics.json's max_drawdown.
    """
    _check_inputs(price, trades, edge, equity, benchmark_equity)
    # Importing quantstats restyles matplotlib globally (Arial first, seaborn rcParams):
    # draw with the defaults so the chart is the same whatever was imported before.
    with matplotlib.style.context("default"):
        # Figure without pyplot: nothing global to leak or close, safe in threads.
        fig = Figure(figsize=(12, 10), layout="constrained")
        axes = fig.subplots(4, 1, sharex=True, height_ratios=[3.0, 1.2, 2.0, 1.2])
        price_panel(axes[0], price, trades)
        edge_panel(axes[1], edge, threshold)
        _equity_panel(axes[2], equity, benchmark_equity)
        _drawdown_panel(axes[3], equity)
        concise_dates(axes[3])
        fig.suptitle(title)
        fig.savefig(path, dpi=DPI, format="png")
    logger.debug("chart written to %s", path)


def concise_dates(ax: Axes) -> None:
    """Date ticks that read right on any bar size: years over a long daily run, days and
    hours over an intraday one (matplotlib's default repeats the year on every tick)."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def price_at(price: pd.Series, times: pd.Series) -> np.ndarray:
    """The plotted price at (or last before) each of ``times``. A trade's entry and exit prices
    in trades.csv are averages over the fills that built and reduced it (what its PnL needs),
    which can lie far from the price on the day it began or ended: the markers mark when."""
    when = pd.DatetimeIndex(pd.to_datetime(times))
    zone = getattr(price.index, "tz", None)
    if zone is not None and when.tz is None:
        when = when.tz_localize(zone)  # backtrader's times are naive
    elif zone is None and when.tz is not None:
        when = when.tz_convert(None)
    return price.astype(float).asof(when).to_numpy()


def price_panel(ax: Axes, price: pd.Series, trades: pd.DataFrame) -> None:
    """Price, with entries (^ long, v short) and exits (x) from ``trades``."""
    ax.plot(price.index, price.to_numpy(dtype=float), color="black", linewidth=0.8, label="price")
    if len(trades):
        long = trades["side"].map(_is_long).to_numpy(dtype=bool)
        entries = [
            (long, "^", "tab:green", "long entry"),
            (~long, "v", "tab:red", "short entry"),
        ]
        for mask, marker, color, label in entries:
            if mask.any():
                rows = trades[mask]
                ax.scatter(
                    pd.to_datetime(rows["entry_time"]),
                    price_at(price, rows["entry_time"]),
                    marker=marker,
                    color=color,
                    s=50,
                    zorder=3,
                    label=label,
                )
        closed = trades[trades["exit_time"].notna()]  # an open trade has no exit yet
        if len(closed):
            ax.scatter(
                pd.to_datetime(closed["exit_time"]),
                price_at(price, closed["exit_time"]),
                marker="x",
                color="tab:blue",
                s=40,
                zorder=3,
                label="exit",
            )
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)


def edge_panel(ax: Axes, edge: pd.Series, threshold: float, label: str = "edge") -> None:
    """The model's signal with the +/- ``threshold`` entry lines."""
    ax.plot(edge.index, edge.to_numpy(dtype=float), color="tab:purple", linewidth=0.8)
    for level in (threshold, -threshold):
        ax.axhline(level, color="gray", linestyle="--", linewidth=0.8)
    ax.axhline(0.0, color="black", linewidth=0.5)
    values = edge.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    # p_up - p_down is in [-1, 1]; a base rate of b moves the edge to [-1 - b, 1 - b]
    low = min(-1.05, float(finite.min()) - 0.05) if finite.size else -1.05
    high = max(1.05, float(finite.max()) + 0.05) if finite.size else 1.05
    ax.set_ylim(low, high)
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)


def _equity_panel(ax: Axes, equity: pd.Series, benchmark_equity: pd.Series) -> None:
    ax.plot(equity.index, equity.to_numpy(dtype=float), color="tab:green", label="strategy")
    ax.plot(
        benchmark_equity.index,
        benchmark_equity.to_numpy(dtype=float),
        color="gray",
        label="buy and hold",
    )
    ax.axhline(1.0, color="black", linewidth=0.5)
    ax.set_ylabel("growth of 1")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)


def _drawdown_panel(ax: Axes, equity: pd.Series) -> None:
    values = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(np.maximum(values, 1.0))
    drawdown = values / peak - 1.0
    ax.fill_between(equity.index, drawdown, 0.0, color="tab:red", alpha=0.35, linewidth=0)
    ax.set_ylabel("drawdown")
    ax.grid(alpha=0.3)


def _is_long(side: str | SupportsFloat) -> bool:
    """A trade's side as a word ("long", "buy", ...) or a signed size."""
    if isinstance(side, str):
        return side.strip().lower() in {"long", "buy"}
    return float(side) > 0


def _check_inputs(
    price: pd.Series,
    trades: pd.DataFrame,
    edge: pd.Series,
    equity: pd.Series,
    benchmark_equity: pd.Series,
) -> None:
    for name, series in (
        ("price", price),
        ("edge", edge),
        ("equity", equity),
        ("benchmark_equity", benchmark_equity),
    ):
        if not isinstance(series, pd.Series):
            raise TypeError(f"{name} must be a pandas Series, got {type(series).__name__}")
    if not isinstance(trades, pd.DataFrame):
        raise TypeError(f"trades must be a pandas DataFrame, got {type(trades).__name__}")
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if len(trades) and missing:
        raise ReportError(f"trades lacks column(s) {missing}")
