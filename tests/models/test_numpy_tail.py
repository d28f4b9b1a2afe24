"""NumpyTail computes the fused network's tail (attention, feed-forward block, head, softmax,
members averaged) of one finished window, in float64 and in float32, for a single network and
for a stacked ensemble; the CPU predictor of a network too large for the numpy windows finishes
each bar with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bt_attention_lstm.models.artifact import load_artifact, save_artifact
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.inference.numpy_tail import NumpyTail
from bt_attention_lstm.models.inference.predictors import StreamingPredictor
from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM, FusedNetwork
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.nn.stacked_network import StackedFusedEnsemble
from tests.models.helpers import sharp_random_model

N_FEATURES = FeatureSpec().n_features
CONFIG = ModelConfig(n_features=N_FEATURES, hidden=24, layers=2, heads=3, seq_len=9)


def networks() -> dict[str, FusedNetwork]:
    single = FusedAttentionLSTM(sharp_random_model(CONFIG, 1))
    stacked = StackedFusedEnsemble(
        [FusedAttentionLSTM(sharp_random_model(CONFIG, s)) for s in (2, 3, 4)]
    )
    return {"single": single, "ensemble": stacked}


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-6), (np.float32, 1e-5)])
@pytest.mark.parametrize("name", ["single", "ensemble"])
def test_the_numpy_tail_equals_the_torch_tail(name, dtype, atol):
    network = networks()[name]
    width = network.config.hidden
    windows = torch.randn(16, CONFIG.seq_len, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = torch.softmax(network.tail(windows), dim=-1).double().numpy()
    tail = NumpyTail(network, dtype)
    got = np.stack([tail.probabilities(w.numpy().astype(dtype)) for w in windows])
    assert got.dtype == np.float64
    assert np.abs(expected - 1 / 3).max() > 0.05  # the probabilities really vary
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


def test_a_wide_network_runs_torch_windows_and_the_float32_numpy_tail(tmp_path: Path):
    cfg = ModelConfig(n_features=N_FEATURES)  # the design architecture: torch windows on CPU
    raw = np.random.default_rng(1).normal(size=(60, N_FEATURES))
    save_artifact(tmp_path / "m", sharp_random_model(cfg), FeatureScaler.fit(raw), FeatureSpec(),
                  5, {})
    predictor = StreamingPredictor(load_artifact(tmp_path / "m"), "cpu")
    assert predictor._numpy is None and predictor._windows is not None
    assert predictor._cpu_tail is not None
    assert predictor._cpu_tail.dtype == np.float32
