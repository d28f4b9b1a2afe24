"""The tear sheet's tables, cell by cell: every cell a number (or a date), or "n/a (why)".

quantstats 0.0.86 formats its metrics table to strings and leaves, for returns it cannot score,
cells a reader cannot interpret: "%" alone (Max Drawdown of a strategy that never traded), "-"
and "" (undefined ratios, drawdown dates), "nan%". It also labels CAGR with U+FE6A (SMALL
PERCENT SIGN, absent from common fonts, drawn as a box), shows Risk of Ruin as a fraction with
a "%" (1.0 reads "1.0%" where it means 100%), calls a per-bar figure "Daily" on any bar
frequency, repeats the whole backtest's CAGR as "10Y (ann.)" when the data spans six years,
and marks the EOY table's "Won" column "+" / "-". This module rewrites those tables after
quantstats wrote them, from the same returns, so the page says what each number is or why
there is none. It parses only the simple ``<tr><td>..</td></tr>`` rows quantstats emits.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

from bt_attention_lstm.reports.quantstats_import import qs

NO_TRADES = "n/a (no trades)"
UNDEFINED = "n/a (undefined for these returns)"
BENCHMARK_ITSELF = "n/a (this is the benchmark)"

# Characters a label may keep: printable ASCII and Latin-1, and the few symbols every common
# font (Arial, Helvetica, DejaVu, Liberation) draws. Anything else is replaced (see clean_label).
SAFE_SYMBOLS = frozenset("•–—√±×…‘’“”")
_LABEL_REPLACEMENTS = {"\ufe6a": ""}  # "CAGR﹪": the value already carries its "%"

_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")
_ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
_CELL = re.compile(r"<(t[dh])((?:\s[^>]*)?)>(.*?)</\1>", re.DOTALL)

# Rows still meaningful for returns that are all zero (a strategy that never traded): the rest
# (ratios, win rates, drawdown dates, risk of ruin) divide by something that is then zero.
_FLAT_DEFINED = frozenset({
    "Risk-Free Rate", "Time in Market", "Cumulative Return", "Total Return", "CAGR",
    "Max Drawdown", "Volatility (ann.)", "Expected Daily", "Expected Monthly", "Expected Yearly",
    "MTD", "3M", "6M", "YTD", "1Y", "3Y (ann.)", "5Y (ann.)", "10Y (ann.)", "All-time (ann.)",
    "Best Day", "Worst Day", "Best Month", "Worst Month", "Best Year", "Worst Year",
    "Max Consecutive Wins", "Max Consecutive Losses", "Beta", "Alpha", "Ulcer Index",
})
# Regression figures against the benchmark, meaningless in the benchmark's own column.
_AGAINST_BENCHMARK = frozenset({"Beta", "Alpha", "Correlation", "Treynor Ratio"})
# Figures of the strategy against the benchmark, shown in both columns.
_PAIRWISE = frozenset({"R^2", "Information Ratio"})
# Trailing windows, as quantstats cuts them (3Y/5Y/10Y are 35/59/119 months back).
_WINDOWS: dict[str, relativedelta] = {
    "3M": relativedelta(months=3),
    "6M": relativedelta(months=6),
    "1Y": relativedelta(years=1),
    "3Y (ann.)": relativedelta(months=35),
    "5Y (ann.)": relativedelta(months=59),
    "10Y (ann.)": relativedelta(months=119),
}
_WINDOW_GRACE = pd.Timedelta(days=7)  # a window starting on a weekend before the first bar
# quantstats' per-bar figures, named for daily bars.
_PER_BAR_LABELS = {
    "Expected Daily": "Expected per Bar",
    "Daily Value-at-Risk": "Value-at-Risk per Bar",
    "Best Day": "Best Bar",
    "Worst Day": "Worst Bar",
    "Win Days": "Win Bars",
}
_DRAWDOWN_ROWS = frozenset({
    "Max Drawdown", "Max DD Date", "Max DD Period Start", "Max DD Period End",
    "Longest DD Days", "Avg. Drawdown", "Avg. Drawdown Days",
})


@dataclass(frozen=True)
class Column:
    """One value column of the metrics table: its returns, whether it is the benchmark, and
    whether it ever traded (a strategy with no trade has returns that are all zero);
    ``flat_reason`` fills the cells that need trades when it did not."""

    returns: pd.Series
    is_benchmark: bool
    traded: bool
    flat_reason: str = NO_TRADES


@dataclass(frozen=True)
class TableContext:
    """What the cells are checked against: the columns by their header, and the bars."""

    columns: Mapping[str, Column]
    index: pd.DatetimeIndex

    @property
    def daily_bars(self) -> bool:
        return is_daily(self.index)


def is_daily(index: pd.DatetimeIndex) -> bool:
    """Whether bars are one a trading day (median spacing from 12 hours to 4 days)."""
    if len(index) < 2:
        return True
    spacing = pd.Series(index).diff().median()
    return pd.Timedelta(hours=12) <= spacing <= pd.Timedelta(days=4)


def clean_label(text: str) -> str:
    """A label every default font draws: known odd glyphs replaced, others folded by NFKC
    (compatibility forms to their plain letters), anything left outside the safe set dropped."""
    for odd, plain in _LABEL_REPLACEMENTS.items():
        text = text.replace(odd, plain)
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if is_safe_char(c)).strip()


def is_safe_char(char: str) -> bool:
    """Printable ASCII or Latin-1, or one of SAFE_SYMBOLS."""
    code = ord(char)
    return 0x20 <= code < 0x7F or 0xA0 <= code <= 0xFF or char in SAFE_SYMBOLS


def is_filled(value: str) -> bool:
    """A number (optionally signed, with "%"), a date, or an explicit "n/a (...)"."""
    value = value.strip()
    return bool(_NUMBER.match(value) or _DATE.match(value) or value.startswith("n/a ("))


def polish_metrics_table(table: str, ctx: TableContext) -> str:
    """The metrics table with clean labels, per-bar names on non-daily bars, and every value
    cell a number, a date or "n/a (why)"."""
    headers = re.findall(r"<th>(.*?)</th>", table)
    names = headers[1:]

    def row(cells: list[str]) -> list[str]:
        label = clean_label(html.unescape(cells[0]))
        values = [
            _metric_value(label, html.unescape(raw), ctx.columns.get(name), ctx)
            for raw, name in zip(cells[1:], names, strict=False)
        ]
        if not ctx.daily_bars:
            label = _PER_BAR_LABELS.get(label, label)
        return [html.escape(label, quote=False)] + [html.escape(v, quote=False) for v in values]

    return _map_rows(table, row)


def polish_eoy_table(table: str) -> str:
    """EOY table: "Won" as yes / no, and any unreadable cell (a Multiplier over a benchmark
    year of 0) as n/a."""
    headers = re.findall(r"<th>(.*?)</th>", table)
    won = headers.index("Won") if "Won" in headers else -1

    def row(cells: list[str]) -> list[str]:
        out = list(cells)
        if 0 <= won < len(out):
            out[won] = {"+": "yes", "-": "no"}.get(out[won].strip(), out[won])
        for i, value in enumerate(out[1:], start=1):
            if i != won and not is_filled(html.unescape(value)):
                out[i] = html.escape(UNDEFINED, quote=False)
            elif i != won:
                out[i] = unsigned_zero(value.strip())
        return out

    return _map_rows(table, row)


def polish_drawdown_table(table: str, traded: bool) -> str:
    """The worst-drawdowns table: an empty body gets one row saying why it is empty."""
    if re.search(r"<tbody>\s*</tbody>", table) is None:
        return table
    columns = max(1, len(re.findall(r"<th>", table)))
    why = NO_TRADES if not traded else "n/a (the strategy never fell below a peak)"
    filler = f'<tbody>\n<tr><td colspan="{columns}">{html.escape(why)}</td></tr>\n</tbody>'
    return re.sub(r"<tbody>\s*</tbody>", filler, table, count=1)


def _map_rows(table: str, fn: Callable[[list[str]], list[str]]) -> str:
    """Apply ``fn`` to the cell texts of every body row (separators with colspan untouched)."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        cells = _CELL.findall(inner)
        if not cells or any(tag == "th" or "colspan" in attrs for tag, attrs, _ in cells):
            return match.group(0)
        texts = fn([text for _, _, text in cells])
        return "<tr>" + "".join(f"<td>{t}</td>" for t in texts) + "</tr>"

    return _ROW.sub(one, table)


