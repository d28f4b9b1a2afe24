"""A plain text table of strategy scores: one row per strategy (the model, then the rules)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bt_attention_lstm.reports.strategy_score import COST_LEVELS_BPS, StrategyScore

_HEADER = (
    "strategy", "Sharpe ± SE", "PSR", "turnover/yr",
    *(f"SR@{bps}bp" for bps in COST_LEVELS_BPS), "break-even bp",
)


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)


def _row(score: StrategyScore) -> tuple[str, ...]:
    return (
        score.name,
        f"{_num(score.sharpe, '.2f')} ± {_num(score.sharpe_se, '.2f')}",
        _num(score.psr, '.3f'),
        _num(score.turnover, '.1f'),
        *(_num(score.sharpe_at_bps[bps], '.2f') for bps in COST_LEVELS_BPS),
        _num(score.break_even_bps, '.1f'),
    )


def format_scores(title: str, scores: Sequence[StrategyScore]) -> str:
    """``title`` over a left-aligned name column and right-aligned number columns."""
    rows = [_HEADER, *(_row(s) for s in scores)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    lines = [title]
    for r in rows:
        numbers = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        cells = [r[0].ljust(widths[0]), *numbers]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
