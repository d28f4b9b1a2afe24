"""Trainer: time-series folds, scaler on training rows only, determinism, NaN guard, too little
data."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from bt_attention_lstm.models.artifact import load_artifact, parameters_digest
from bt_attention_lstm.models.errors import DataError, TrainingError
from bt_attention_lstm.models.features.compute import compute_features, warmup_bars
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import (
    Segment,
    TrainConfig,
    Trainer,
    WindowSamples,
    time_series_folds,
)
from bt_attention_lstm.models.training.labels import NO_LABEL, make_labels
from bt_attention_lstm.models.training.pipeline import segment_of
from bt_attention_lstm.models.training.windows import WindowBatches
from tests.conftest import TINY_MODEL, TINY_TRAIN

DAY = 86_400 * 10**9


def small_config(**kw) -> TrainConfig:
    base = dict(epochs=1, folds=2, patience=1, batch_size=128, seed=3, device="cpu")
    return TrainConfig(objective="classify", **{**base, **kw})


def small_model() -> ModelConfig:
    return ModelConfig(
        n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=1, dropout=0.0, seq_len=8
    )


@pytest.fixture(scope="module")
def orcl_small(orcl_df) -> pd.DataFrame:
    return orcl_df.loc["1995-01-01":"1997-12-31"].copy()


# -- folds -------------------------------------------------------------------------------------


def check_folds(times: np.ndarray, folds, gap: int) -> None:
    unique = np.unique(times)
    previous_train: set[int] = set()
    for train, val in folds:
        assert train.size and val.size
        t_train, t_val = times[train], times[val]
        # expanding: every fold starts at the beginning and contains the previous training set
        assert train[0] == 0
        assert previous_train < set(train.tolist())
        previous_train = set(train.tolist())
        # validation strictly after training, with >= gap distinct timestamps in between
        assert t_val.min() > t_train.max()
        between = (unique > t_train.max()) & (unique < t_val.min())
        assert between.sum() >= gap
        # no validation time appears in training (multi-symbol: same timestamps)
        assert not set(t_train.tolist()) & set(t_val.tolist())
        # every sample of a timestamp is on one side
        for t in (t_train.max(), t_val.min(), t_val.max()):
            assert np.isin(np.flatnonzero(times == t), np.concatenate([train, val])).all()


@pytest.mark.parametrize(("n_folds", "gap"), [(2, 5), (4, 5), (3, 10)])
def test_time_series_folds_single_symbol(n_folds, gap):
    times = np.arange(600, dtype=np.int64) * DAY
    folds = time_series_folds(times, n_folds, gap)
    assert len(folds) == n_folds
    check_folds(times, folds, gap)
    assert folds[-1][1][-1] == times.size - 1  # the last fold validates up to the end
    for (_, v1), (_, v2) in zip(folds, folds[1:], strict=False):
        assert times[v1].max() < times[v2].min()  # validation blocks do not overlap


def test_time_series_folds_several_symbols_sharing_timestamps():
    a = np.arange(400, dtype=np.int64) * DAY
    b = np.arange(150, 500, dtype=np.int64) * DAY
    times = np.sort(np.concatenate([a, b]), kind="stable")
    folds = time_series_folds(times, 3, 5)
    check_folds(times, folds, 5)


def test_time_series_folds_with_too_few_times_is_a_data_error():
    with pytest.raises(DataError, match="too few"):
        time_series_folds(np.arange(10, dtype=np.int64), 4, 5)


def test_fold_gap_used_by_the_trainer_is_at_least_the_horizon(tiny_training):
    h = tiny_training.train_config.horizon
    index = tiny_training.frame.index
    for fold in tiny_training.result.folds:
        end = index.get_loc(pd.Timestamp(fold.train_end))
        start = index.get_loc(pd.Timestamp(fold.val_start))
        assert start - end - 1 >= h


def test_windows_never_cross_a_segment_boundary():
    rng = np.random.default_rng(7)
    L, segs = 8, []
    for start_day, n in ((0, 200), (50, 150)):
        features = rng.standard_normal((n, 15))
        features[:30] = np.nan  # each symbol's own warm-up
        labels = rng.integers(0, 3, size=n)
        labels[-5:] = NO_LABEL
        times = (start_day + np.arange(n, dtype=np.int64)) * DAY
        segs.append(Segment(features, labels, times))
    samples = WindowSamples(segs, L)
    bounds = [(0, 200), (200, 350)]
    assert len(samples) == sum(n - 30 - (L - 1) - 5 for n in (200, 150))
    for end in samples.ends:
        lo, hi = next(b for b in bounds if b[0] <= end < b[1])
        assert end - L + 1 >= lo
        assert np.isfinite(samples.features[end - L + 1 : end + 1]).all()
        assert samples.labels[end] != NO_LABEL
    assert (np.diff(samples.bar_times[samples.ends]) >= 0).all()  # sorted by time


# -- scaler on training rows only --------------------------------------------------------------


def covered_rows_by_hand(
    features: np.ndarray, labels: np.ndarray, seq_len: int, last_end: int | None = None
) -> np.ndarray:
    n = features.shape[0]
    defined = np.isfinite(features).all(axis=1)
    rows: set[int] = set()
    for t in range(seq_len - 1, n if last_end is None else last_end + 1):
        if labels[t] != NO_LABEL and defined[t - seq_len + 1 : t + 1].all():
            rows.update(range(t - seq_len + 1, t + 1))
    return np.array(sorted(rows))


def test_final_scaler_is_fitted_on_the_covered_training_rows(tiny_training):
    frame, cfg = tiny_training.frame, tiny_training.train_config
    features = compute_features(frame).to_numpy()
    labels = make_labels(frame["close"].to_numpy(), cfg.horizon, cfg.flat_band)
    rows = covered_rows_by_hand(features, labels, tiny_training.model_config.seq_len)
    # the windows read from the end of the warm-up to the last labelled bar: never the last
    # `horizon` bars, whose labels would need prices after the training range
    assert rows[0] == warmup_bars()
    assert rows[-1] == len(frame) - cfg.horizon - 1
    sk = StandardScaler().fit(features[rows])
    for scaler in (tiny_training.result.scaler, load_artifact(tiny_training.path).scaler):
        np.testing.assert_allclose(scaler.mean, sk.mean_, rtol=1e-12, atol=0)
        np.testing.assert_allclose(scaler.scale, sk.scale_, rtol=1e-12, atol=0)


def test_every_fold_scaler_sees_only_its_training_rows(orcl_small, monkeypatch):
    fitted: list[np.ndarray] = []
    real_fit = FeatureScaler.fit.__func__

    def recording_fit(cls, rows, clip=10.0):
        fitted.append(np.array(rows, copy=True))
        return real_fit(cls, rows, clip)

    monkeypatch.setattr(FeatureScaler, "fit", classmethod(recording_fit))
    cfg, mcfg = small_config(folds=3), small_model()
    seg = segment_of(orcl_small, cfg)
    result = Trainer(mcfg, cfg, progress=False).fit([seg])
    assert len(fitted) == cfg.folds + 1  # one per fold, then the final fit
    index = orcl_small.index
    for fold, rows in zip(result.folds, fitted, strict=False):
        last_end = index.get_loc(pd.Timestamp(fold.train_end))
        expected = covered_rows_by_hand(seg.features, seg.labels, mcfg.seq_len, last_end)
        assert expected[-1] == last_end
        np.testing.assert_array_equal(rows, seg.features[expected])
    final = covered_rows_by_hand(seg.features, seg.labels, mcfg.seq_len)
    np.testing.assert_array_equal(fitted[-1], seg.features[final])


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_weights_and_another_seed_does_not(tiny_training):
    seg = segment_of(tiny_training.frame, TINY_TRAIN)
    first = parameters_digest(tiny_training.result.model)
    assert parameters_digest(load_artifact(tiny_training.path).model) == first
    again = Trainer(TINY_MODEL, TINY_TRAIN, progress=False).fit([seg])
    assert parameters_digest(again.model) == first
    assert [f.val_loss for f in again.folds] == [f.val_loss for f in tiny_training.result.folds]
    other_cfg = TrainConfig(**{**TINY_TRAIN.to_dict(), "seed": TINY_TRAIN.seed + 1})
    other = Trainer(TINY_MODEL, other_cfg, progress=False).fit([seg])
    assert parameters_digest(other.model) != first


def test_training_leaves_the_global_determinism_flag_alone(orcl_small):
    before = torch.are_deterministic_algorithms_enabled()
    Trainer(small_model(), small_config(), progress=False).fit(
        [segment_of(orcl_small, small_config())]
    )
    assert torch.are_deterministic_algorithms_enabled() == before


# -- NaN-loss guard ----------------------------------------------------------------------------


def test_diverging_training_raises_training_error(orcl_small):
    cfg = small_config(lr=1e30, epochs=2)
    with pytest.raises(TrainingError, match="diverged"):
        Trainer(small_model(), cfg, progress=False).fit([segment_of(orcl_small, cfg)])


def test_nan_loss_keeps_the_last_good_weights():
    rng = np.random.default_rng(0)
    scaled = rng.standard_normal((400, FeatureSpec().n_features)).astype(np.float32)
    labels = rng.integers(0, 3, size=400).astype(np.int64)
    batches = WindowBatches(scaled, labels, np.arange(7, 400), seq_len=8)
    trainer = Trainer(small_model(), small_config(batch_size=32), progress=False)
    model = trainer._new_model(0)
    optimizer = trainer._optimizer(model)
    criterion = trainer._criterion(labels)
    gen = np.random.default_rng(1)
    trainer._train_epoch(model, optimizer, criterion, batches, gen, "epoch 1")  # a good epoch
    good = copy.deepcopy(model.state_dict())
    for group in optimizer.param_groups:
        group["lr"] = 1e30  # the next epoch blows up after its first step
    with pytest.raises(TrainingError, match="epoch 2"):
        trainer._train_epoch(model, optimizer, criterion, batches, gen, "epoch 2")
    state = model.state_dict()
    for name, tensor in good.items():
        assert torch.isfinite(state[name]).all(), name
        torch.testing.assert_close(state[name], tensor, rtol=0, atol=0)


# -- too little data ---------------------------------------------------------------------------


def test_too_little_data_is_a_data_error(orcl_df):
    cfg = small_config()
    short = orcl_df.iloc[:70]  # 9 labelled windows after the warm-up: too few for 2 folds
    with pytest.raises(DataError):
        Trainer(small_model(), cfg, progress=False).fit([segment_of(short, cfg)])


def test_no_segments_or_no_usable_window_is_a_data_error():
    cfg = small_config()
    with pytest.raises(DataError):
        Trainer(small_model(), cfg, progress=False).fit([])
    n = 300
    nan_features = np.full((n, 15), np.nan)
    seg = Segment(nan_features, np.zeros(n, dtype=np.int64), np.arange(n, dtype=np.int64) * DAY)
    with pytest.raises(DataError):
        Trainer(small_model(), cfg, progress=False).fit([seg])