def _metric_value(label: str, raw: str, column: Column | None, ctx: TableContext) -> str:
    value = raw.strip()
    if column is None:  # an unknown column: only make the cell readable
        return value if is_filled(value) else UNDEFINED
    if column.is_benchmark and label in _AGAINST_BENCHMARK:
        return BENCHMARK_ITSELF
    if not column.traded and label not in _FLAT_DEFINED:
        return column.flat_reason
    flat = [c for c in ctx.columns.values() if not c.traded]
    if label in _PAIRWISE and flat:
        return flat[0].flat_reason
    short = _window_not_covered(label, ctx.index)
    if short:
        return short
    if label == "Risk of Ruin":  # quantstats prints the fraction with a "%": 1.0 reads 1.0%
        return _pct(float(qs.stats.risk_of_ruin(column.returns, prepare_returns=False)))
    if label in _DRAWDOWN_ROWS and not is_filled(value):
        return _drawdown_value(label, column)
    if not is_filled(value):
        return column.flat_reason if not column.traded else UNDEFINED
    return unsigned_zero(value)


def unsigned_zero(value: str) -> str:
    """"-0.0%" and "-0.00" (a tiny negative rounded) without their sign."""
    if value.startswith("-") and _NUMBER.match(value) and not re.search(r"[1-9]", value):
        return value[1:]
    return value


