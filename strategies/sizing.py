"""Position sizing by the model's confidence, and the backtrader Sizer that applies it.

Four rules: three size an entry by a classifier's confidence (``confidence``, ``fixed``,
``volatility``); ``vol_target`` holds a volatility-scaled target weight and trades the
difference (``models.portfolio.vol_targeting``, the one definition of ex-ante volatility and
vol-scaled weights).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import backtrader as bt
import numpy as np

from bt_attention_lstm.models.portfolio.vol_targeting import TARGET_VOL, VolTarget

SIZING_RULES = ("confidence", "fixed", "volatility", "vol_target")

# A target weight below this (a fraction of equity) is no position: it closes what is held.
MIN_WEIGHT = 1e-6


def confidence_scale(confidence: float, threshold: float, min_scale: float = 0.25) -> float:
    """0 below the threshold; from ``min_scale`` at the threshold rising linearly to 1 at
    |confidence| = 1. Monotonic non-decreasing in |confidence|."""
    strength = abs(confidence)
    if not math.isfinite(strength) or strength < threshold:
        return 0.0
    if threshold >= 1.0:
        return 1.0
    return min(1.0, min_scale + (1.0 - min_scale) * (strength - threshold) / (1.0 - threshold))


def vol_target_weight(
    edge: float,
    ex_ante_vol: float | None,
    *,
    target_vol: float = TARGET_VOL,
    max_leverage: float = 1.0,
    periods_per_year: float = 252.0,
    risk_scale: float = 1.0,
    share: float = 1.0,
    threshold: float = 0.0,
    allow_short: bool = False,
) -> float:
    """Signed target weight (a fraction of equity) of the ``vol_target`` rule.

    w = clip(edge x target_vol / (ex_ante_vol x sqrt(periods_per_year)) x risk_scale,
    -max_leverage x share, max_leverage x share), through ``VolTarget.weights``. ``share`` is
    this feed's part of the book (1 with one feed), so several feeds together stay within
    ``max_leverage``. 0 when |edge| < ``threshold``, and for a negative edge unless
    ``allow_short``; NaN while ex_ante_vol is undefined (warm-up); 0 for a flat price.
    """
    if not math.isfinite(edge):
        return float("nan")
    if abs(edge) < threshold or edge < 0 and not allow_short:
        return 0.0
    sigma = float("nan") if ex_ante_vol is None else float(ex_ante_vol)
    rule = _vol_target(target_vol, max_leverage * max(0.0, share), periods_per_year)
    scaled = edge * max(0.0, min(1.0, risk_scale))
    return rule.weight(scaled, sigma)


def vol_target_weights(
    edge: np.ndarray,
    ex_ante_vol: np.ndarray,
    *,
    target_vol: float = TARGET_VOL,
    max_leverage: float = 1.0,
    periods_per_year: float = 252.0,
    risk_scale: np.ndarray | float = 1.0,
    share: float = 1.0,
    threshold: float = 0.0,
    allow_short: bool = False,
) -> np.ndarray:
    """``vol_target_weight`` at every bar at once (arrays of edges, sigmas and risk scales),
    through ``VolTarget.weights`` (whose ``weight`` is its per-bar twin): equal to it to the bit
    (a strategy's runonce backtest precomputes its targets with it)."""
    e = np.asarray(edge, dtype=np.float64)
    rule = _vol_target(target_vol, max_leverage * max(0.0, share), periods_per_year)
    # max(0.0, min(1.0, r)) as Python evaluates it (a NaN scale counts as 1)
    r = np.asarray(risk_scale, dtype=np.float64)
    r = np.where(r < 1.0, r, 1.0)
    r = np.where(r > 0.0, r, 0.0)
    with np.errstate(invalid="ignore"):  # an infinite edge (set to NaN below) times 0
        w = rule.weights(e * r, ex_ante_vol)
    # the scalar rule's early returns, the first one last (it wins)
    w[(np.abs(e) < threshold) | ((e < 0) & (not allow_short))] = 0.0
    w[~np.isfinite(e)] = np.nan
    return w


@lru_cache(maxsize=64)
def _vol_target(target_vol: float, max_leverage: float, periods_per_year: float) -> VolTarget:
    """One ``VolTarget`` for each setting: a strategy asks for the same one every bar."""
    return VolTarget(target_vol=target_vol, max_leverage=max_leverage,
                     periods_per_year=periods_per_year)


def needs_rebalance(target: float, current: float, band: float) -> bool:
    """The no-trade band: trade when the target's sign differs from the held weight's (flat
    counts as a sign of its own, so a target of 0 closes and any other opens), or when the
    target is more than ``band`` (a fraction of equity) away from it; hold otherwise."""
    target_sign = 0 if abs(target) < MIN_WEIGHT else (1 if target > 0 else -1)
    current_sign = 0 if abs(current) < MIN_WEIGHT else (1 if current > 0 else -1)
    return target_sign != current_sign or abs(target - current) > band


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
    max_leverage: float = 1.0,
) -> float:
    """Fraction of equity to hold for one data (its size; the side is the confidence's sign).

    - ``confidence``: max_position x confidence_scale(confidence).
    - ``fixed``: max_position whenever |confidence| >= threshold.
    - ``volatility``: max_position x confidence_scale x min(1, target_vol / annual_vol), so the
      position's annualised volatility is about ``target_vol`` at full confidence.
    - ``vol_target``: |confidence| x target_vol / annual_vol x risk_scale, capped by
      ``max_leverage`` instead of ``max_position`` (``vol_target_weight`` with both signs).

    ``risk_scale`` (0..1) is the regime filter's cut and the data's equal-risk share.
    """
    if sizing not in SIZING_RULES:
        raise ValueError(f"sizing must be one of {SIZING_RULES}, got {sizing!r}")
    if sizing == "vol_target":
        # annual_vol = sigma x sqrt(periods_per_year): the same weight with one period a year
        weight = vol_target_weight(confidence, annual_vol, target_vol=target_vol,
                                   max_leverage=max_leverage, periods_per_year=1.0,
                                   risk_scale=risk_scale, threshold=threshold, allow_short=True)
        return abs(weight) if math.isfinite(weight) else 0.0
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


