"""The inference fast paths compute the trained network's function: FusedAttentionLSTM (input
projection folded into the LSTM, single-query attention reassociated), the per-bar windows in
flight (InFlightWindows in torch for CUDA, NumpyInFlightWindows on the CPU: hand-written LSTM
cells advancing every open window per bar), the worker-thread batched path,
the opt-in bf16 path, and the one-row feature arithmetic of the per-bar FeatureVector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.data.synthetic import synthetic_market
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import feature_matrix, warmup_bars
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.inference.numpy_windows import NumpyInFlightWindows
from bt_attention_lstm.models.inference.predictors import (
    CPU_CHUNK,
    BatchedPredictor,
    StreamingPredictor,
    numpy_per_bar,
)
from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM, folded_lstm
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from tests.models.helpers import torch_in_flight_probabilities

N_FEATURES = FeatureSpec().n_features
CONFIGS = {
    "default": ModelConfig(n_features=N_FEATURES),
    "one_layer": ModelConfig(n_features=N_FEATURES, hidden=16, layers=1, heads=2, seq_len=10),
    "three_layers_one_head": ModelConfig(
        n_features=N_FEATURES, hidden=24, layers=3, heads=1, seq_len=7
    ),
}
ATOL = 1e-5


def scaled_model(cfg: ModelConfig, seed: int = 0, gain: float = 3.0) -> AttentionLSTM:
    """A random model with weights scaled up so that every gate saturates somewhere: a wrong
    gate order or a dropped term would show far above the tolerance."""
    torch.manual_seed(seed)
    model = AttentionLSTM(cfg)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(gain)
    return model.eval()


def windows_of(rows: torch.Tensor, seq_len: int) -> torch.Tensor:
    return rows.unfold(0, seq_len, 1).transpose(1, 2).contiguous()


def make_artifact(
    tmp_path: Path, cfg: ModelConfig, n_rows: int = 600
) -> tuple[Artifact, np.ndarray]:
    rng = np.random.default_rng(1)
    raw = rng.normal(loc=0.5, scale=2.0, size=(n_rows, cfg.n_features))
    scaler = FeatureScaler.fit(raw)
    save_artifact(tmp_path / "model", scaled_model(cfg), scaler, FeatureSpec(), 5, {})
    return load_artifact(tmp_path / "model"), raw


def reference_probabilities(artifact: Artifact, raw: np.ndarray) -> np.ndarray:
    """The trained module itself on every window of the scaled rows."""
    scaled = torch.from_numpy(artifact.scaler.transform(raw))
    with torch.no_grad():
        logits = artifact.model.eval()(windows_of(scaled, artifact.seq_len))
    return torch.softmax(logits, dim=-1).double().numpy()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_network_computes_the_same_logits(name):
    cfg = CONFIGS[name]
    model = scaled_model(cfg)
    x = torch.randn(64, cfg.seq_len, cfg.n_features) * 2
    with torch.no_grad():
        expected = model(x)
        got = FusedAttentionLSTM(model)(x)
    assert expected.abs().max() > 0.1  # not a degenerate comparison
    torch.testing.assert_close(got, expected, rtol=0, atol=ATOL)


def test_folded_lstm_equals_projection_then_lstm():
    model = scaled_model(CONFIGS["default"])
    x = torch.randn(8, 20, N_FEATURES)
    with torch.no_grad():
        expected, _ = model.lstm(model.input_proj(x))
        got, _ = folded_lstm(model)(x)
    torch.testing.assert_close(got, expected, rtol=0, atol=ATOL)


def test_fused_network_keeps_the_artifact_untouched(tmp_path):
    artifact, _ = make_artifact(tmp_path, CONFIGS["one_layer"])
    before = {k: v.clone() for k, v in artifact.model.state_dict().items()}
    FusedAttentionLSTM(artifact.model)
    after = artifact.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_streaming_in_flight_windows_equal_the_module_bar_by_bar(tmp_path, name):
    artifact, raw = make_artifact(tmp_path, CONFIGS[name], n_rows=150)
    expected = reference_probabilities(artifact, raw)
    predictor = StreamingPredictor(artifact, "cpu")
    got = []
    for row in raw:
        predictor.push(row)
        if predictor.ready:
            got.append(predictor.predict())
    got = np.asarray(got)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    assert np.abs(expected - 1 / 3).max() > 0.05  # the probabilities really vary


@pytest.mark.parametrize("name", list(CONFIGS))
def test_torch_in_flight_windows_equal_the_module_on_the_cpu(tmp_path, name):
    """CUDA runs InFlightWindows (the CPU predictor runs numpy): pinned here without a GPU."""
    artifact, raw = make_artifact(tmp_path, CONFIGS[name], n_rows=120)
    network = FusedAttentionLSTM(artifact.model)
    got = torch_in_flight_probabilities(network, artifact, raw)
    np.testing.assert_allclose(got, reference_probabilities(artifact, raw), rtol=0, atol=ATOL)


@pytest.mark.parametrize("name, numpy", [("one_layer", True), ("three_layers_one_head", True),
                                         ("default", False)])
def test_the_cpu_predictor_runs_small_networks_in_numpy(tmp_path, name, numpy):
    """Small networks (the default model) run per bar in numpy; the design network's products
    are large enough for torch's kernels to win, and it keeps the torch windows."""
    artifact, _ = make_artifact(tmp_path, CONFIGS[name], n_rows=50)
    assert numpy_per_bar(CONFIGS[name]) is numpy
    predictor = StreamingPredictor(artifact, "cpu")
    assert isinstance(predictor._numpy, NumpyInFlightWindows) is numpy
    assert (predictor._windows is None) is numpy