def _window_not_covered(label: str, index: pd.DatetimeIndex) -> str | None:
    """"n/a (...)" when the trailing window of ``label`` reaches before the first bar."""
    window = _WINDOWS.get(label)
    if window is None or len(index) == 0:
        return None
    first, last = index[0], index[-1]
    if first - (last - window) <= _WINDOW_GRACE:
        return None
    return f"n/a (the backtest spans {_span(first, last)})"


def _span(first: pd.Timestamp, last: pd.Timestamp) -> str:
    days = (last - first) / pd.Timedelta(days=1)
    if days >= 365.25:
        return f"{days / 365.25:.1f} years"
    if days >= 30.44:
        return f"{days / 30.44:.1f} months"
    return f"{days:.1f} days"


def _drawdown_value(label: str, column: Column) -> str:
    """A drawdown row quantstats left blank, from the same drawdown details it uses."""
    if not column.traded:
        return "0.0%" if label == "Max Drawdown" else column.flat_reason
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(column.returns))
    if details is None or len(details) == 0:
        none = {"Max Drawdown": "0.0%", "Avg. Drawdown": "0.0%", "Longest DD Days": "0"}
        return none.get(label, "n/a (no drawdown)")
    worst = details.sort_values(by="max drawdown").iloc[0]
    days = pd.to_numeric(details["days"], errors="coerce")
    value = {
        "Max Drawdown": _pct(float(worst["max drawdown"]) / 100.0),
        "Max DD Date": str(worst["valley"]),
        "Max DD Period Start": str(worst["start"]),
        "Max DD Period End": str(worst["end"]),
        "Longest DD Days": _int(days.max()),
        "Avg. Drawdown": _pct(float(details["max drawdown"].mean()) / 100.0),
        "Avg. Drawdown Days": _int(days.mean()),
    }[label]
    return value if is_filled(value) else UNDEFINED


def _pct(fraction: float) -> str:
    """As quantstats prints a percentage: rounded to 2 decimals, then "%"."""
    if not math.isfinite(fraction):
        return UNDEFINED
    value = round(fraction * 100.0, 2)
    return f"{value + 0.0}%"  # + 0.0: no "-0.0%"


def _int(value: float) -> str:
    return str(int(np.round(value))) if math.isfinite(value) else UNDEFINED
