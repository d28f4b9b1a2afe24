"""The sizing rule: monotonic in confidence, capped, zero below the threshold; vol_target's
sizer trades the difference to its target."""

from __future__ import annotations

import math
from types import SimpleNamespace

import backtrader as bt
import numpy as np
import pytest

from bt_attention_lstm.strategies.sizing import (
    ConfidenceSizer,
    SizingInputs,
    confidence_scale,
    target_fraction,
)


def test_no_position_below_threshold() -> None:
    for c in (0.0, 0.1, -0.19, 0.1999):
        assert target_fraction(c, threshold=0.2, max_position=0.9) == 0.0


@pytest.mark.parametrize("sizing", ["confidence", "fixed", "volatility", "vol_target"])
def test_size_rises_monotonically_with_confidence(sizing: str) -> None:
    grid = np.linspace(0.0, 1.0, 201)
    sizes = [target_fraction(c, threshold=0.2, max_position=0.8, sizing=sizing,
                             annual_vol=0.3, target_vol=0.15) for c in grid]
    assert all(b >= a for a, b in zip(sizes, sizes[1:], strict=False))
    assert max(sizes) <= 0.8
    if sizing == "confidence":
        assert sizes[-1] == pytest.approx(0.8)
        assert sizes[-1] > sizes[grid.searchsorted(0.5)] > sizes[grid.searchsorted(0.25)] > 0


def test_volatility_rule_targets_volatility() -> None:
    calm = target_fraction(1.0, threshold=0.2, max_position=1.0, sizing="volatility",
                           annual_vol=0.10, target_vol=0.15)
    wild = target_fraction(1.0, threshold=0.2, max_position=1.0, sizing="volatility",
                           annual_vol=0.60, target_vol=0.15)
    assert calm == pytest.approx(1.0)  # capped by max_position
    assert wild == pytest.approx(0.25)  # 0.15 / 0.60
    assert target_fraction(1.0, threshold=0.2, max_position=1.0, sizing="volatility",
                           annual_vol=None) == 0.0


def test_risk_scale_cuts_size() -> None:
    full = target_fraction(0.9, threshold=0.2, max_position=0.9)
    half = target_fraction(0.9, threshold=0.2, max_position=0.9, risk_scale=0.5)
    assert half == pytest.approx(full / 2)
    assert target_fraction(0.9, threshold=0.2, max_position=0.9, risk_scale=0.0) == 0.0


def test_confidence_scale_shape() -> None:
    assert confidence_scale(0.2, 0.2, min_scale=0.25) == pytest.approx(0.25)
    assert confidence_scale(-1.0, 0.2) == 1.0
    assert confidence_scale(float("nan"), 0.2) == 0.0
    with pytest.raises(ValueError):
        target_fraction(0.5, threshold=0.2, max_position=0.5, sizing="kelly")


class _Broker:
    def __init__(self, value: float) -> None:
        self.value = value

    def getvalue(self) -> float:
        return self.value


def _vol_sizer(held: float, confidence: float = 0.5, sigma: float = 0.01,
               **params: object) -> tuple[ConfidenceSizer, SimpleNamespace]:
    inputs = SizingInputs(confidence=confidence, annual_vol=None, ex_ante_vol=sigma, held=held)
    strategy = SimpleNamespace(sizing_inputs=lambda data: inputs)
    sizer = ConfidenceSizer(sizing="vol_target", threshold=0.0, **params)
    sizer.set(strategy, _Broker(100_000.0))
    return sizer, SimpleNamespace(close=[100.0])


def test_vol_target_sizer_trades_the_difference_to_the_target() -> None:
    comm = bt.CommissionInfo()
    target_units = 0.5 * 0.15 / (0.01 * math.sqrt(252.0)) * 100_000.0 / 100.0  # 472.46
    sizer, data = _vol_sizer(held=100.0)
    assert sizer._getsizing(comm, 1e9, data, isbuy=True) == math.floor(target_units - 100)
    assert sizer._getsizing(comm, 1e9, data, isbuy=False) == 0  # away from the target
    sizer, data = _vol_sizer(held=800.0)
    assert sizer._getsizing(comm, 1e9, data, isbuy=False) == math.floor(800 - target_units)
    assert sizer._getsizing(comm, 1e9, data, isbuy=True) == 0
    # buys are capped by the cash (1% kept for the gap and fees)
    sizer, data = _vol_sizer(held=0.0)
    assert sizer._getsizing(comm, 10_000.0, data, isbuy=True) == 99
    # long-only: a negative target only ever sells what is held, and never past flat
    sizer, data = _vol_sizer(held=300.0, confidence=-0.5)
    assert sizer._getsizing(comm, 1e9, data, isbuy=False) == 300
    sizer, data = _vol_sizer(held=300.0, confidence=-0.5, allow_short=True)
    assert sizer._getsizing(comm, 1e9, data, isbuy=False) == 300  # flips go through flat
    sizer, data = _vol_sizer(held=0.0, confidence=-0.5, allow_short=True)
    assert sizer._getsizing(comm, 1e9, data, isbuy=False) == math.floor(target_units)
    # no volatility estimate yet: no order
    sizer, data = _vol_sizer(held=0.0, sigma=float("nan"))
    assert sizer._getsizing(comm, 1e9, data, isbuy=True) == 0
    assert sizer.target_weight(SizingInputs(0.5, None, ex_ante_vol=0.01)) == pytest.approx(
        target_units / 1000.0)