def test_streaming_refuses_to_predict_before_a_full_window(tmp_path):
    artifact, raw = make_artifact(tmp_path, CONFIGS["one_layer"], n_rows=50)
    predictor = StreamingPredictor(artifact, "cpu")
    for row in raw[: artifact.seq_len - 1]:
        predictor.push(row)
    with pytest.raises(ValueError, match="rows pushed"):
        predictor.predict()
    predictor.push(raw[artifact.seq_len - 1])
    assert predictor.predict().shape == (3,)


def test_cuda_graphs_need_a_cuda_device(tmp_path):
    artifact, _ = make_artifact(tmp_path, CONFIGS["one_layer"], n_rows=50)
    with pytest.raises(ConfigError, match="CUDA"):
        StreamingPredictor(artifact, "cpu", cuda_graphs=True)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batched_worker_threads_give_the_module_probabilities(tmp_path, threads):
    # 2.5 chunks of windows: uneven worker shares and a partial last chunk
    cfg = CONFIGS["default"]
    artifact, raw = make_artifact(tmp_path, cfg, n_rows=CPU_CHUNK * 5 // 2 + cfg.seq_len - 1)
    expected = reference_probabilities(artifact, raw)
    predictor = BatchedPredictor(artifact, "cpu", threads=threads)
    got = predictor.probabilities(raw, cfg.seq_len - 1, raw.shape[0])
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_batched_path_restores_the_thread_setting(tmp_path):
    cfg = CONFIGS["one_layer"]
    artifact, raw = make_artifact(tmp_path, cfg, n_rows=CPU_CHUNK * 3)
    before = torch.get_num_threads()
    BatchedPredictor(artifact, "cpu", threads=2).probabilities(raw, cfg.seq_len - 1, len(raw))
    assert torch.get_num_threads() == before


def test_bf16_opt_in_stays_within_its_tolerance(tmp_path):
    cfg = CONFIGS["default"]
    artifact, raw = make_artifact(tmp_path, cfg, n_rows=300)
    fp32 = BatchedPredictor(artifact, "cpu").probabilities(raw, cfg.seq_len - 1, len(raw))
    bf16 = BatchedPredictor(artifact, "cpu", dtype=torch.bfloat16).probabilities(
        raw, cfg.seq_len - 1, len(raw)
    )
    diff = np.abs(bf16 - fp32).max()
    assert 0 < diff <= 2e-2  # really reduced precision, and still close
    np.testing.assert_allclose(bf16.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_replay_equals_the_cpu_stream(tmp_path):
    artifact, raw = make_artifact(tmp_path, CONFIGS["default"], n_rows=120)
    expected = reference_probabilities(artifact, raw)
    graphs = StreamingPredictor(artifact, "cuda", cuda_graphs=True)
    got = []
    for row in raw:
        graphs.push(row)
        if graphs.ready:
            got.append(graphs.predict())
    np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("n_bars", [30, 200, 768])
def test_feature_matrix_last_rows_equal_the_full_matrix_exactly(n_bars):
    df = synthetic_market(n_bars, seed=3)
    cols = [df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    full = feature_matrix(*cols)
    for k in (1, 2, 25, n_bars):
        got = feature_matrix(*cols, last=k)
        np.testing.assert_array_equal(got, full[n_bars - min(k, n_bars) :])
    assert np.isfinite(full[-1]).all() == (n_bars > warmup_bars())
