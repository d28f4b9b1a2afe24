"""make_labels: forward-return classes with a band scaled by volatility known at t."""

from __future__ import annotations

import numpy as np
import pytest

from bt_attention_lstm.models.training.labels import (
    CLASS_NAMES,
    DOWN,
    FLAT,
    NO_LABEL,
    UP,
    make_labels,
)


def random_close(n: int, seed: int, vol: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(vol * rng.standard_normal(n)))


def test_class_order_and_codes():
    assert CLASS_NAMES == ("down", "flat", "up")
    assert (DOWN, FLAT, UP) == (0, 1, 2)
    assert NO_LABEL not in (DOWN, FLAT, UP)


@pytest.mark.parametrize("horizon", [1, 5, 12])
def test_last_horizon_bars_and_the_volatility_warmup_have_no_label(horizon):
    close = random_close(300, seed=horizon)
    labels = make_labels(close, horizon=horizon, vol_window=20)
    assert labels.shape == close.shape
    assert labels.dtype == np.int64
    assert (labels[-horizon:] == NO_LABEL).all()
    assert (labels[:20] == NO_LABEL).all()
    assert (labels[20:-horizon] != NO_LABEL).all()
    assert set(np.unique(labels[20:-horizon])) <= {DOWN, FLAT, UP}


def test_too_short_input_is_all_unlabelled():
    assert (make_labels(random_close(20, 0), horizon=5, vol_window=20) == NO_LABEL).all()
    with pytest.raises(ValueError):
        make_labels(random_close(50, 0), horizon=0)


def test_labels_read_only_the_array_given():
    close = random_close(400, seed=3)
    h = 5
    full = make_labels(close, horizon=h)
    for t in (20, 21, 57, 200, 394):
        part = make_labels(close[: t + h + 1], horizon=h)
        assert part[t] == full[t] != NO_LABEL
        # and the whole prefix agrees where it has labels
        defined = part != NO_LABEL
        np.testing.assert_array_equal(part[defined], full[: t + h + 1][defined])


def test_changing_the_far_future_changes_no_label_before_it():
    close = random_close(400, seed=4)
    h, t = 5, 250
    other = close.copy()
    other[t + h + 1 :] *= np.exp(np.linspace(0, 2, other.size - t - h - 1))
    np.testing.assert_array_equal(make_labels(other, h)[: t + 1], make_labels(close, h)[: t + 1])


def test_crafted_paths_have_the_obvious_class():
    n, h = 80, 5
    rng = np.random.default_rng(0)
    base = 100.0 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    t = 50
    rising, falling, flat = base.copy(), base.copy(), base.copy()
    rising[t + 1 :] = base[t] * np.exp(0.02 * np.arange(1, n - t))
    falling[t + 1 :] = base[t] * np.exp(-0.02 * np.arange(1, n - t))
    flat[t + 1 :] = base[t]
    assert make_labels(rising, h)[t] == UP
    assert make_labels(falling, h)[t] == DOWN
    assert make_labels(flat, h)[t] == FLAT


def test_band_follows_the_formula():
    close = random_close(200, seed=9)
    h, band_k, vw = 5, 0.5, 20
    labels = make_labels(close, horizon=h, flat_band=band_k, vol_window=vw)
    log_c = np.log(close)
    for t in range(vw, close.size - h):
        sigma = np.std(np.diff(log_c[t - vw : t + 1]))
        r = log_c[t + h] - log_c[t]
        band = band_k * sigma * np.sqrt(h)
        expected = UP if r > band else DOWN if r < -band else FLAT
        assert labels[t] == expected, t


def test_band_scales_with_trailing_volatility():
    """The same forward move is 'up' after a calm past and 'flat' after a volatile one."""
    h, vw, t = 5, 20, 60
    rng = np.random.default_rng(1)
    past = rng.standard_normal(t)
    past *= 0.01 / past[-vw:].std()  # the trailing vol_window returns have a std of exactly 1%
    forward = np.full(h + 5, 0.0)
    # a forward 5-bar log return of 1.5 x the band of the calm past (0.5 * 1% * sqrt(5))
    move = 1.5 * 0.5 * 0.01 * np.sqrt(h)
    forward[:h] = move / h

    def close_of(past_returns):
        return 100.0 * np.exp(np.cumsum(np.concatenate(([0.0], past_returns, forward))))

    calm = close_of(past)
    wild = close_of(2.0 * past)  # the same past, twice the volatility
    assert make_labels(calm, h, vol_window=vw)[t] == UP
    assert make_labels(wild, h, vol_window=vw)[t] == FLAT
    # a move of 2.5 x the calm band still clears the doubled band
    forward[:h] = 2.5 * 0.5 * 0.01 * np.sqrt(h) / h
    assert make_labels(close_of(2.0 * past), h, vol_window=vw)[t] == UP
    # the bands differ by exactly the factor 2 (the class of -move flips symmetrically)
    forward[:h] = -move / h
    assert make_labels(close_of(past), h, vol_window=vw)[t] == DOWN
    assert make_labels(close_of(2.0 * past), h, vol_window=vw)[t] == FLAT


def test_flat_band_zero_gives_only_up_and_down_for_moving_prices():
    close = random_close(300, seed=5)
    labels = make_labels(close, horizon=3, flat_band=0.0)
    assert set(np.unique(labels[labels != NO_LABEL])) == {DOWN, UP}
