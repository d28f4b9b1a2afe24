"""Reporting layer: backtest returns and trades (pandas) -> metrics, chart, tear sheet, files.

A leaf library: it takes pandas objects and imports none of strategies, indicators or models.
"""

from bt_attention_lstm.reports.analyzers import (
    buy_and_hold_returns,
    returns_from_timereturn,
    to_naive_index,
)
from bt_attention_lstm.reports.chart import plot_backtest
from bt_attention_lstm.reports.errors import ReportError, ReportExistsError
from bt_attention_lstm.reports.jsonsafe import dumps_strict, to_jsonable
from bt_attention_lstm.reports.metrics import Metrics, compute_metrics
from bt_attention_lstm.reports.stats import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)
from bt_attention_lstm.reports.tearsheet import write_tearsheet
from bt_attention_lstm.reports.writer import new_run_dir, write_backtest_report

__all__ = [
    "Metrics",
    "ReportError",
    "ReportExistsError",
    "buy_and_hold_returns",
    "compute_metrics",
    "deflated_sharpe_ratio",
    "dumps_strict",
    "expected_max_sharpe",
    "new_run_dir",
    "plot_backtest",
    "probabilistic_sharpe_ratio",
    "returns_from_timereturn",
    "to_jsonable",
    "to_naive_index",
    "write_backtest_report",
    "write_tearsheet",
]
