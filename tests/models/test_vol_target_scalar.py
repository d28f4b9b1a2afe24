"""VolTarget.weight (one bar, plain floats: the strategy's per-bar path) equals VolTarget.weights
(arrays: training, the rules, the reports) to the bit, edge cases included."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget

RULES = [VolTarget(), VolTarget(0.4, 2.0, 19656.0), VolTarget(0.15, 0.5, 1.0)]
EDGE_POSITIONS = [0.0, -0.0, 1.0, -1.0, 1e-300, math.nan]
EDGE_SIGMAS = [0.0, math.nan, math.inf, 1e-320, 5e-3, 0.2]


@pytest.mark.parametrize("rule", RULES)
def test_one_bar_equals_the_array_rule_to_the_bit(rule: VolTarget) -> None:
    rng = np.random.default_rng(3)
    positions = [*rng.uniform(-1, 1, 200).tolist(), *EDGE_POSITIONS]
    sigmas = [*rng.uniform(0.0, 0.05, 40).tolist(), *EDGE_SIGMAS]
    with np.errstate(all="ignore"):
        for position in positions:
            for sigma in sigmas:
                array = float(rule.weights(np.array([position]), np.array([sigma]))[0])
                scalar = rule.weight(position, sigma)
                if math.isnan(array):
                    assert math.isnan(scalar), (position, sigma)
                else:
                    assert scalar == array and math.copysign(1, scalar) == math.copysign(1, array)


def test_caps_and_undefined_volatility() -> None:
    rule = VolTarget(target_vol=0.15, max_leverage=1.0, periods_per_year=252.0)
    assert rule.weight(1.0, 1e-6) == 1.0  # capped at max_leverage
    assert rule.weight(-1.0, 1e-6) == -1.0
    assert math.isnan(rule.weight(0.5, math.nan))  # warm-up: no weight yet
    assert rule.weight(0.5, 0.0) == 0.0  # a flat price: nothing to scale
    assert rule.weight(0.5, 0.01) == pytest.approx(0.5 * 0.15 / (0.01 * math.sqrt(252.0)))
