"""BarFollower: the right streaming row for each call, whatever order a feed's bars come in:
a bar shown again unchanged, changed in place (a forming bar), after skipped bars, or after a
restart, each compared with the offline feature_matrix row of the same bar."""

from __future__ import annotations

import numpy as np
import pytest

from bt_attention_lstm.models.features.bar_follower import BarFollower
from bt_attention_lstm.models.features.compute import feature_matrix
from bt_attention_lstm.models.features.spec import FeatureSpec
from tests.indicators.feature_parity import assert_rows_match, shipped_frames

SPEC = FeatureSpec()
N = 900


@pytest.fixture(scope="module")
def bars() -> list[tuple[float, float, float, float]]:
    df = shipped_frames()["orcl-1995-2014.txt"].iloc[:N]
    return list(zip(*(df[k].tolist() for k in ("high", "low", "close", "volume")), strict=True))


@pytest.fixture(scope="module")
def want(bars) -> np.ndarray:
    h, lo, c, v = (np.array(col) for col in zip(*bars, strict=True))
    return feature_matrix(c, h, lo, c, v, spec=SPEC, names=SPEC.line_names)


def earlier_of(bars, n):
    """The feed's history as backtrader's line buffers give it: k bars before bar n."""
    return lambda k: bars[n - 1 - k : n - 1]


def follow(bars, calls, revisions=False):
    """Run ``calls`` (bar number n, values) through a BarFollower; rows by bar number."""
    follower = BarFollower(SPEC, revisions=revisions)
    rows = {}
    for n, bar in calls:
        row = follower.row(n, bar, earlier_of(bars, n))
        if row is not None:
            rows[n] = row
    return follower, rows


def check(rows, want, what):
    got = np.array([rows[n] for n in range(1, N + 1)])
    assert_rows_match(got, want, SPEC.line_names, what)


def test_each_bar_once(bars, want):
    follower, rows = follow(bars, [(n, bars[n - 1]) for n in range(1, N + 1)])
    assert follower.fed == N
    check(rows, want, "in order")


def test_a_bar_shown_again_unchanged_is_not_fed_twice(bars, want):
    calls = [(n, bars[n - 1]) for n in range(1, N + 1) for _ in range(1 + (n % 3 == 0))]
    follower, rows = follow(bars, calls)
    assert follower.fed == N
    check(rows, want, "repeats")


@pytest.mark.parametrize("revisions", [True, False], ids=["state-kept", "rebuilt"])
def test_a_bar_changed_in_place_is_recomputed_from_the_state_before_it(bars, want, revisions):
    calls = []
    for n in range(1, N + 1):
        h, lo, c, v = bars[n - 1]
        if n % 50 == 0:  # a forming bar: two provisional versions, then the final one
            calls += [(n, (h * 0.99, lo * 1.01, (h + lo) / 2, v / 3)), (n, (h, lo, c * 1.01, v))]
        calls.append((n, bars[n - 1]))
    follower, rows = follow(bars, calls, revisions)
    assert follower.fed == N
    check(rows, want, "revisions")


def test_skipped_bars_are_caught_up_from_the_history(bars, want):
    shown = [n for n in range(1, N + 1) if not (400 < n < 410 or 600 < n < 602)]
    follower, rows = follow(bars, [(n, bars[n - 1]) for n in shown])
    assert follower.fed == N
    got = np.array([rows[n] for n in shown])
    assert_rows_match(got, want[np.array(shown) - 1], SPEC.line_names, "gaps")


def test_a_feed_that_restarts_is_followed_from_its_history(bars, want):
    numbers = [*range(1, 501), *range(300, N + 1)]
    follower, rows = follow(bars, [(n, bars[n - 1]) for n in numbers])
    assert follower.fed == N
    check(rows, want, "restart")
