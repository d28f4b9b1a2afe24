"""Tests of models.data.synthetic: determinism, validity and the statistical properties promised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data import (
    OHLCV_COLUMNS,
    data_fingerprint,
    infer_periods_per_year,
    validate_ohlcv,
)
from bt_attention_lstm.models.data.synthetic import (
    generate_market,
    planted_edge_market,
    random_walk_market,
    synthetic_market,
)
from bt_attention_lstm.models.errors import DataError


def log_returns(df: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(df["close"].to_numpy()))


def momentum_hit_rate(df: pd.DataFrame, lookback: int = 20) -> float:
    """How often the sign of the past ``lookback`` bars' return matches the next bar's sign
    (sign-based: robust to the fat tails that make correlations noisy)."""
    r = log_returns(df)
    past = np.convolve(r, np.ones(lookback), "valid")[:-1]
    return float(np.mean(np.sign(past) == np.sign(r[lookback:])))


def test_synthetic_market_is_deterministic_and_seeded():
    a = synthetic_market(1000, seed=3)
    b = synthetic_market(1000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert data_fingerprint(a) == data_fingerprint(b)
    c = synthetic_market(1000, seed=4)
    assert data_fingerprint(c) != data_fingerprint(a)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())


def test_synthetic_market_shape_and_validity():
    df = synthetic_market()
    assert len(df) == 4000
    assert tuple(df.columns) == OHLCV_COLUMNS
    assert all(dt == np.float64 for dt in df.dtypes)
    assert df.index.name == "datetime" and df.index.tz is None
    assert df.index[0] == pd.Timestamp("2005-01-03")
    assert (df.index.day_of_week < 5).all()  # business days
    assert infer_periods_per_year(df.index) == 252.0
    assert df.attrs["source"] == "synthetic"
    validate_ohlcv(df, min_bars=4000)
    o, h, lo, c, v = (df[k].to_numpy() for k in OHLCV_COLUMNS)
    assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all()
    assert (v > 0).all()
    assert df["open"].iloc[0] == pytest.approx(100.0, rel=0.01)
    # The open sits near the previous close: a small gap, not a fresh price.
    gaps = np.abs(np.log(o[1:] / c[:-1]))
    assert np.median(gaps) < 0.2 * np.median(np.abs(log_returns(df)))


def test_synthetic_market_has_fat_tails_clustering_and_volume_link():
    df = synthetic_market(3000, seed=11)
    r = log_returns(df)
    z = (r - r.mean()) / r.std()
    assert np.mean(z**4) - 3 > 1.0  # excess kurtosis: fat tails
    sq = r**2
    assert np.corrcoef(sq[:-1], sq[1:])[0, 1] > 0.03  # volatility clustering
    assert np.corrcoef(np.abs(r), np.log(df["volume"].to_numpy()[1:]))[0, 1] > 0.3


def test_calendar_options_and_intraday_frequency():
    df = synthetic_market(500, seed=1, start="2020-06-01 09:30", freq="5min", start_price=20.0)
    assert df.index[1] - df.index[0] == pd.Timedelta(minutes=5)
    assert df["open"].iloc[0] == pytest.approx(20.0, rel=0.01)
    with pytest.raises(DataError, match="bad synthetic calendar"):
        synthetic_market(10, freq="every now and then")
    with pytest.raises(DataError, match="n_bars must be >= 1"):
        synthetic_market(0)
    with pytest.raises(DataError, match="start_price must be > 0"):
        synthetic_market(10, start_price=-1.0)


def test_presets_share_one_generator_with_overrides():
    walk = random_walk_market(800, seed=5, start="2010-01-04", bar_vol=0.02)
    assert walk.index[0] == pd.Timestamp("2010-01-04")
    assert log_returns(walk).std() > log_returns(random_walk_market(800, seed=5)).std()
    with pytest.raises(DataError, match="unknown synthetic market option.*colour"):
        planted_edge_market(100, seed=1, colour="red")
    with pytest.raises(DataError, match="t_df must be > 2"):
        random_walk_market(100, seed=1, t_df=2.0)
    with pytest.raises(DataError, match="alpha \\+ beta < 1"):
        random_walk_market(100, seed=1, garch_alpha=0.2, garch_beta=0.85)


def test_edges_null_modest_and_planted():
    n = 20000  # standard error of a hit rate: about 0.0035
    walk = momentum_hit_rate(random_walk_market(n, seed=2))
    market = momentum_hit_rate(synthetic_market(n, seed=2))
    planted = momentum_hit_rate(planted_edge_market(n, seed=2))
    assert abs(walk - 0.5) < 0.01  # nothing to learn
    assert 0.51 < market < 0.56  # a modest edge
    assert planted > 0.6  # a strong, persistent pattern
    # The random walk has no drift: its mean return is statistically indistinguishable from 0.
    r = log_returns(random_walk_market(n, seed=2))
    assert abs(r.mean()) < 3 * r.std() / np.sqrt(len(r))


def test_generate_market_is_the_shared_generator():
    pd.testing.assert_frame_equal(generate_market(300, 9), synthetic_market(300, seed=9))
