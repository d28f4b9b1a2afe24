"""The sizing rule: monotonic in confidence, capped, zero below the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from bt_attention_lstm.strategies.sizing import confidence_scale, target_fraction


def test_no_position_below_threshold() -> None:
    for c in (0.0, 0.1, -0.19, 0.1999):
        assert target_fraction(c, threshold=0.2, max_position=0.9) == 0.0


@pytest.mark.parametrize("sizing", ["confidence", "fixed", "volatility"])
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
