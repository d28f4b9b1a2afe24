"""The quantstats HTML tear sheet, made safe for offline use and pandas 3.

quantstats quirks this module works around (quantstats 0.0.86, pandas 3):
  - a benchmark given as a ticker string is downloaded (offline: silently empty): we only
    ever pass a Series;
  - a benchmark whose index differs from the strategy's is re-sampled through a *daily*
    calendar, which turns intraday benchmark bars into zeros: we pass both on one index;
  - a tz-aware index fails ("Cannot compare dtypes datetime64[us, UTC] and datetime64[us]"),
    and a non-string series name fails (`.upper()` on it): we pass naive indexes, str names;
  - constant strategy returns (a model that never traded) crash its benchmark regression
    ("Cannot calculate a linear regression if all x values are identical"): we then render
    without the benchmark comparison and name the benchmark in the header instead;
  - `match_dates=True` starts the report at the first non-zero return, hiding the time spent
    flat before the first trade; we keep the whole backtest so it matches metrics.json;
  - the title is pasted into the HTML unescaped: we escape it;
  - `periods_per_year` must be an int (it sizes rolling windows).
"""

from __future__ import annotations

import html
import logging
import re
import warnings
from os import PathLike
from pathlib import Path

import matplotlib
import pandas as pd

from bt_attention_lstm.reports.analyzers import to_naive_index
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.quantstats_import import QUANTSTATS_RC, qs

# quantstats asks for Arial, absent on most Linux machines: one "findfont" line per chart.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

logger = logging.getLogger(__name__)


def write_tearsheet(
    path: str | PathLike[str],
    strategy_returns: pd.Series,
    benchmark_returns: pd.Series,
    periods_per_year: float,
    title: str,
    *,
    strategy_name: str = "Strategy",
    benchmark_name: str | None = None,
) -> None:
    """Write the quantstats HTML tear sheet of per-bar strategy returns against a benchmark.

    `benchmark_returns` is a returns Series on the same bars (never a ticker string);
    `benchmark_name` defaults to its name when that is a non-empty str, else "Benchmark".
    """
    if not isinstance(benchmark_returns, pd.Series):
        raise TypeError("benchmark_returns must be a returns Series (tickers are never fetched)")
    if benchmark_name is None:
        name = benchmark_returns.name
        benchmark_name = name if isinstance(name, str) and name else "Benchmark"
    ppy = int(round(periods_per_year))
    if ppy < 1:
        raise ReportError(f"periods_per_year must be >= 1, got {periods_per_year!r}")
    strategy, benchmark = _aligned(strategy_returns, benchmark_returns)
    strategy.name, benchmark.name = strategy_name, benchmark_name

    options: dict[str, object] = {"benchmark": benchmark}
    if strategy.nunique() < 2:
        logger.warning("strategy returns are constant: tear sheet has no benchmark comparison")
        options = {"parameters": {"Benchmark (not compared, constant strategy)": benchmark_name}}

    # quantstats and matplotlib emit dozens of deprecation warnings per report: keep them
    # out of the user's terminal but available in debug logs.
    # quantstats' own style for its figures, without leaving it in the user's rcParams.
    with warnings.catch_warnings(record=True) as caught, matplotlib.rc_context(QUANTSTATS_RC):
        warnings.simplefilter("always")
        qs.reports.html(
            strategy,
            output=str(path),
            title=html.escape(title, quote=False),
            periods_per_year=ppy,
            rf=0.0,
            match_dates=False,
            strategy_title=strategy_name,
            benchmark_title=benchmark_name,
            **options,
        )
    for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
        logger.debug("quantstats: %s", message)
    _strip_external_resources(Path(path))
    logger.debug("tear sheet written to %s", path)


# Tags that make a browser fetch something when the page opens (links to click are left alone).
_EXTERNAL_LOAD = re.compile(
    r"<(?:link|script|img|iframe)\b[^>]*?(?:href|src)\s*=\s*[\"']?(?:https?:)?//[^>]*>"
    r"(?:\s*</script>)?",
    re.IGNORECASE,
)


def _strip_external_resources(path: Path) -> None:
    """quantstats' template links a favicon on a web server: a report opened offline, or on a
    machine that must not call out, loads nothing from outside."""
    text = path.read_text(encoding="utf-8")
    cleaned, removed = _EXTERNAL_LOAD.subn("", text)
    if removed:
        path.write_text(cleaned, encoding="utf-8")
        logger.debug("tear sheet: %d external resource tag(s) removed", removed)


def _aligned(strategy: pd.Series, benchmark: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Both series as float64 on their common naive index, without gaps or index metadata."""
    s = to_naive_index(strategy.astype(float)).rename("s")
    b = to_naive_index(benchmark.astype(float)).rename("b")
    if s.index.has_duplicates or b.index.has_duplicates:
        raise ReportError("returns have duplicate timestamps")
    frame = pd.concat([s, b], axis=1, join="inner").dropna()
    if len(frame) < 2:
        raise ReportError("the tear sheet needs at least two bars common to strategy and benchmark")
    dropped = max(len(strategy), len(benchmark)) - len(frame)
    if dropped:
        logger.warning("tear sheet: %d bars not shared by strategy and benchmark dropped", dropped)
    frame.index = pd.DatetimeIndex(frame.index.to_numpy(), name=None)
    return frame["s"].copy(), frame["b"].copy()
