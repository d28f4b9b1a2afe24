"""PSR and DSR against hand computations (Bailey & Lopez de Prado 2012, 2014)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bt_attention_lstm.reports import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)

RETURNS = pd.Series([0.012, -0.008, 0.015, 0.003, -0.011, 0.021, 0.002, -0.004, 0.009, 0.006])
TRIALS = [0.05, 0.12, -0.03, 0.08, 0.01]


def hand_psr(x: np.ndarray, sr_star: float) -> float:
    """PSR from raw central moments, written out independently of reports.stats."""
    n = x.size
    sr = x.mean() / x.std(ddof=1)
    d = x - x.mean()
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    skew, kurt = m3 / m2**1.5, m4 / m2**2
    z = (sr - sr_star) * math.sqrt(n - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(norm.cdf(z))


def test_psr_matches_hand_computation() -> None:
    x = RETURNS.to_numpy()
    assert probabilistic_sharpe_ratio(RETURNS) == pytest.approx(hand_psr(x, 0.0), rel=1e-12)
    assert probabilistic_sharpe_ratio(RETURNS, 0.1) == pytest.approx(hand_psr(x, 0.1), rel=1e-12)


def test_psr_pinned_value() -> None:
    # Frozen from the hand computation above, so a silent change of estimator shows up.
    assert probabilistic_sharpe_ratio(RETURNS) == pytest.approx(0.9008496754, abs=1e-9)


def test_psr_is_one_half_when_benchmark_equals_estimate() -> None:
    sr = RETURNS.mean() / RETURNS.std(ddof=1)
    assert probabilistic_sharpe_ratio(RETURNS, sr) == pytest.approx(0.5, abs=1e-12)


def test_psr_decreases_with_benchmark_sharpe() -> None:
    values = [probabilistic_sharpe_ratio(RETURNS, b) for b in (-0.2, 0.0, 0.2, 0.4)]
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    "returns", [pd.Series([0.01, 0.02]), pd.Series([0.01] * 10), pd.Series([], dtype=float)]
)
def test_psr_undefined_is_nan(returns: pd.Series) -> None:
    assert math.isnan(probabilistic_sharpe_ratio(returns))


def test_expected_max_sharpe_worked_example() -> None:
    n = len(TRIALS)
    gamma = 0.5772156649015329
    by_hand = np.std(TRIALS, ddof=1) * (
        (1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * math.e))
    )
    assert expected_max_sharpe(TRIALS) == pytest.approx(by_hand, rel=1e-12)
    assert expected_max_sharpe(TRIALS) == pytest.approx(0.0698457010, abs=1e-9)


def test_dsr_worked_example() -> None:
    sr_star = expected_max_sharpe(TRIALS)
    expected = hand_psr(RETURNS.to_numpy(), sr_star)
    assert deflated_sharpe_ratio(RETURNS, TRIALS) == pytest.approx(expected, rel=1e-12)


def test_dsr_with_one_trial_is_psr_against_zero() -> None:
    assert deflated_sharpe_ratio(RETURNS, [0.3]) == probabilistic_sharpe_ratio(RETURNS, 0.0)


def test_more_and_more_dispersed_trials_lower_dsr() -> None:
    few_close = deflated_sharpe_ratio(RETURNS, [0.05, 0.06])
    many_close = deflated_sharpe_ratio(RETURNS, [0.05, 0.06, 0.055, 0.052, 0.058, 0.051])
    many_spread = deflated_sharpe_ratio(RETURNS, [-0.2, 0.3, 0.0, 0.15, -0.1, 0.25])
    assert many_spread < many_close
    assert many_spread < few_close
    assert deflated_sharpe_ratio(RETURNS, TRIALS) < probabilistic_sharpe_ratio(RETURNS)


@pytest.mark.parametrize("trials", [[], [0.1, float("nan")]])
def test_expected_max_sharpe_rejects_bad_trials(trials: list[float]) -> None:
    with pytest.raises(ValueError):
        expected_max_sharpe(trials)
