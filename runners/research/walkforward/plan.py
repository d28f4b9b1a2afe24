"""Walk-forward fold boundaries: each fold trains on bars before its test window, never on it.

Bar positions are half-open ranges ``[start, end)``. Between a fold's last training bar and its
first test bar lie ``gap`` bars (the label horizon): a training label at bar t reads the close
``horizon`` bars later, so no training label may read a bar that the fold later trades.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bt_attention_lstm.models.errors import ConfigError, DataError


@dataclass(frozen=True)
class FoldPlan:
    """One fold: train on bars [train_start, train_end), trade bars [test_start, test_end)."""

    fold: int  # 1-based
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    @property
    def train_bars(self) -> int:
        return self.train_end - self.train_start

    @property
    def test_bars(self) -> int:
        return self.test_end - self.test_start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bars_needed(train_bars: int, test_bars: int, gap: int) -> int:
    """Bars for one fold: a training window, the gap, a test window."""
    return train_bars + gap + test_bars


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"`{name}` must be a positive integer, got {value!r}")


def plan_folds(
    n_bars: int,
    train_bars: int,
    test_bars: int,
    gap: int,
    step: int | None = None,
    expanding: bool = False,
) -> list[FoldPlan]:
    """Folds over ``n_bars`` bars, test windows ``step`` bars apart (default: back to back).

    Rolling: every fold trains on the ``train_bars`` bars that end ``gap`` bars before its test
    window. Expanding: every fold trains on everything from bar 0 to that point. Test windows
    never overlap (``step >= test_bars``), so every out-of-sample bar is traded once; bars at
    the end that do not fill a whole test window are left out.
    """
    _positive("train_bars", train_bars)
    _positive("test_bars", test_bars)
    step = test_bars if step is None else step
    _positive("step", step)
    if step < test_bars:
        raise ConfigError(
            f"`step`={step} must be >= `test_bars`={test_bars}: overlapping test windows "
            "would trade the same bars twice"
        )
    if gap < 0:
        raise ConfigError(f"the gap must be >= 0 bars, got {gap}")
    plans: list[FoldPlan] = []
    test_start = train_bars + gap
    while test_start + test_bars <= n_bars:
        train_end = test_start - gap
        train_start = 0 if expanding else train_end - train_bars
        plans.append(
            FoldPlan(len(plans) + 1, train_start, train_end, test_start, test_start + test_bars)
        )
        test_start += step
    if not plans:
        raise DataError(
            f"walk-forward needs at least {bars_needed(train_bars, test_bars, gap)} bars for one "
            f"fold (`train_bars`={train_bars} + a gap of {gap} bars (label horizon) + "
            f"`test_bars`={test_bars}); the data has {n_bars}"
        )
    return plans
