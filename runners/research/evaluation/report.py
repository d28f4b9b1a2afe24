"""Text tables of an evaluation (what ``evaluate.py`` prints, and docs/MODEL_QUALITY.md shows)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _pm(stat: dict[str, float], fmt: str = "{:.3f}", single: bool = False) -> str:
    mean, sd = stat.get("mean", math.nan), stat.get("sd", math.nan)
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = fmt.format(mean)
    return text if single else f"{text} ± {fmt.format(sd)}"


def cv_lines(result: dict[str, Any]) -> list[str]:
    """Nested CV (first part only): mean over outer folds, then mean ± sd over seeds."""
    metrics = list(next(iter(result["cv"].values()), {}))
    lines = [
        f"  nested CV on the first {result['train_bars']} bars (mean over outer folds; "
        f"± sd over {len(result['seeds'])} seeds)",
        f"    {'model':<16}" + "".join(f" {m.replace('_', '-'):>17}" for m in metrics),
    ]
    formats = {"accuracy": "{:.3f}", "log_loss": "{:.4f}", "sharpe": "{:.2f}"}
    for name, row in result["cv"].items():
        lines.append(f"    {name:<16}" + "".join(
            f" {_pm(row[m], formats.get(m, '{:.3f}')):>17}" for m in metrics
        ))
    return lines


def rules_lines(result: dict[str, Any]) -> list[str]:
    """The model's positions beside the rules, vol-targeted, same bars and costs."""
    rules = result.get("rules")
    if not rules:
        return []
    lines = [
        "  positions beside the rules (vol-targeted, same bars and costs; model: mean ± sd "
        "over seeds)",
        f"    {'strategy':<16} {'Sharpe':>15} {'Sharpe SE':>15} {'PSR':>15} {'turnover/yr':>15} "
        f"{'break-even bp':>15}",
    ]
    for name, row in rules["scores"].items():
        single = name != "attention_lstm" or len(result["seeds"]) == 1
        cells = [_pm(row.get(f, {}), fmt, single) for f, fmt in (
            ("sharpe", "{:.2f}"), ("sharpe_se", "{:.2f}"), ("psr", "{:.2f}"),
            ("turnover", "{:.1f}"), ("break_even_bps", "{:.0f}"),
        )]
        lines.append(f"    {name:<16}" + "".join(f" {c:>15}" for c in cells))
    lines += [f"  verdict: {v}" for v in dict.fromkeys(rules["verdicts"])]
    return lines


def oos_lines(result: dict[str, Any]) -> list[str]:
    oos = result["oos_log_loss"]
    if not oos:
        return []
    return [
        f"  out-of-sample log-loss ({result['oos_range'][0][:10]} .. "
        f"{result['oos_range'][1][:10]}): model {_pm(oos['model_log_loss'], '{:.4f}')}, "
        f"prior {_pm(oos['prior_log_loss'], '{:.4f}', single=True)}, "
        f"excess {_pm(oos['excess_log_loss'], '{:+.4f}')}",
    ]


def trading_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        "  out-of-sample trading, same broker and costs (model: mean ± sd over seeds)",
        f"    {'strategy':<16} {'Sharpe':>15} {'Sharpe SE':>15} {'PSR':>15} "
        f"{'total return':>17} {'trades':>8}",
    ]
    for name, row in result["trading"].items():
        single = len(row["runs"]) == 1
        trades = row.get("n_trades")
        sharpe, se = _pm(row["sharpe"], "{:.2f}", single), _pm(row["sharpe_se"], "{:.2f}", single)
        psr, total = _pm(row["psr"], "{:.2f}", single), _pm(row["total_return"], "{:+.1%}", single)
        n = _pm(trades, "{:.0f}", True) if trades else ""
        lines.append(f"    {name:<16} {sharpe:>15} {se:>15} {psr:>15} {total:>17} {n:>8}")
    return lines


def dataset_lines(result: dict[str, Any]) -> list[str]:
    header = (
        f"== {result['name']}: {result['bars']} bars, trained on the first "
        f"{result['train_bars']} ({result['train_range'][0][:10]} .. "
        f"{result['train_range'][1][:10]}) =="
    )
    return [header, *cv_lines(result), *oos_lines(result), *trading_lines(result),
            *rules_lines(result)]


def dataset_text(result: dict[str, Any]) -> str:
    """The tables of one data set (an entry of ``EvaluationResult.datasets``)."""
    return "\n".join(dataset_lines(result))


def format_report(results: Sequence[dict[str, Any]]) -> str:
    """The tables of every data set, a blank line between them."""
    return "\n\n".join(dataset_text(r) for r in results)
