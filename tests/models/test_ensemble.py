"""Ensembles: K seeded members in one artifact (``member{i}.`` keys), each calibrated, their
probabilities averaged, with batched / per-bar parity; and the Trainer's ``ensemble`` setting."""

from __future__ import annotations

import numpy as np
import pytest
import safetensors.torch
import torch

from bt_attention_lstm.models.artifact import (
    WEIGHTS_FILE,
    load_artifact,
    parameters_digest,
    save_artifact,
)
from bt_attention_lstm.models.config import TrainConfig
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.inference.predictors import BatchedPredictor, StreamingPredictor
from bt_attention_lstm.models.nn.ensemble import AveragedEnsemble
from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.models.nn.stacked_network import StackedFusedEnsemble
from bt_attention_lstm.models.training.calibration import VectorScaling
from bt_attention_lstm.models.training.pipeline import train_and_save
from tests.conftest import TINY_MODEL
from tests.models.helpers import sharp_random_model, torch_in_flight_probabilities

N_FEATURES = FeatureSpec().n_features
CFG = ModelConfig(n_features=N_FEATURES, hidden=16, layers=2, heads=2, dropout=0.0, seq_len=7)
ATOL = 1e-5
CALIBRATIONS = [
    VectorScaling((0.5, 0.9, 0.3), (0.2, -0.3, 0.1), "vector"),
    VectorScaling((0.0, 0.0, 0.0), (-1.0, -1.2, -0.9), "prior"),
    VectorScaling((1.0, 0.6, 0.8), (0.0, 0.1, -0.1), "vector"),
]


def member(seed: int) -> AttentionLSTM:
    return sharp_random_model(CFG, seed)


@pytest.fixture(scope="module")
def ensemble_artifact(tmp_path_factory):
    rng = np.random.default_rng(0)
    raw = rng.normal(loc=0.3, scale=1.7, size=(150, N_FEATURES))
    out = tmp_path_factory.mktemp("ensemble") / "m"
    members = [member(s) for s in (1, 2, 3)]
    save_artifact(out, members, FeatureScaler.fit(raw), FeatureSpec(), 5, {},
                  calibrations=CALIBRATIONS)
    return load_artifact(out), raw, members


def reference(art, raw: np.ndarray, members) -> np.ndarray:
    """Each raw member's calibrated probabilities, averaged, computed by hand."""
    scaled = torch.from_numpy(art.scaler.transform(raw)).float()
    windows = scaled.unfold(0, CFG.seq_len, 1).transpose(1, 2).contiguous()
    probs = []
    with torch.no_grad():
        for m, cal in zip(members, CALIBRATIONS, strict=True):
            probs.append(cal.probabilities(m(windows).double().numpy()))
    return np.mean(probs, axis=0)


def test_members_are_stored_under_prefixed_keys(ensemble_artifact):
    art, _, members = ensemble_artifact
    state = safetensors.torch.load_file(str(art.path / WEIGHTS_FILE))
    n_params = len(members[0].state_dict())
    assert len(state) == 3 * n_params
    assert {k.split(".")[0] for k in state} == {"member0", "member1", "member2"}
    assert art.meta["ensemble_size"] == 3
    assert len(art.members) == 3 and isinstance(art.model, AveragedEnsemble)
    for k, m in enumerate(members):  # raw weights saved as given, calibration kept apart
        own = {name.removeprefix(f"member{k}."): t for name, t in state.items()
               if name.startswith(f"member{k}.")}
        for name, tensor in m.state_dict().items():
            assert torch.equal(own[name], tensor), name


def test_softmax_of_the_ensemble_is_the_average_of_calibrated_members(ensemble_artifact):
    art, raw, members = ensemble_artifact
    expected = reference(art, raw, members)
    scaled = torch.from_numpy(art.scaler.transform(raw)).float()
    windows = scaled.unfold(0, CFG.seq_len, 1).transpose(1, 2).contiguous()
    with torch.no_grad():
        got = torch.softmax(art.model(windows), dim=-1).double().numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    single = CALIBRATIONS[0].probabilities(members[0](windows).detach().double().numpy())
    assert np.abs(single - expected).max() > 1e-2  # averaging changed something


def test_batched_and_per_bar_paths_agree_for_an_ensemble(ensemble_artifact):
    art, raw, members = ensemble_artifact
    expected = reference(art, raw, members)
    L = CFG.seq_len
    batched = BatchedPredictor(art, "cpu", threads=2).probabilities(raw, L - 1, raw.shape[0])
    np.testing.assert_allclose(batched, expected, rtol=0, atol=ATOL)
    streaming = StreamingPredictor(art, "cpu")
    per_bar = []
    for row in raw:
        streaming.push(row)
        if streaming.ready:
            per_bar.append(streaming.predict())
    np.testing.assert_allclose(np.array(per_bar), batched, rtol=0, atol=ATOL)


