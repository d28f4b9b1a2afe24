"""Position sizing by the model's confidence, and the backtrader Sizer that applies it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import backtrader as bt

SIZING_RULES = ("confidence", "fixed", "volatility")


def confidence_scale(confidence: float, threshold: float, min_scale: float = 0.25) -> float:
    """0 below the threshold; from ``min_scale`` at the threshold rising linearly to 1 at
    |confidence| = 1. Monotonic non-decreasing in |confidence|."""
    strength = abs(confidence)
    if not math.isfinite(strength) or strength < threshold:
        return 0.0
    if threshold >= 1.0:
        return 1.0
    return min(1.0, min_scale + (1.0 - min_scale) * (strength - threshold) / (1.0 - threshold))


def target_fraction(
    confidence: float,
    *,
    threshold: float,
    max_position: float,
    sizing: str = "confidence",
    annual_vol: float | None = None,
    target_vol: float = 0.15,
    risk_scale: float = 1.0,
    min_scale: float = 0.25,
) -> float:
    """Fraction of equity to hold for one data, never above ``max_position``.

    - ``confidence``: max_position x confidence_scale(confidence).
    - ``fixed``: max_position whenever |confidence| >= threshold.
    - ``volatility``: max_position x confidence_scale x min(1, target_vol / annual_vol), so the
      position's annualised volatility is about ``target_vol`` at full confidence.

    ``risk_scale`` (0..1) is the regime filter's cut and the data's equal-risk share.
    """
    if sizing not in SIZING_RULES:
        raise ValueError(f"sizing must be one of {SIZING_RULES}, got {sizing!r}")
    scale = confidence_scale(confidence, threshold, min_scale)
    if scale == 0.0:
        return 0.0
    if sizing == "fixed":
        scale = 1.0
    elif sizing == "volatility":
        if annual_vol is None or not math.isfinite(annual_vol) or annual_vol <= 0:
            return 0.0
        scale *= min(1.0, target_vol / annual_vol)
    return max(0.0, min(max_position, max_position * scale * max(0.0, min(1.0, risk_scale))))


@dataclass(frozen=True)
class SizingInputs:
    """What the sizer needs to know about one data at the current bar."""

    confidence: float
    annual_vol: float | None
    risk_scale: float = 1.0


class ConfidenceSizer(bt.Sizer):
    """Sizes an order so the position is ``target_fraction`` of the portfolio value.

    The strategy it works in must offer ``sizing_inputs(data) -> SizingInputs`` (as
    ``AttentionLSTMStrategy`` does); any strategy with a ``ModelSignal`` per data can add it.
    The size is capped by the cash available (commission included), so cash never goes
    negative, and rounded down to whole units unless ``fractional`` is set.
    """

    params = (
        ("threshold", 0.2),
        ("max_position", 0.95),
        ("sizing", "confidence"),
        ("target_vol", 0.15),
        ("min_scale", 0.25),
        ("fractional", False),
    )

    def _getsizing(
        self, comminfo: bt.CommInfoBase, cash: float, data: bt.DataBase, isbuy: bool
    ) -> float:
        inputs: SizingInputs = self.strategy.sizing_inputs(data)
        fraction = target_fraction(
            inputs.confidence,
            threshold=self.p.threshold,
            max_position=self.p.max_position,
            sizing=self.p.sizing,
            annual_vol=inputs.annual_vol,
            target_vol=self.p.target_vol,
            risk_scale=inputs.risk_scale,
            min_scale=self.p.min_scale,
        )
        price = data.close[0]
        if fraction <= 0.0 or not price > 0:
            return 0
        value = self.broker.getvalue()
        size = fraction * value / price
        # Never commit more cash than there is (a 1% margin for the next open's gap and fees).
        affordable = comminfo.getsize(price, 0.99 * cash) if isbuy else size
        size = min(size, affordable) if self.p.fractional else min(math.floor(size), affordable)
        return max(size, 0)
