"""Reporting layer: backtest returns and trades (pandas) -> metrics, chart, tear sheet, files.

It takes pandas objects and imports neither strategies nor indicators, nor torch: from models
only the torch-free helpers (``lazy_exports``, ``timefmt``, ``data`` for bar frequencies).
``report_from_strategy`` reads a finished strategy duck-typed. Names are exported lazily.
"""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "buy_and_hold_returns": "analyzers",
    "returns_from_timereturn": "analyzers",
    "to_naive_index": "analyzers",
    "plot_backtest": "chart",
    "ReportError": "errors",
    "ReportExistsError": "errors",
    "dumps_strict": "jsonsafe",
    "to_jsonable": "jsonsafe",
    "Metrics": "metrics",
    "compute_metrics": "metrics",
    "deflated_sharpe_ratio": "stats",
    "expected_max_sharpe": "stats",
    "probabilistic_sharpe_ratio": "stats",
    "write_tearsheet": "tearsheet",
    "new_run_dir": "run_dir",
    "write_backtest_report": "writer",
    "report_from_strategy": "from_strategy",
    "RunSeries": "run_result",
    "derive_run": "run_result",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
