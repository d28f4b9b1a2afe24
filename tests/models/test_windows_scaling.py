"""WindowBatches (views, never N x L x F copies) and FeatureScaler (clip, JSON round trip)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.features.scaling import CLIP, FeatureScaler
from bt_attention_lstm.models.training.windows import WindowBatches


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    scaled = rng.standard_normal((200, 6)).astype(np.float32)
    labels = rng.integers(0, 3, size=200).astype(np.int64)
    return scaled, labels


# -- windows -----------------------------------------------------------------------------------


def test_windows_are_a_view_of_the_scaled_array(data):
    scaled, labels = data
    wb = WindowBatches(scaled, labels, np.arange(9, 200), seq_len=10)
    assert np.shares_memory(wb._windows, scaled)
    assert wb._windows.base is not None
    # the view costs no memory of its own: its strides walk the original buffer
    assert wb._windows.strides[0] == scaled.strides[0]
    assert len(wb) == 191


def test_a_batch_equals_the_slices_ending_at_each_bar(data):
    scaled, labels = data
    L = 10
    ends = np.array([9, 10, 57, 199, 120])
    wb = WindowBatches(scaled, labels, ends, seq_len=L)
    x, y = wb.batch(np.arange(len(ends)))
    assert isinstance(x, torch.Tensor)
    assert x.shape == (len(ends), L, scaled.shape[1])
    assert x.dtype == torch.float32
    for k, t in enumerate(ends):
        np.testing.assert_array_equal(x[k].numpy(), scaled[t - L + 1 : t + 1])
        assert y[k].item() == labels[t]
    # a served batch is a copy: changing it leaves the features alone
    before = scaled.copy()
    x[:] = 0
    np.testing.assert_array_equal(scaled, before)


def test_iterate_serves_every_window_once(data):
    scaled, labels = data
    ends = np.arange(4, 200)
    wb = WindowBatches(scaled, labels, ends, seq_len=5)
    in_order = torch.cat([y for _, y in wb.iterate(32)])
    np.testing.assert_array_equal(in_order.numpy(), labels[ends])
    shuffled = [y for _, y in wb.iterate(32, np.random.default_rng(1))]
    assert max(len(y) for y in shuffled) == 32
    got = torch.cat(shuffled).numpy()
    assert not np.array_equal(got, labels[ends])
    np.testing.assert_array_equal(np.sort(got), np.sort(labels[ends]))


def test_a_window_starting_before_the_first_row_is_refused(data):
    scaled, labels = data
    with pytest.raises(ValueError):
        WindowBatches(scaled, labels, np.array([8, 20]), seq_len=10)
    with pytest.raises(ValueError):
        WindowBatches(scaled[:, 0], labels, np.array([20]), seq_len=10)


# -- scaler ------------------------------------------------------------------------------------


def test_scaler_standardises_and_clips_to_ten():
    rng = np.random.default_rng(2)
    rows = rng.normal(5.0, 3.0, size=(500, 4))
    scaler = FeatureScaler.fit(rows)
    np.testing.assert_allclose(scaler.mean, rows.mean(axis=0))
    np.testing.assert_allclose(scaler.scale, rows.std(axis=0))
    z = scaler.transform(rows, out_dtype=np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    assert scaler.clip == CLIP == 10.0
    outliers = scaler.mean + np.array([[1e6, -1e6, 10.5, -10.5]]) * scaler.scale
    out = scaler.transform(outliers)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[10.0, -10.0, 10.0, -10.0]])
    assert (np.abs(scaler.transform(rng.normal(5, 300, size=(1000, 4)))) <= 10.0).all()


def test_scaler_fit_refuses_non_finite_or_too_few_rows():
    with pytest.raises(ValueError):
        FeatureScaler.fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ValueError):
        FeatureScaler.fit(np.ones((1, 3)))


def test_scaler_round_trips_through_json():
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(100, 5)) * [1e-4, 1, 10, 1e3, 0.3]
    scaler = FeatureScaler.fit(rows, clip=7.5)
    raw = json.loads(json.dumps(scaler.to_dict()))
    back = FeatureScaler.from_dict(raw, n_features=5)
    np.testing.assert_array_equal(back.mean, scaler.mean)
    np.testing.assert_array_equal(back.scale, scaler.scale)
    assert back.clip == 7.5
    probe = rng.normal(size=(50, 5)) * 100
    np.testing.assert_array_equal(back.transform(probe), scaler.transform(probe))


def good_dict(n: int = 3) -> dict:
    return {"mean": [0.0] * n, "scale": [1.0] * n, "clip": 10.0}


@pytest.mark.parametrize(
    "raw",
    [
        {**good_dict(), "mean": [0.0, 0.0]},  # wrong length
        {**good_dict(), "scale": [1.0] * 4},
        {**good_dict(), "mean": [[0.0, 0.0, 0.0]]},  # wrong rank
        {**good_dict(), "scale": [1.0, 0.0, 1.0]},  # zero scale
        {**good_dict(), "scale": [1.0, -2.0, 1.0]},  # negative scale
        {**good_dict(), "mean": [0.0, float("nan"), 0.0]},
        {**good_dict(), "scale": [1.0, float("inf"), 1.0]},
        {"scale": [1.0] * 3},  # missing mean
        {**good_dict(), "mean": ["a", "b", "c"]},
        {**good_dict(), "clip": "wide"},
    ],
)
def test_scaler_from_dict_rejects_bad_values(raw):
    with pytest.raises(ArtifactError):
        FeatureScaler.from_dict(raw, n_features=3)


@pytest.mark.parametrize("clip", [0.0, -1.0, float("nan"), float("inf")])
def test_scaler_from_dict_rejects_a_non_positive_or_non_finite_clip(clip):
    # clip 0 or < 0 would feed the model constants, NaN would make every feature NaN
    with pytest.raises(ArtifactError):
        FeatureScaler.from_dict({**good_dict(), "clip": clip}, n_features=3)
