"""Writes a backtest report directory atomically: all files appear at once, or none."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bt_attention_lstm.reports.chart import plot_backtest
from bt_attention_lstm.reports.errors import ReportError, ReportExistsError
from bt_attention_lstm.reports.jsonsafe import dumps_strict
from bt_attention_lstm.reports.plugin_pages import plugin_pages
from bt_attention_lstm.reports.tearsheet import write_tearsheet

if TYPE_CHECKING:
    from bt_attention_lstm.reports.rule_comparison import RuleComparison

logger = logging.getLogger(__name__)

TRADE_COLUMNS: tuple[str, ...] = (
    "entry_time",
    "exit_time",
    "side",
    "size",
    "entry_price",
    "exit_price",
    "pnl",
    "pnl_pct",
    "bars_held",
    "exit_reason",
)
RETURN_COLUMNS: tuple[str, ...] = ("strategy", "benchmark")


def write_backtest_report(
    out_dir: str | PathLike[str],
    *,
    returns: pd.DataFrame,
    trades: pd.DataFrame,
    metrics: Mapping[str, Any],
    price: pd.Series,
    edge: pd.Series,
    threshold: float,
    periods_per_year: float,
    title: str,
    html: bool = True,
    benchmark_name: str = "Buy and Hold",
    comparison: RuleComparison | None = None,
) -> Path:
    """Write tearsheet.html, metrics.json, returns.csv, trades.csv and chart.png to `out_dir`.

    The tear sheet ends with the plugin's pages (``reports.plugin_pages``): the model's
    position (`edge`) over `price` with the `trades` held, and, when `comparison` (the model
    beside the simple rules, ``reports.rule_comparison.compare_with_rules``) is given, the
    equity curves beside the rules and the cost sensitivity; without it those two pages say
    they were not computed.

    Everything is written into a hidden temporary sibling and renamed into place, so a failure
    leaves no partial report behind. `out_dir` must not exist, or be an empty directory.
    Returns the report directory.
    """
    target = Path(out_dir)
    _check_target(target)
    missing = [c for c in RETURN_COLUMNS if c not in returns.columns]
    if missing:
        raise ReportError(f"returns lacks column(s) {missing}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        (tmp / "metrics.json").write_text(dumps_strict(metrics), encoding="utf-8")
        _ordered(returns, RETURN_COLUMNS).to_csv(tmp / "returns.csv", index_label="datetime")
        _ordered(trades, TRADE_COLUMNS).to_csv(tmp / "trades.csv", index=False)
        plot_backtest(
            tmp / "chart.png",
            price=price,
            trades=trades,
            edge=edge,
            threshold=threshold,
            equity=(1.0 + returns["strategy"]).cumprod(),
            benchmark_equity=(1.0 + returns["benchmark"]).cumprod(),
            title=title,
        )
        if html:
            pages = plugin_pages(
                price=price,
                edge=edge,
                threshold=threshold,
                trades=trades,
                strategy_returns=returns["strategy"],
                comparison=comparison,
            )
            write_tearsheet(
                tmp / "tearsheet.html",
                returns["strategy"],
                returns["benchmark"],
                periods_per_year,
                title,
                benchmark_name=benchmark_name,
                n_trades=len(trades),
                pages=pages,
            )
        # mkdtemp makes it owner-only (0700); a report directory gets the usual 0755.
        os.chmod(tmp, 0o755)  # noqa: S103
        _check_target(target)  # it may have appeared while we were writing
        os.replace(tmp, target)  # atomic; also replaces an empty directory
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("report written to %s", target)
    return target


def _check_target(target: Path) -> None:
    if target.is_dir() and not any(target.iterdir()):
        return
    if target.exists():
        raise ReportExistsError(f"{target} already exists and is not an empty directory")


def _ordered(frame: pd.DataFrame, preferred: tuple[str, ...]) -> pd.DataFrame:
    """`frame` with the `preferred` columns it has first, in that order, then the others."""
    first = [c for c in preferred if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