class SizingInputs(NamedTuple):
    """What the sizer needs to know about one data at the current bar.

    ``confidence``: the edge traded; ``annual_vol``: trailing realised volatility a year;
    ``ex_ante_vol``: the per-bar sigma_t of ``models.portfolio.vol_targeting`` (``vol_target``);
    ``held``: the units the strategy itself owns (never the broker's whole position);
    ``share``: this data's part of the book (``vol_target``'s leverage cap).

    A NamedTuple (immutable, built every bar: a third of a frozen dataclass's cost).
    """

    confidence: float
    annual_vol: float | None
    risk_scale: float = 1.0
    ex_ante_vol: float | None = None
    held: float = 0.0
    share: float = 1.0


class ConfidenceSizer(bt.Sizer):
    """Sizes an order so the position is ``target_fraction`` of the portfolio value.

    The strategy it works in must offer ``sizing_inputs(data) -> SizingInputs`` (as
    ``AttentionLSTMStrategy`` does); any strategy with a ``ModelSignal`` per data can add it.
    With ``sizing="vol_target"`` an order is the difference between the target weight
    (``target_weight``) and what the strategy holds, in the order's direction (0 when the
    order would move away from the target), and a reduction never goes past flat. The size
    is capped by the cash available (commission included), so cash never goes negative, and
    rounded down to whole units unless ``fractional`` is set.
    """

    params = (
        ("threshold", 0.2),
        ("max_position", 0.95),
        ("sizing", "confidence"),
        ("target_vol", 0.15),
        ("min_scale", 0.25),
        ("fractional", False),
        # vol_target only
        ("max_leverage", 1.0),
        ("periods_per_year", 252.0),
        ("allow_short", False),
    )

    def vol_target_rule(self) -> dict[str, Any]:
        """This sizer's settings of ``vol_target_weight`` (keywords)."""
        p = self.p
        return {"target_vol": p.target_vol, "max_leverage": p.max_leverage,
                "periods_per_year": p.periods_per_year, "threshold": p.threshold,
                "allow_short": p.allow_short}

    def target_weight(self, inputs: SizingInputs) -> float:
        """The signed ``vol_target`` weight for these inputs (NaN while undefined)."""
        return vol_target_weight(inputs.confidence, inputs.ex_ante_vol,
                                 risk_scale=inputs.risk_scale, share=inputs.share,
                                 **self.vol_target_rule())

    def _getsizing(
        self, comminfo: bt.CommInfoBase, cash: float, data: bt.DataBase, isbuy: bool
    ) -> float:
        inputs: SizingInputs = self.strategy.sizing_inputs(data)
        price = data.close[0]
        if not price > 0:
            return 0
        value = self.broker.getvalue()
        if self.p.sizing == "vol_target":
            size = self._difference(inputs, value / price, isbuy)
        else:
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
            size = fraction * value / price
        if size <= 0.0:
            return 0
        # Never commit more cash than there is (a 1% margin for the next open's gap and fees).
        affordable = comminfo.getsize(price, 0.99 * cash) if isbuy else size
        size = min(size, affordable) if self.p.fractional else min(math.floor(size), affordable)
        return max(size, 0)

    def _difference(self, inputs: SizingInputs, units_per_equity: float, isbuy: bool) -> float:
        """Units from what is held to the target weight, in the order's direction only."""
        weight = self.target_weight(inputs)
        if not math.isfinite(weight):
            return 0.0
        held = inputs.held
        delta = weight * units_per_equity - held
        size = delta if isbuy else -delta
        if held and (held > 0) != isbuy:
            size = min(size, abs(held))  # a reduction stops at flat: the strategy flips in two
        return max(size, 0.0)
