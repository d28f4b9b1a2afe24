"""Figures drawn for the tear sheet in place of quantstats' own, and the HTML that embeds them.

Three quantstats 0.0.86 figures are wrong on pandas 3 / for a backtest, so these replace them:
  - "EOY Returns": pandas 3 draws the bars of a year-end series at period ordinals while
    quantstats labels the ticks by position, so every bar carries the next year's label and
    the last bar none. Here: one bar group per calendar year, labelled with its year, partial
    first and last years marked.
  - "Monthly Returns (%)": months before the first bar and after the last read 0.00, as if
    the strategy had been flat there. Here: those cells are left blank.
  - "Worst 5 Drawdown Periods": quantstats shades the five *longest* drawdowns under that
    title, not the five deepest its "Worst 10 Drawdowns" table lists. Here: the five deepest.

Every figure is a ``matplotlib.figure.Figure`` built without pyplot (nothing global, safe in
threads) in matplotlib's default style and bundled DejaVu font, so labels never depend on the
fonts of the machine that opens the report; ``figure_img`` embeds it as a base64 PNG.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bt_attention_lstm.reports.chart import concise_dates
from bt_attention_lstm.reports.quantstats_import import qs

DPI = 110
STRATEGY_COLOR = "#348dc1"  # quantstats' colours, so replaced figures match the others
BENCHMARK_COLOR = "#fedd78"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def styled(build: Callable[..., Figure], *args: object, **kwargs: object) -> Figure:
    """Call ``build`` in matplotlib's default style (quantstats restyles matplotlib on import)."""
    with matplotlib.style.context("default"):
        return build(*args, **kwargs)


def figure_img(fig: Figure, alt: str, css_class: str = "bt-figure") -> str:
    """``fig`` as an ``<img>`` holding a base64 PNG: the page needs no file and no request."""
    buffer = io.BytesIO()
    with matplotlib.style.context("default"):
        fig.savefig(buffer, format="png", dpi=DPI)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img class="{css_class}" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )


def replace_figure(page: str, div_id: str, content: str) -> str:
    """``page`` with the content of ``<div id="div_id">`` (quantstats' figure slot) replaced;
    unchanged when quantstats did not write that slot."""
    pattern = re.compile(rf'(<div id="{re.escape(div_id)}">)(.*?)(</div>)', re.DOTALL)
    return pattern.sub(lambda m: m.group(1) + content + m.group(3), page, count=1)


def percent_axis(ax: Axes, decimals: int = 0) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.{decimals}f}%"))


def compounded(returns: pd.Series) -> float:
    return float(np.prod(1.0 + returns.to_numpy(dtype=float)) - 1.0)


def year_labels(index: pd.DatetimeIndex) -> list[str]:
    """One label per calendar year of ``index``; a year the bars only partly cover says so."""
    years = sorted(set(index.year))
    first, last = index[0], index[-1]
    labels = []
    for year in years:
        label = str(year)
        if year == first.year and first > pd.Timestamp(year=year, month=1, day=7):
            label += f"\nfrom {first:%d %b}"
        if year == last.year and last < pd.Timestamp(year=year, month=12, day=24):
            label += f"\nto {last:%d %b}"
        labels.append(label)
    return labels


def eoy_figure(
    strategy: pd.Series,
    benchmark: pd.Series | None,
    strategy_name: str,
    benchmark_name: str,
) -> Figure:
    """Compounded return of every calendar year, benchmark beside strategy, ticks = years."""
    years = sorted(set(strategy.index.year))
    series = [(benchmark, benchmark_name, BENCHMARK_COLOR)] if benchmark is not None else []
    series.append((strategy, strategy_name, STRATEGY_COLOR))
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(years))
    width = 0.8 / len(series)
    for i, (returns, name, color) in enumerate(series):
        by_year = returns.groupby(returns.index.year).apply(compounded).reindex(years)
        offset = (i - (len(series) - 1) / 2) * width
        ax.bar(x + offset, by_year.to_numpy(dtype=float), width, color=color, label=name)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x, year_labels(strategy.index))
    percent_axis(ax)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    title = "EOY Returns" + (" vs Benchmark" if benchmark is not None else "")
    ax.set_title(title, fontweight="bold")
    return fig


def monthly_heatmap_figure(returns: pd.Series, name: str) -> Figure:
    """Compounded return of every month with bars, in %; months without bars left blank."""
    grouped = returns.groupby([returns.index.year, returns.index.month]).apply(compounded)
    years = sorted(set(returns.index.year))
    table = np.full((len(years), 12), np.nan)
    for (year, month), value in grouped.items():
        table[years.index(year), month - 1] = value * 100.0
    fig = Figure(figsize=(8, max(2.2, 0.42 * len(years) + 1.3)), layout="constrained")
    ax = fig.subplots()
    finite = table[np.isfinite(table)]
    bound = max(float(np.max(np.abs(finite))) if finite.size else 0.0, 1e-9)
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="white")
    ax.imshow(
        np.ma.masked_invalid(table),
        cmap=cmap,
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound),
        aspect="auto",
    )
    for (row, col), value in np.ndenumerate(table):
        if np.isfinite(value):
            dark = abs(value) > 0.7 * bound  # the ends of RdYlGn: white text reads there
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(np.arange(12), MONTHS)
    ax.set_yticks(np.arange(len(years)), [str(y) for y in years])
    ax.tick_params(length=0)
    ax.set_title(f"{name} - Monthly Returns (%)", fontweight="bold")
    ax.set_xlabel("blank: no bar in that month", fontsize="small", color="gray")
    return fig


def worst_drawdowns_figure(returns: pd.Series, name: str, periods: int = 5) -> Figure:
    """Cumulative return with the ``periods`` deepest drawdowns shaded, as the table lists."""
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    values = returns.to_numpy(dtype=float)
    ax.plot(returns.index, np.cumprod(1.0 + values) - 1.0, color=STRATEGY_COLOR, linewidth=1.2)
    ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(returns))
    worst = (
        details.sort_values(by="max drawdown").head(periods)
        if details is not None and len(details)
        else None
    )
    if worst is None:
        ax.text(0.5, 0.5, "no drawdown", transform=ax.transAxes, ha="center", color="gray")
    else:
        for start, end in zip(worst["start"], worst["end"], strict=False):
            ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="red", alpha=0.1)
    concise_dates(ax)
    percent_axis(ax)
    ax.grid(alpha=0.3)
    ax.set_title(f"{name} - Worst {periods} Drawdown Periods", fontweight="bold")
    return fig
