"""The plugin's own pages, appended to the quantstats tear sheet: where a picture beats a table.

1. The model's position over price: the price with the positions the backtest held (shaded
   long / short, entries and exits marked) above the model's signal and its entry threshold.
2. The equity curve beside the simple rules: growth of 1 of the model's vol-targeted position
   and of every rule (buy-and-hold, TSMOM, long-only TSMOM, MACD, SMA cross) on the same bars,
   with the same vol target and costs (``reports.rule_comparison``), and their scores.
3. The cost sensitivity: Sharpe of the model and of every rule at 0, 5, 10 and 20 bps per unit
   of weight traded, and where each one's edge is gone (break-even cost).

Pages 2 and 3 need a ``RuleComparison``; without one they say so instead of guessing a vol
target or a cost. Figures are base64 PNGs and tables plain HTML: the page loads nothing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bt_attention_lstm.reports.chart import concise_dates, edge_panel, price_panel
from bt_attention_lstm.reports.strategy_score import BPS, COST_LEVELS_BPS, StrategyScore
from bt_attention_lstm.reports.tearsheet_figures import figure_img, styled

if TYPE_CHECKING:
    from bt_attention_lstm.reports.rule_comparison import RuleComparison

PAGES_ID = "bt-lstm-pages"
MODEL_COLOR = "black"  # the rules take matplotlib's colour cycle
BACKTEST_COLOR = "gray"
_CSS = f"""
#{PAGES_ID}{{clear:both;padding-top:10px}}
#{PAGES_ID} section{{margin-bottom:40px}}
#{PAGES_ID} h2{{font-size:20px;margin:0 0 8px}}
#{PAGES_ID} p{{color:#333;max-width:900px}}
#{PAGES_ID} p.bt-verdict{{font-weight:700}}
#{PAGES_ID} table{{max-width:900px}}
"""


@dataclass(frozen=True)
class Page:
    """One section of the plugin's pages: an anchor id, a heading and its HTML body."""

    id: str
    title: str
    body: str


def plugin_pages(
    *,
    price: pd.Series,
    edge: pd.Series,
    threshold: float,
    trades: pd.DataFrame,
    strategy_returns: pd.Series,
    comparison: RuleComparison | None = None,
) -> list[Page]:
    """The three pages from what the report writer gets (see the module docstring)."""
    pages = [_position_page(price, edge, threshold, trades)]
    if comparison is None:
        why = (
            "n/a (no rule comparison was given to the report writer: pass comparison=, a "
            "RuleComparison from reports.rule_comparison.compare_with_rules)"
        )
        pages.append(Page("bt-rules", "Equity beside the simple rules", _p(why)))
        pages.append(Page("bt-costs", "Cost sensitivity", _p(why)))
    else:
        pages.append(_rules_page(comparison, strategy_returns))
        pages.append(_cost_page(comparison))
    return pages


def render_pages(pages: Sequence[Page]) -> str:
    """The pages as one ``<div>`` to append to the tear sheet's body, with its own styles."""
    if not pages:
        return ""
    links = " &bull; ".join(f'<a href="#{p.id}">{html.escape(p.title)}</a>' for p in pages)
    sections = "\n".join(
        f'<section id="{p.id}"><h2>{html.escape(p.title)}</h2>\n{p.body}\n</section>'
        for p in pages
    )
    return (
        f"<style>{_CSS}</style>\n"
        f'<div class="container" id="{PAGES_ID}">\n<hr>\n'
        f"<h1>The model's pages</h1>\n<h4>{links}</h4>\n<hr>\n{sections}\n</div>\n"
    )


# -- 1. position over price ---------------------------------------------------------------


def _position_page(
    price: pd.Series, edge: pd.Series, threshold: float, trades: pd.DataFrame
) -> Page:
    fig = styled(position_figure, price, edge, threshold, trades)
    n = len(trades)
    held = "no trade" if n == 0 else f"{n} trade{'s' if n != 1 else ''}"
    band = (
        f"with the entry threshold at ±{threshold:g}"
        if threshold > 0
        else "(no entry threshold: the strategy follows its sign and size)"
    )
    text = (
        f"Top: the price, shaded where the backtest held a position ({held}; green long, red "
        "short), entries and exits marked at their fill prices. Bottom: the model's signal, "
        f"the position it asks for before volatility targeting, {band}."
    )
    img = figure_img(fig, "the model's position over price")
    return Page("bt-position", "The model's position over price", _p(text) + img)


