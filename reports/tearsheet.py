"""The quantstats HTML tear sheet, made safe for offline use and pandas 3, and made readable:
every cell a number or "n/a (why)", labels every font draws, right dates on every axis, the
benchmark compared for any strategy, and the plugin's own pages appended.

quantstats quirks this module works around (quantstats 0.0.86, pandas 3):
  - a benchmark given as a ticker string is downloaded (offline: silently empty): we only
    ever pass a Series;
  - a benchmark whose index differs from the strategy's is re-sampled through a *daily*
    calendar, which turns intraday benchmark bars into zeros: we pass both on one index;
  - a tz-aware index fails ("Cannot compare dtypes datetime64[us, UTC] and datetime64[us]"),
    and a non-string series name fails (`.upper()` on it): we pass naive indexes, str names;
  - constant strategy returns (a model that never traded) crash its R^2 against the benchmark
    (scipy: "Cannot calculate a linear regression if all x values are identical"): while the
    report is drawn, ``qs.stats.r_squared`` answers NaN for constant inputs, so the benchmark
    is still compared; should quantstats fail on the comparison for another reason, the report
    is drawn without it and its header says why;
  - `match_dates=True` starts the report at the first non-zero return, hiding the time spent
    flat before the first trade; we keep the whole backtest so it matches metrics.json;
  - the title is pasted into the HTML unescaped: we escape it;
  - `periods_per_year` must be an int (it sizes rolling windows);
  - its template calls an undefined ``save()`` on load (a console error) and links a favicon
    on a web server: both are removed;
  - its tables leave cells "%", "-" or empty and mislabel some rows (``tearsheet_cells``), and
    three of its figures are wrong (``tearsheet_figures``): both are rewritten after it wrote
    the page, from the same returns.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from bt_attention_lstm.reports.analyzers import to_naive_index
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.plugin_pages import PAGES_ID, Page, render_pages
from bt_attention_lstm.reports.quantstats_import import QUANTSTATS_RC, qs
from bt_attention_lstm.reports.tearsheet_cells import (
    NO_TRADES,
    Column,
    TableContext,
    is_daily,
    polish_drawdown_table,
    polish_eoy_table,
    polish_metrics_table,
)
from bt_attention_lstm.reports.tearsheet_figures import (
    eoy_figure,
    figure_img,
    monthly_heatmap_figure,
    replace_figure,
    styled,
    worst_drawdowns_figure,
)

# quantstats asks for Arial, absent on most Linux machines: one "findfont" line per chart.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

logger = logging.getLogger(__name__)

# quantstats draws with pyplot and, while a report is drawn, qs.stats.r_squared is patched:
# one report at a time.
_QUANTSTATS_LOCK = threading.Lock()


def write_tearsheet(
    path: str | PathLike[str],
    strategy_returns: pd.Series,
    benchmark_returns: pd.Series,
    periods_per_year: float,
    title: str,
    *,
    strategy_name: str = "Strategy",
    benchmark_name: str | None = None,
    n_trades: int | None = None,
    pages: Sequence[Page] = (),
) -> None:
    """Write the quantstats HTML tear sheet of per-bar strategy returns against a benchmark.

    `benchmark_returns` is a returns Series on the same bars (never a ticker string);
    `benchmark_name` defaults to its name when that is a non-empty str, else "Benchmark".
    A strategy whose returns are all 0 (and `n_trades`, when given, 0) never traded: its cells
    that need trades read "n/a (no trades)" and the header says so. `pages` (see
    ``reports.plugin_pages``) are appended after quantstats' charts.
    """
    if not isinstance(benchmark_returns, pd.Series):
        raise TypeError("benchmark_returns must be a returns Series (tickers are never fetched)")
    if benchmark_name is None:
        name = benchmark_returns.name
        benchmark_name = name if isinstance(name, str) and name else "Benchmark"
    if benchmark_name == strategy_name:
        benchmark_name = f"{benchmark_name} (benchmark)"
    periods_per_year = int(round(periods_per_year))
    if periods_per_year < 1:
        raise ReportError(f"periods_per_year must be >= 1, got {periods_per_year!r}")
    strategy, benchmark = _aligned(strategy_returns, benchmark_returns)
    strategy.name, benchmark.name = strategy_name, benchmark_name
    # A position held all along without a closed trade still moves the returns: they decide.
    traded = bool(np.any(strategy.to_numpy() != 0.0)) or bool(n_trades)
    if not traded:
        logger.info("the strategy made no trades: the tear sheet says n/a where trades are needed")

    not_compared = _render(Path(path), strategy, benchmark, periods_per_year, title)
    columns = {
        strategy_name: Column(strategy, is_benchmark=False, traded=traded),
        benchmark_name: Column(
            benchmark,
            is_benchmark=True,
            traded=bool(np.any(benchmark.to_numpy() != 0.0)),
            flat_reason="n/a (the benchmark's returns are all 0)",
        ),
    }
    page = Path(path).read_text(encoding="utf-8")
    page = _polish(page, TableContext(columns, strategy.index), not_compared)
    page = _with_notes(page, traded, benchmark_name, not_compared, bool(pages), strategy.index)
    page = page.replace("</body>", render_pages(pages) + "</body>", 1)
    Path(path).write_text(page, encoding="utf-8")
    logger.debug("tear sheet written to %s", path)


def _render(
    path: Path, strategy: pd.Series, benchmark: pd.Series, periods_per_year: int, title: str
) -> str | None:
    """Let quantstats write the page; returns why the benchmark was not compared, or None."""
    common: dict[str, Any] = {
        "output": str(path),
        "title": html.escape(title, quote=False),
        "periods_per_year": periods_per_year,
        "rf": 0.0,
        "match_dates": False,
        "strategy_title": strategy.name,
        "benchmark_title": benchmark.name,
    }
    # quantstats and matplotlib emit dozens of deprecation warnings per report: keep them
    # out of the user's terminal but available in debug logs.
    # quantstats' own style for its figures, without leaving it in the user's rcParams.
    with (
        _QUANTSTATS_LOCK,
        warnings.catch_warnings(record=True) as caught,
        matplotlib.rc_context(QUANTSTATS_RC),
        _r_squared_safe_for_constant_returns(),
    ):
        warnings.simplefilter("always")
        why: str | None = None
        try:
            qs.reports.html(strategy, benchmark=benchmark, **common)
        except Exception as exc:  # any quantstats failure: the report without the comparison
            why = f"quantstats failed to compare it ({type(exc).__name__}: {exc})"
            logger.warning("tear sheet without the benchmark comparison: %s", why)
            label = f"{benchmark.name}, not compared because {why}"
            qs.reports.html(strategy, parameters={"Benchmark": html.escape(label)}, **common)
    for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
        logger.debug("quantstats: %s", message)
    return why


@contextmanager
def _r_squared_safe_for_constant_returns() -> Iterator[None]:
    """R^2 of constant returns is undefined (NaN), not a crash of the whole report."""
    original = qs.stats.r_squared

    def r_squared(returns: pd.Series, benchmark: pd.Series, prepare_returns: bool = True) -> float:
        if _constant(returns) or _constant(benchmark):
            return float("nan")
        return float(original(returns, benchmark, prepare_returns=prepare_returns))

    qs.stats.r_squared = r_squared
    try:
        yield
    finally:
        qs.stats.r_squared = original


def _constant(returns: object) -> bool:
    values = np.asarray(returns, dtype=float)
    values = values[np.isfinite(values)]
    return values.size < 2 or bool(np.all(values == values[0]))


# Labels on one line (long "n/a (why)" values wrap instead), notes under the header in gray.
_CSS = "#right table td:first-of-type{white-space:nowrap}p.bt-note{color:#444;margin:6px 0}"
_METRICS_TABLE = re.compile(r"(<h3>Key Performance Metrics</h3>\s*)(<table>.*?</table>)", re.S)
_EOY_TABLE = re.compile(r'(<div id="eoy">.*?)(<table>.*?</table>)', re.S)
_DD_TABLE = re.compile(r'(<div id="ddinfo">.*?)(<table>.*?</table>)', re.S)
_SVG_PROLOGUE = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE svg[^>]*>\s*", re.I)


def _polish(page: str, ctx: TableContext, not_compared: str | None) -> str:
    """The page quantstats wrote, with its tables, figures and template defects fixed."""
    page = page.replace('<body onload="save()">', "<body>")  # save() is never defined
    page = page.replace("</head>", f"<style>{_CSS}</style>\n</head>", 1)
    page = _EXTERNAL_LOAD.sub("", page)
    page = _SVG_PROLOGUE.sub("", page)  # XML prologues are not HTML
    page = _METRICS_TABLE.sub(lambda m: m.group(1) + polish_metrics_table(m.group(2), ctx), page)
    page = _EOY_TABLE.sub(lambda m: m.group(1) + polish_eoy_table(m.group(2)), page)
    strategy_name = next(n for n, c in ctx.columns.items() if not c.is_benchmark)
    traded = ctx.columns[strategy_name].traded
    page = _DD_TABLE.sub(lambda m: m.group(1) + polish_drawdown_table(m.group(2), traded), page)

    strategy = ctx.columns[strategy_name].returns
    benchmark_name = next(n for n, c in ctx.columns.items() if c.is_benchmark)
    benchmark = None if not_compared else ctx.columns[benchmark_name].returns
    figures = {
        "eoy_returns": (
            styled(eoy_figure, strategy, benchmark, strategy_name, benchmark_name),
            "end-of-year returns",
        ),
        "monthly_heatmap": (
            styled(monthly_heatmap_figure, strategy, strategy_name),
            "monthly returns",
        ),
        "dd_periods": (
            styled(worst_drawdowns_figure, strategy, strategy_name),
            "worst drawdown periods",
        ),
    }
    for div_id, (fig, alt) in figures.items():
        page = replace_figure(page, div_id, figure_img(fig, alt))
    return page


def _with_notes(
    page: str,
    traded: bool,
    benchmark_name: str,
    not_compared: str | None,
    has_pages: bool,
    index: pd.DatetimeIndex,
) -> str:
    """One line under the header for each thing a reader must know to read the page."""
    notes = []
    if not traded:
        notes.append(
            "The strategy made no trades in this period (its returns are all 0): figures that "
            f'need trades read "{NO_TRADES}".'
        )
    if not_compared:
        notes.append(
            f"Benchmark ({html.escape(benchmark_name)}) not compared: "
            f"{html.escape(not_compared)}."
        )
    if not is_daily(index):
        notes.append(
            "Bars are not daily: per-bar figures are labelled per bar (quantstats' chart "
            'titles still say "Daily").'
        )
    if has_pages:
        notes.append(
            f'The model\'s pages follow the charts: <a href="#{PAGES_ID}">position over '
            "price, equity beside the simple rules, cost sensitivity</a>."
        )
    if not notes:
        return page
    block = "".join(f'<p class="bt-note">{n}</p>' for n in notes)
    return page.replace("</h4>", "</h4>\n" + block, 1)


# Tags that make a browser fetch something when the page opens (links to click are left alone).
_EXTERNAL_LOAD = re.compile(
    r"<(?:link|script|img|iframe)\b[^>]*?(?:href|src)\s*=\s*[\"']?(?:https?:)?//[^>]*>"
    r"(?:\s*</script>)?",
    re.IGNORECASE,
)


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
