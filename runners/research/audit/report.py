"""The audit as text: a header line, the check table with a verdict per row, the warnings of the
model's training CV, and the final verdict (what ``runners/audit.py`` prints)."""

from __future__ import annotations

from pathlib import Path

from bt_attention_lstm.models.training.cv_report import cv_check_text
from bt_attention_lstm.runners.research.audit.job import AuditResult


def _row(check: str, value: str, ok: bool | None) -> str:
    mark = "-" if ok is None else ("PASS" if ok else "FAIL")
    return f"{check:<22}{value:<58}{mark}"


def header_line(result: AuditResult) -> str:
    """Which model, which bars, how many traded."""
    return (
        f"audit of model {result.model_path} ({result.model_sha256[:8]}) on "
        f"{Path(result.source or 'data').name}: {result.first_traded} .. "
        f"{result.last_traded}, {result.traded_bars} bars traded "
        f"({result.periods_per_year:.0f} bars/year)"
    )


def check_lines(result: AuditResult) -> list[str]:
    """The table: one row per check, its figures and PASS, FAIL or - (not a test)."""
    causality, overlap, summary = result.causality, result.overlap, result.backtest
    cv, surrogates = result.training_cv, result.surrogates
    lines = [f"{'check':<22}{'result':<58}verdict"]
    if cv is not None:  # from the artifact's meta.json: the nested CV of its training run
        lines.append(_row(f"training CV ({cv['folds']} folds)", cv_check_text(cv), cv["passed"]))
    lines.append(_row(
        "causality (runonce)",
        f"max |deviation| features {causality.max_deviation:.3g}, model "
        f"{causality.signal_deviation:.3g} over {len(causality.cuts)} cuts",
        causality.passed,
    ))
    lines.append(_row(
        "out-of-sample",
        f"{overlap.overlap_bars} traded bars inside training "
        f"{overlap.trained_start}..{overlap.trained_end}",
        overlap.passed,
    ))
    lines.append(_row(
        "Sharpe (annualised)",
        f"strategy {summary.sharpe:.2f}, buy & hold {summary.benchmark_sharpe:.2f}", None,
    ))
    lines.append(_row(
        "total return",
        f"strategy {summary.total_return:.2%}, buy & hold {summary.benchmark_total_return:.2%}",
        None,
    ))
    lines.append(_row(
        "trades / exposure", f"{summary.n_trades} trades, {summary.exposure:.0%} in market", None
    ))
    psr = "n/a" if summary.psr is None else f"{summary.psr:.3f}"
    lines.append(_row("PSR (SR > 0)", f"{psr} (needs >= 0.95)", summary.psr_passed))
    if surrogates is not None and surrogates.n:
        label = (f"block bootstrap, mean {surrogates.block_len:g} bars"
                 if surrogates.block_len else "phase randomised")
        sharpes = surrogates.sharpes
        lines += [
            _row(f"surrogates ({surrogates.n})",
                 f"p = {surrogates.p_value:.3f}: {surrogates.n_at_least}/{surrogates.n} >= real",
                 surrogates.passed),
            _row("", label, None),
            _row("", f"surrogate Sharpe mean {sum(sharpes) / len(sharpes):.2f}, "
                 f"max {max(sharpes):.2f}", None),
        ]
    return lines


def audit_text(result: AuditResult) -> str:
    """Everything the command prints about the audit, as one text."""
    warnings = [f"WARNING: {w}" for w in (result.training_cv or {}).get("warnings", [])]
    return "\n".join([
        header_line(result), "", *check_lines(result), *warnings, "",
        f"verdict: {result.verdict}",
    ])