def position_figure(
    price: pd.Series, edge: pd.Series, threshold: float, trades: pd.DataFrame
) -> Figure:
    """Price with the held positions shaded over the model's signal, on one date axis."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1.0])
    price_panel(top, price, trades)
    _shade_held(top, trades, price.index)
    edge_panel(bottom, edge, threshold, label="model signal")
    concise_dates(bottom)
    return fig


def _shade_held(ax: Axes, trades: pd.DataFrame, index: pd.DatetimeIndex) -> None:
    """Shade each trade from entry to exit (to the last bar while still open)."""
    if len(trades) == 0 or len(index) == 0:
        return
    last = index[-1]
    for row in trades.itertuples(index=False):
        start = pd.Timestamp(row.entry_time)
        end = pd.Timestamp(row.exit_time) if pd.notna(row.exit_time) else last
        long = str(row.side).strip().lower() in {"long", "buy"} or (
            not isinstance(row.side, str) and float(row.side) > 0
        )
        ax.axvspan(start, end, color="tab:green" if long else "tab:red", alpha=0.08, lw=0)


# -- 2. equity beside the rules -----------------------------------------------------------


def _rules_page(comparison: RuleComparison, strategy_returns: pd.Series) -> Page:
    fig = styled(equity_vs_rules_figure, comparison.returns, comparison.model_name,
                 strategy_returns)
    table = comparison.portfolio
    text = (
        f"Growth of 1 of the model's position and of each simple rule on the same "
        f"{table.scores[0].n_bars} bars ({table.first:%Y-%m-%d} to {table.last:%Y-%m-%d}"
        f"{_symbols(comparison)}), each scaled to {comparison.vol_target.target_vol:.0%} "
        f"volatility a year (leverage at most {comparison.vol_target.max_leverage:g}), after "
        f"{comparison.cost / BPS:g} bps per unit of weight traded. The dashed gray line is "
        "this backtest's own equity (backtrader's fills and sizing) on those bars."
    )
    body = (
        f'<p class="bt-verdict">{html.escape(comparison.verdict)}</p>'
        + _p(text)
        + figure_img(fig, "growth of 1: the model beside the simple rules")
        + _scores_table(table.scores)
    )
    return Page("bt-rules", "Equity beside the simple rules", body)


def equity_vs_rules_figure(
    returns: pd.DataFrame, model_name: str, strategy_returns: pd.Series | None = None
) -> Figure:
    """Growth of 1 of every column of ``returns`` (the model bold), and of the backtest."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    for name in returns.columns:
        growth = np.cumprod(1.0 + returns[name].to_numpy(dtype=float))
        is_model = name == model_name
        ax.plot(
            returns.index,
            growth,
            label=name,
            linewidth=2.2 if is_model else 1.0,
            color=MODEL_COLOR if is_model else None,
            zorder=3 if is_model else 2,
        )
    if strategy_returns is not None and len(returns):
        own = strategy_returns[
            (strategy_returns.index >= returns.index[0])
            & (strategy_returns.index <= returns.index[-1])
        ]
        if len(own):
            ax.plot(own.index, np.cumprod(1.0 + own.to_numpy(dtype=float)), color=BACKTEST_COLOR,
                    linestyle="--", linewidth=1.0, label="this backtest")
    ax.axhline(1.0, color="gray", linewidth=0.6)
    ax.set_ylabel("growth of 1")
    ax.legend(loc="upper left", fontsize="small", ncols=2)
    ax.grid(alpha=0.3)
    concise_dates(ax)
    return fig


# -- 3. cost sensitivity ------------------------------------------------------------------


def _cost_page(comparison: RuleComparison) -> Page:
    scores = comparison.portfolio.scores
    fig = styled(cost_sensitivity_figure, scores, comparison.model_name)
    text = (
        "Annualised Sharpe ratio of the model and of each rule after a cost of 0, 5, 10 and "
        "20 bps per unit of weight traded (the more a strategy trades, the steeper its line), "
        "and the break-even cost at which its Sharpe reaches 0."
    )
    head = "".join(f"<th>Sharpe at {bps} bps</th>" for bps in COST_LEVELS_BPS)
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td>"
        + "".join(f"<td>{_num(s.sharpe_at_bps.get(b), '.2f')}</td>" for b in COST_LEVELS_BPS)
        + f"<td>{_num(s.turnover, '.1f')}</td>"
        + f"<td>{_num(s.break_even_bps, '.1f', none='n/a (no trades)')}</td></tr>"
        for s in scores
    )
    table = (
        f"<table><thead><tr><th>Strategy</th>{head}<th>Turnover / year</th>"
        f"<th>Break-even (bps)</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    body = _p(text) + figure_img(fig, "Sharpe ratio against trading cost") + table
    return Page("bt-costs", "Cost sensitivity", body)


def cost_sensitivity_figure(scores: Sequence[StrategyScore], model_name: str) -> Figure:
    """Sharpe against cost in bps, one line per strategy (the model bold)."""
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    for score in scores:
        is_model = score.name == model_name
        ax.plot(
            list(COST_LEVELS_BPS),
            [score.sharpe_at_bps.get(b, math.nan) for b in COST_LEVELS_BPS],
            marker="o",
            label=score.name,
            linewidth=2.2 if is_model else 1.0,
            color=MODEL_COLOR if is_model else None,
            zorder=3 if is_model else 2,
        )
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(list(COST_LEVELS_BPS))
    ax.set_xlabel("cost (bps per unit of weight traded)")
    ax.set_ylabel("Sharpe ratio (annualised)")
    ax.legend(fontsize="small", ncols=2)
    ax.grid(alpha=0.3)
    return fig


# -- shared -------------------------------------------------------------------------------


def _scores_table(scores: Sequence[StrategyScore]) -> str:
    head = (
        "<tr><th>Strategy</th><th>Sharpe</th><th>± SE</th><th>PSR (SR &gt; 0)</th>"
        "<th>Return / year</th><th>Volatility / year</th><th>Max drawdown</th>"
        "<th>Turnover / year</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(s.name)}</td><td>{_num(s.sharpe, '.2f')}</td>"
        f"<td>{_num(s.sharpe_se, '.2f')}</td><td>{_num(s.psr, '.3f')}</td>"
        f"<td>{_num(s.ann_return, '.2%')}</td><td>{_num(s.ann_vol, '.2%')}</td>"
        f"<td>{_num(s.max_drawdown, '.2%')}</td><td>{_num(s.turnover, '.1f')}</td></tr>"
        for s in scores
    )
    return f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"


def _num(value: float | None, fmt: str, none: str = "n/a (undefined)") -> str:
    if value is None or not math.isfinite(value):
        return none
    return format(value + 0.0, fmt)


def _symbols(comparison: RuleComparison) -> str:
    n = len(comparison.symbols)
    return f", equal-weight portfolio of {n} symbols" if n > 1 else ""


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


__all__ = [
    "PAGES_ID",
    "Page",
    "cost_sensitivity_figure",
    "equity_vs_rules_figure",
    "plugin_pages",
    "position_figure",
    "render_pages",
]
