"""What a backtest prints: the summary table, the last lines (Sharpe beside the simple rules,
where the files are, how to open them); also walk-forward's and paper's summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
