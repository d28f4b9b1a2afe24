"""Backtest result -> metrics.json content, report files and the terminal summary."""

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
    shorts = "" if allow_short or low > -threshold else "; its short signals need --allow-short"
    return (f"no trades: the model's edge stayed within [{low:+.3f}, {high:+.3f}], never "
            f"reaching the entry threshold {threshold:g}{shorts}")


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


REPORT_FILES = ("tearsheet.html", "metrics.json", "returns.csv", "trades.csv", "chart.png")


def open_hint(path: Path, platform: str | None = None) -> str:
    """How to open a report file from the terminal (xdg-open, open or start) and its file://
    URL for a browser."""
    import sys

    target = path.absolute()
    name = platform or sys.platform
    opener = "open" if name == "darwin" else "start" if name.startswith("win") else "xdg-open"
    return f"{opener} {target}   (or {target.as_uri()} in a browser)"


def _sharpe(value: object) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def rules_line(rules: dict[str, Any]) -> str | None:
    """The model's Sharpe beside buy-and-hold and the best simple rule, all scored alike
    (metrics["rules"]["portfolio"]: vol-targeted positions after the same costs)."""
    scores = rules.get("portfolio", {}).get("scores", {})
    model, best = rules.get("model_name", "attention_lstm"), rules.get("best_rule")
    if model not in scores or not best or best not in scores:
        return None
    line = f"model {_sharpe(scores[model]['sharpe'])}"
    if "buy_and_hold" in scores:
        line += f", buy & hold {_sharpe(scores['buy_and_hold']['sharpe'])}"
    if best == "buy_and_hold":
        line += " (also the best simple rule)"
    else:
        line += f", best simple rule {best} {_sharpe(scores[best]['sharpe'])}"
    return f"{line}   (vol-targeted, after {rules.get('cost_bps', 0):g} bps)"


def final_summary(metrics: dict[str, Any], path: Path) -> list[str]:
    """The last lines of a run: trades and Sharpe beside buy-and-hold and the best simple rule,
    where the files are, and how to open the tear sheet."""
    strategy, bench = metrics["strategy"], metrics["benchmark"]
    lines = [
        "",
        f"summary: {strategy.get('n_trades', 0)} trades, Sharpe {_sharpe(strategy.get('sharpe'))}"
        f" as traded (buy & hold {_sharpe(bench.get('sharpe'))} on the same bars)"
        + (", IN-SAMPLE" if metrics.get("in_sample") else ", out of sample"),
    ]
    beside = rules_line(metrics["rules"]) if metrics.get("rules") else None
    if beside:
        lines.append(f"Sharpe beside the simple rules: {beside}")
    files = [name for name in REPORT_FILES if (path / name).is_file()]
    lines.append(f"files: {path.absolute()}  ({', '.join(files)})")
    if (path / "tearsheet.html").is_file():
        lines.append(f"open the tear sheet: {open_hint(path / 'tearsheet.html')}")
    elif (path / "chart.png").is_file():
        lines.append(f"no tear sheet (--no-html); the chart: {open_hint(path / 'chart.png')}")
    return lines
