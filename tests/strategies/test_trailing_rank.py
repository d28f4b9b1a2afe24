"""TrailingRank equals the regime filter's direct rank, mean(finite window <= latest), to the bit,
whatever the bars it catches up on at once."""

from __future__ import annotations

import numpy as np
import pytest

from bt_attention_lstm.strategies.trailing_rank import TrailingRank


def direct_rank(values: np.ndarray, bars: int, lookback: int) -> tuple[int, float]:
    window = values[max(0, bars - lookback):bars]
    finite = window[np.isfinite(window)]
    latest = values[bars - 1]
    return finite.size, float(np.mean(finite <= latest)) if finite.size else 0.0


@pytest.mark.parametrize("lookback", [1, 5, 20, 252])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_the_direct_rank_bar_by_bar_and_in_jumps(lookback: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(-4.0, 0.5, 700)
    values[:30] = np.nan  # a warm-up
    values[rng.choice(700, 40, replace=False)] = np.nan  # gaps
    values[rng.choice(700, 60, replace=False)] = np.round(values[100], 12)  # ties
    rank = TrailingRank(lookback)
    bars = 0
    while bars < len(values):
        bars = min(len(values), bars + int(rng.choice([1, 1, 1, 2, 7, lookback + 3])))
        rank.catch_up(bars, lambda ago, end=bars: values[end - 1 - ago])
        finite, expected = direct_rank(values, bars, lookback)
        assert rank.finite == finite
        got = rank.share_at_or_below(values[bars - 1])
        if np.isnan(values[bars - 1]):
            assert got == 0.0
        else:
            assert got == expected


def test_refuses_a_feed_that_goes_back() -> None:
    rank = TrailingRank(5)
    rank.catch_up(3, lambda ago: 1.0)
    with pytest.raises(ValueError, match="went back"):
        rank.catch_up(2, lambda ago: 1.0)


@pytest.mark.parametrize("lookback", [1, 20, 252])
def test_rank_equals_catch_up_then_share_and_is_nan_below_the_minimum(lookback: int) -> None:
    """``rank`` (the regime filter's one call a bar) gives what ``catch_up`` then
    ``share_at_or_below`` give, and NaN while fewer than ``min_finite`` readings are finite."""
    rng = np.random.default_rng(2)
    values = rng.lognormal(-4.0, 0.5, 600)
    values[:25] = np.nan
    values[rng.choice(600, 30, replace=False)] = np.nan
    one_call, reference = TrailingRank(lookback), TrailingRank(lookback)
    bars = 0
    while bars < len(values):
        bars = min(len(values), bars + int(rng.choice([1, 1, 1, 3, lookback + 2])))

        def reading(ago: int, end: int = bars) -> float:
            return float(values[end - 1 - ago])

        got = one_call.rank(bars, float(values[bars - 1]), reading, min_finite=20)
        reference.catch_up(bars, reading)
        if reference.finite < 20:
            assert np.isnan(got)
        else:
            assert got == reference.share_at_or_below(values[bars - 1])