@pytest.mark.parametrize("layers", [1, 2])
def test_stacked_members_compute_the_averaged_ensemble(layers):
    """The members' fused twins stacked into one network (block-diagonal LSTM, batched tails)
    give log(mean softmax) of the members, as AveragedEnsemble does."""
    cfg = ModelConfig(n_features=N_FEATURES, hidden=16, layers=layers, heads=2, dropout=0.0,
                      seq_len=7)
    members = [sharp_random_model(cfg, s).eval() for s in (4, 5, 6)]
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(33, 7, N_FEATURES))).float()
    stacked = StackedFusedEnsemble([FusedAttentionLSTM(m) for m in members])
    assert stacked.lstm.hidden_size == 3 * cfg.hidden
    with torch.no_grad():
        expected = AveragedEnsemble(members)(x)
        got = stacked(x)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=0, atol=ATOL)


def test_torch_in_flight_windows_run_the_stacked_ensemble(ensemble_artifact):
    """The torch per-bar path (CUDA's) on the stacked ensemble, driven on the CPU."""
    art, raw, members = ensemble_artifact
    got = torch_in_flight_probabilities(StreamingPredictor(art, "cpu").model, art, raw)
    np.testing.assert_allclose(got, reference(art, raw, members), rtol=0, atol=ATOL)


def test_predictors_run_an_ensemble_as_one_stacked_network(ensemble_artifact):
    art, _, _ = ensemble_artifact
    for predictor in (BatchedPredictor(art, "cpu"), StreamingPredictor(art, "cpu")):
        assert isinstance(predictor.model, StackedFusedEnsemble)
        assert predictor.model.members == 3


def test_a_stacked_ensemble_needs_two_members_of_one_architecture():
    with pytest.raises(ValueError, match="at least two"):
        StackedFusedEnsemble([FusedAttentionLSTM(member(1))])
    other = ModelConfig(n_features=N_FEATURES, hidden=8, layers=2, heads=2, seq_len=7)
    with pytest.raises(ValueError, match="one architecture"):
        StackedFusedEnsemble([FusedAttentionLSTM(member(1)),
                              FusedAttentionLSTM(sharp_random_model(other, 2))])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_average_the_members(ensemble_artifact):
    art, raw, members = ensemble_artifact
    expected = reference(art, raw, members)
    streaming = StreamingPredictor(art, "cuda", cuda_graphs=True)
    out = []
    for row in raw:
        streaming.push(row)
        if streaming.ready:
            out.append(streaming.predict())
    np.testing.assert_allclose(np.array(out), expected, rtol=0, atol=1e-4)


def test_save_refuses_members_without_one_calibration_each(tmp_path):
    scaler = FeatureScaler.fit(np.random.default_rng(0).normal(size=(20, N_FEATURES)))
    with pytest.raises(ValueError, match="calibration"):
        save_artifact(tmp_path / "m", [member(1), member(2)], scaler, FeatureSpec(), 5, {},
                      calibrations=CALIBRATIONS[:1])
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("k", [0, -1, True, 1.5])
def test_ensemble_size_must_be_a_positive_integer(k):
    with pytest.raises(ConfigError, match="ensemble"):
        TrainConfig(objective="classify", ensemble=k)


def test_trainer_builds_an_ensemble_of_differently_seeded_members(orcl_df, tmp_path):
    frame = orcl_df.loc["1995-01-01":"1998-12-31"].copy()
    config = TrainConfig(
        objective="classify", epochs=1, folds=2, patience=1, batch_size=128, seed=3, device="cpu",
                         ensemble=2)
    path, result = train_and_save([frame], TINY_MODEL, config, tmp_path / "m", progress=False)
    assert len(result.members) == 2
    digests = {parameters_digest(m) for m in result.members}
    assert len(digests) == 2  # different seeds, different weights
    for fold in result.folds:
        assert len(fold.chosen_epochs) == len(fold.calibration) == 2
    art = load_artifact(path)
    assert len(art.members) == 2
    assert art.meta["cv"]["ensemble"] == 2
    assert art.meta["training"]["config"]["ensemble"] == 2
    x = torch.randn(5, TINY_MODEL.seq_len, TINY_MODEL.n_features)
    with torch.no_grad():
        torch.testing.assert_close(art.model(x), result.model(x), rtol=0, atol=1e-6)
