"""The simple trading rules: values on handcrafted prices, warm-up, causality by truncation, and
Baz et al.'s MACD against an independent pandas implementation on ORCL closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.portfolio.trading_rules import (
    RULES,
    baz_response,
    long_only_tsmom,
    macd_baz,
    sma_cross,
    tsmom,
)
from tests.conftest import DATA_DIR

DATA = DATA_DIR / "orcl-1995-2014.txt"
WARMUP = {"buy_and_hold": 0, "tsmom": 252, "long_only_tsmom": 252, "macd": 346, "sma_cross": 29}


@pytest.fixture(scope="module")
def orcl() -> np.ndarray:
    return load_ohlcv(DATA)["close"].to_numpy()


def noisy_trend(n: int, drift: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(drift + rng.normal(0.0, 0.01, n)))


def test_registry_names_and_order() -> None:
    assert list(RULES) == ["buy_and_hold", "tsmom", "long_only_tsmom", "macd", "sma_cross"]


def test_rising_price() -> None:
    c = 100.0 * 1.001 ** np.arange(400)
    assert np.all(RULES["buy_and_hold"](c) == 1.0)
    for name, value in (("tsmom", 1.0), ("long_only_tsmom", 1.0)):
        p = RULES[name](c)
        assert np.all(np.isnan(p[:252])) and np.all(p[252:] == value), name
    p = sma_cross(c)
    assert np.all(np.isnan(p[:29])) and np.all(p[29:] == 1.0)


def test_falling_price() -> None:
    c = 100.0 * 0.999 ** np.arange(400)
    assert np.all(tsmom(c)[252:] == -1.0)
    assert np.all(long_only_tsmom(c)[252:] == 0.0)
    assert np.all(np.isnan(long_only_tsmom(c)[:252]))
    assert np.all(sma_cross(c)[29:] == 0.0)


def test_tsmom_reads_exactly_the_252_bar_return() -> None:
    c = np.full(600, 50.0)
    c[300] = 51.0  # C_300 / C_48 > 1, C_552 / C_300 < 1, every other ratio is 1
    p = tsmom(c)
    assert p[300] == 1.0 and p[552] == -1.0
    assert np.count_nonzero(p[252:]) == 2
    assert long_only_tsmom(c)[552] == 0.0


def test_sma_cross_hand_case() -> None:
    c = np.r_[np.full(30, 10.0), 11.0, np.full(40, 9.0)]
    p = sma_cross(c, fast=2, slow=3)
    assert np.all(np.isnan(p[:2])) and p[2] == 0.0  # equal SMAs: not above
    assert p[30] == 1.0  # fast (10 + 11) / 2 = 10.5 > slow (10 + 10 + 11) / 3
    assert p[31] == 0.0  # fast (11 + 9) / 2 = 10 = slow (10 + 11 + 9) / 3: not above
    assert np.all(p[32:] == 0.0)
    assert np.count_nonzero(p[2:]) == 1


def test_baz_response_values() -> None:
    y = np.array([0.0, np.sqrt(2.0), -np.sqrt(2.0), 1.0, 10.0])
    expected = np.array([0.0, np.sqrt(2) * np.exp(-0.5), -np.sqrt(2) * np.exp(-0.5),
                         np.exp(-0.25), 10 * np.exp(-25.0)]) / 0.89
    np.testing.assert_allclose(baz_response(y), expected, rtol=1e-14, atol=0)
    assert abs(baz_response(np.array([np.sqrt(2.0)]))[0] - 0.963780) < 1e-6


def _reference_macd(close: np.ndarray) -> np.ndarray:
    """Independent pandas version: the EMA recursion seeded with the mean of the first S values
    (TA-Lib's seed), pandas' rolling sample std."""
    c = pd.Series(close)

    def ema(x: pd.Series, span: int) -> pd.Series:
        alpha, out = 2.0 / (span + 1.0), np.full(len(x), np.nan)
        out[span - 1] = x.iloc[:span].mean()
        for t in range(span, len(x)):
            out[t] = alpha * x.iloc[t] + (1 - alpha) * out[t - 1]
        return pd.Series(out)

    phis = []
    for s, ln in ((8, 24), (16, 48), (32, 96)):
        q = (ema(c, s) - ema(c, ln)) / c.rolling(63).std()
        y = q / q.rolling(252).std()
        phis.append(y * np.exp(-y * y / 4.0) / 0.89)
    return np.mean(phis, axis=0)


def test_macd_equals_an_independent_pandas_version(orcl: np.ndarray) -> None:
    c = orcl[:1500]
    got, want = macd_baz(c), _reference_macd(c)
    assert np.all(np.isnan(got[:346])) and np.all(np.isnan(want[:346]))
    np.testing.assert_allclose(got[346:], want[346:], rtol=1e-7, atol=1e-9)


def test_macd_follows_the_trend() -> None:
    up, down = macd_baz(noisy_trend(1500, 0.002)), macd_baz(noisy_trend(1500, -0.002))
    assert np.mean(up[346:] > 0) > 0.9 and np.mean(down[346:] < 0) > 0.9
    assert np.nanmax(np.abs(up)) <= 1.0


@pytest.mark.parametrize("name", list(RULES))
def test_warmup_then_always_defined(orcl: np.ndarray, name: str) -> None:
    p = RULES[name](orcl)
    first = WARMUP[name]
    assert np.all(np.isnan(p[:first])) and np.all(np.isfinite(p[first:]))
    assert np.all((p[first:] >= -1.0) & (p[first:] <= 1.0))


@pytest.mark.parametrize("name", list(RULES))
def test_causal_by_truncation_and_by_changing_the_future(orcl: np.ndarray, name: str) -> None:
    rule, full = RULES[name], RULES[name](orcl)
    for m in (300, 347, 1000, 3000):
        np.testing.assert_array_equal(rule(orcl[:m]), full[:m])
        changed = orcl.copy()
        changed[m:] *= np.linspace(1.5, 0.5, orcl.size - m)
        np.testing.assert_array_equal(rule(changed)[:m], full[:m])


def test_bad_closes_are_refused() -> None:
    with pytest.raises(DataError, match="finite closes"):
        tsmom(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(DataError, match="finite closes"):
        macd_baz(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(DataError, match="fast < slow"):
        sma_cross(np.ones(50), fast=30, slow=10)
