"""Calibration: vector scaling fitted by log-loss, the fallback to the class prior, folding into
the network's head, and the calibration applied by every inference path of a saved artifact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import bt_attention_lstm.models.artifact as artifact_mod
from bt_attention_lstm.models.artifact import META_FILE, load_artifact, save_artifact
from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.inference.predictors import BatchedPredictor, StreamingPredictor
from bt_attention_lstm.models.nn.fused_network import FusedAttentionLSTM
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.models.training.calibration import (
    MIN_CALIBRATION_WINDOWS,
    VectorScaling,
    beats_prior_in_each_part,
    beats_prior_inside,
    calibrate,
    calibrate_members,
    calibrate_members_out_of_fold,
    calibrate_out_of_fold,
    fit_vector_scaling,
    log_loss,
    softmax,
)
from tests.models.helpers import sharp_random_model

N_FEATURES = FeatureSpec().n_features
CFG = ModelConfig(n_features=N_FEATURES, hidden=16, layers=1, heads=2, dropout=0.0, seq_len=6)
ATOL = 1e-5
CALIBRATION = VectorScaling((0.4, 0.7, 0.2), (0.3, -0.5, 0.1), "vector")


def random_model(seed: int = 0) -> AttentionLSTM:
    return sharp_random_model(CFG, seed)


def sample_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(probs.shape[0])[:, None]
    return (u > probs.cumsum(axis=1)).sum(axis=1)


# -- fitting -----------------------------------------------------------------------------------


def test_vector_scaling_recovers_known_scales_and_biases():
    rng = np.random.default_rng(0)
    z = rng.normal(scale=2.0, size=(40_000, 3))
    truth = VectorScaling((0.5, 0.8, 0.3), (0.2, -0.4, 0.2), "vector")
    labels = sample_labels(truth.probabilities(z), rng)
    fitted = fit_vector_scaling(z, labels)
    np.testing.assert_allclose(fitted.scale, truth.scale, atol=0.05)
    np.testing.assert_allclose(fitted.bias, truth.bias, atol=0.05)  # both centred
    assert fitted.kind == "vector"


def test_scales_stay_within_zero_and_one():
    rng = np.random.default_rng(1)
    z = rng.normal(scale=0.3, size=(5_000, 3))  # under-confident logits want a scale > 1
    labels = sample_labels(softmax(4.0 * z), rng)
    fitted = fit_vector_scaling(z, labels)
    assert all(0.0 <= s <= 1.0 for s in fitted.scale)
    assert max(fitted.scale) == pytest.approx(1.0)


def test_logits_without_information_fall_back_to_the_training_fold_prior():
    rng = np.random.default_rng(2)
    n = 4 * MIN_CALIBRATION_WINDOWS
    z = rng.normal(scale=3.0, size=(n, 3))  # confident, and unrelated to the labels
    labels = rng.choice(3, size=n, p=[0.3, 0.2, 0.5])
    fold_labels = rng.choice(3, size=3 * n, p=[0.25, 0.25, 0.5])
    chosen = calibrate(z, labels, fold_labels, block=5)
    assert chosen.kind == "prior"
    assert chosen.scale == (0.0, 0.0, 0.0)
    freq = np.bincount(fold_labels, minlength=3) / fold_labels.size
    np.testing.assert_allclose(chosen.probabilities(z), np.broadcast_to(freq, z.shape), atol=1e-12)
    # the raw logits would have cost far more than the prior
    assert log_loss(softmax(z), labels) > log_loss(chosen.probabilities(z), labels) + 0.5


def test_informative_logits_keep_a_vector_scaling_that_beats_the_prior():
    rng = np.random.default_rng(3)
    n = 2 * MIN_CALIBRATION_WINDOWS
    z = rng.normal(size=(n, 3))
    labels = sample_labels(softmax(1.5 * z), rng)
    chosen = calibrate(z, labels, labels, block=5)
    assert chosen.kind == "vector"
    prior = np.bincount(labels, minlength=3) / n
    assert log_loss(chosen.probabilities(z), labels) < log_loss(
        np.broadcast_to(prior, z.shape), labels
    )


def test_a_slice_too_small_to_judge_gives_the_prior():
    rng = np.random.default_rng(4)
    n = MIN_CALIBRATION_WINDOWS - 1
    z = rng.normal(size=(n, 3))
    labels = sample_labels(softmax(3.0 * z), rng)  # strongly informative, but too few windows
    assert calibrate(z, labels, labels).kind == "prior"


def test_out_of_fold_logits_of_several_networks_are_judged_each_on_its_own_scale():
    """Two fold networks that know the same thing on different logit scales (one ten times as
    confident): a single scaling fitted on one half of the pooled logits and scored on the
    other cannot serve both and fails, each network cross-fitted on its own passes, and the
    final calibration is kept."""
    rng = np.random.default_rng(5)
    n = 2 * MIN_CALIBRATION_WINDOWS
    parts, label_parts = [], []
    for confidence in (1.0, 10.0):
        z = rng.normal(size=(n, 3))
        label_parts.append(sample_labels(softmax(1.5 * z), rng))
        parts.append(confidence * z)
    labels = np.concatenate(label_parts)
    anchor = np.log(np.bincount(labels, minlength=3) / labels.size)
    assert not beats_prior_inside(np.concatenate(parts), labels, anchor, block=5)
    assert beats_prior_in_each_part(parts, label_parts, anchor, block=5)
    assert calibrate_out_of_fold(parts, label_parts, labels, block=5).kind == "vector"


def test_out_of_fold_logits_without_information_give_the_prior():
    rng = np.random.default_rng(6)
    n = 2 * MIN_CALIBRATION_WINDOWS
    parts = [rng.normal(scale=s, size=(n, 3)) for s in (1.0, 3.0, 0.3)]
    label_parts = [rng.choice(3, size=n, p=[0.3, 0.3, 0.4]) for _ in parts]
    fold_labels = np.concatenate(label_parts)
    assert calibrate_out_of_fold(parts, label_parts, fold_labels, block=5).kind == "prior"


def test_ensemble_members_pass_the_gate_together_on_their_averaged_probabilities():
    """One informative member and two that know nothing: judged one by one, two would be the
    prior and dilute the third in the average; judged together they all keep a scaling, and
    the ones with nothing to say scale their logits to (almost) nothing on their own."""
    rng = np.random.default_rng(7)
    n = 3 * MIN_CALIBRATION_WINDOWS
    informative = rng.normal(size=(n, 3))
    labels = sample_labels(softmax(1.5 * informative), rng)
    noise = [rng.normal(size=(n, 3)) for _ in range(2)]
    member_logits = [informative, *noise]
    assert [calibrate(z, labels, labels, block=5).kind for z in member_logits] == [
        "vector", "prior", "prior"]
    chosen = calibrate_members(member_logits, labels, labels, block=5)
    assert [c.kind for c in chosen] == ["vector"] * 3
    assert max(chosen[0].scale) > 0.5
    assert all(max(c.scale) < 0.2 for c in chosen[1:])
    # out of fold: the same, part by part
    split = n // 2
    parts = [[z[:split], z[split:]] for z in member_logits]
    label_parts = [labels[:split], labels[split:]]
    final = calibrate_members_out_of_fold(parts, label_parts, labels, block=5)
    assert [c.kind for c in final] == ["vector"] * 3


def test_ensemble_members_without_information_are_all_the_prior():
    rng = np.random.default_rng(8)
    n = 3 * MIN_CALIBRATION_WINDOWS
    labels = rng.choice(3, size=n, p=[0.3, 0.3, 0.4])
    member_logits = [rng.normal(scale=s, size=(n, 3)) for s in (1.0, 3.0)]
    chosen = calibrate_members(member_logits, labels, labels, block=5)
    assert chosen == [VectorScaling.prior(labels)] * 2
    parts = [[z[: n // 2], z[n // 2:]] for z in member_logits]
    final = calibrate_members_out_of_fold(parts, [labels[: n // 2], labels[n // 2:]], labels,
                                          block=5)
    assert final == [VectorScaling.prior(labels)] * 2


# -- folding into the head ---------------------------------------------------------------------


def test_folded_network_equals_scaled_logits_of_the_raw_one():
    model = random_model()
    x = torch.randn(32, CFG.seq_len, N_FEATURES) * 2
    with torch.no_grad():
        raw = model(x).double().numpy()
        folded = CALIBRATION.fold_into(model)(x).double().numpy()
    np.testing.assert_allclose(folded, CALIBRATION.apply(raw), rtol=0, atol=ATOL)
    np.testing.assert_allclose(
        softmax(folded), CALIBRATION.probabilities(raw), rtol=0, atol=ATOL
    )
    assert not np.allclose(softmax(raw), softmax(folded), atol=1e-2)  # it did change something


def test_identity_folds_exactly_and_leaves_the_model_alone():
    model = random_model(1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = VectorScaling.identity().fold_into(model)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name
        assert torch.equal(folded.state_dict()[name], tensor), name
    CALIBRATION.fold_into(model)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name  # fold_into works on a copy


# -- artifacts and every inference path --------------------------------------------------------


def save_calibrated(out: Path, calibration: VectorScaling | None) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(5)
    raw = rng.normal(loc=0.2, scale=1.5, size=(120, N_FEATURES))
    calibrations = None if calibration is None else [calibration]
    save_artifact(out, random_model(), FeatureScaler.fit(raw), FeatureSpec(), 5, {},
                  calibrations=calibrations)
    return out, raw


def expected_probabilities(raw_rows: np.ndarray, scaler: FeatureScaler,
                           calibration: VectorScaling) -> np.ndarray:
    scaled = torch.from_numpy(scaler.transform(raw_rows))
    windows = scaled.unfold(0, CFG.seq_len, 1).transpose(1, 2).contiguous()
    with torch.no_grad():
        logits = random_model()(windows.float()).double().numpy()
    return calibration.probabilities(logits)


def test_every_inference_path_applies_the_stored_calibration(tmp_path):
    path, raw = save_calibrated(tmp_path / "m", CALIBRATION)
    meta = json.loads((path / META_FILE).read_text())
    assert meta["calibration"] == [CALIBRATION.to_dict()]
    art = load_artifact(path)
    assert art.calibrations == (CALIBRATION,)
    expected = expected_probabilities(raw, art.scaler, CALIBRATION)
    L = CFG.seq_len
    batched = BatchedPredictor(art, "cpu").probabilities(raw, L - 1, raw.shape[0])
    np.testing.assert_allclose(batched, expected, rtol=0, atol=ATOL)
    streaming = StreamingPredictor(art, "cpu")
    per_bar = []
    for row in raw:
        streaming.push(row)
        if streaming.ready:
            per_bar.append(streaming.predict())
    np.testing.assert_allclose(np.array(per_bar), expected, rtol=0, atol=ATOL)
    scaled = torch.from_numpy(art.scaler.transform(raw)).float()
    windows = scaled.unfold(0, L, 1).transpose(1, 2).contiguous()
    with torch.no_grad():
        fused = torch.softmax(FusedAttentionLSTM(art.model)(windows), dim=-1).double().numpy()
        module = torch.softmax(art.model(windows), dim=-1).double().numpy()
    np.testing.assert_allclose(fused, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(module, expected, rtol=0, atol=ATOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_apply_the_calibration(tmp_path):
    path, raw = save_calibrated(tmp_path / "m", CALIBRATION)
    art = load_artifact(path)
    expected = expected_probabilities(raw, art.scaler, CALIBRATION)
    streaming = StreamingPredictor(art, "cuda", cuda_graphs=True)
    out = []
    for row in raw:
        streaming.push(row)
        if streaming.ready:
            out.append(streaming.predict())
    np.testing.assert_allclose(np.array(out), expected, rtol=0, atol=1e-4)


def rewrite_meta(path: Path, change) -> None:
    """Edit meta.json and re-sign it (its content hash), as an older or malformed writer would."""
    meta = json.loads((path / META_FILE).read_text())
    change(meta)
    meta[artifact_mod.CONTENT_HASH_KEY] = artifact_mod.meta_digest(meta)
    (path / META_FILE).write_text(json.dumps(meta))


def test_an_artifact_without_calibration_loads_with_the_identity(tmp_path):
    path, raw = save_calibrated(tmp_path / "m", CALIBRATION)
    rewrite_meta(path, lambda meta: meta.pop("calibration"))
    art = load_artifact(path)
    assert art.calibrations == (VectorScaling.identity(),)
    expected = expected_probabilities(raw, art.scaler, VectorScaling.identity())
    got = BatchedPredictor(art, "cpu").probabilities(raw, CFG.seq_len - 1, raw.shape[0])
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize(
    "bad",
    [
        {"scale": [1.0, 1.0], "bias": [0.0, 0.0, 0.0]},
        {"scale": [1.0, "x", 1.0], "bias": [0.0, 0.0, 0.0]},
        {"bias": [0.0, 0.0, 0.0]},
        "vector",
    ],
)
def test_a_malformed_calibration_is_refused(tmp_path, bad):
    path, _ = save_calibrated(tmp_path / "m", CALIBRATION)
    rewrite_meta(path, lambda meta: meta.__setitem__("calibration", [bad]))
    with pytest.raises(ArtifactError, match="calibration"):
        load_artifact(path)


def test_a_calibration_list_of_the_wrong_length_is_refused(tmp_path):
    path, _ = save_calibrated(tmp_path / "m", CALIBRATION)
    rewrite_meta(path, lambda meta: meta.__setitem__("calibration", [CALIBRATION.to_dict()] * 2))
    with pytest.raises(ArtifactError, match="calibration"):
        load_artifact(path)


def test_calibration_none_keeps_the_raw_network_and_unknown_kinds_are_refused():
    from bt_attention_lstm.models.config import ModelConfig, TrainConfig
    from bt_attention_lstm.models.errors import ConfigError
    from bt_attention_lstm.models.training.classifier import Trainer

    logits = np.random.default_rng(0).normal(size=(300, 3))
    labels = np.random.default_rng(1).integers(0, 3, size=300)
    model = ModelConfig(n_features=4, hidden=8, layers=1, heads=1, seq_len=5)
    raw = Trainer(model, TrainConfig(objective="classify", calibration="none"), progress=False)
    assert raw._calibrate([logits], labels, labels)[0].is_identity
    # the default chooses: on noise logits it falls back to the class prior
    chosen = Trainer(model, TrainConfig(objective="classify"), progress=False)._calibrate(
        [logits], labels, labels
    )
    assert [c.kind for c in chosen] == ["prior"]
    with pytest.raises(ConfigError, match="`calibration` must be one of vector, none"):
        TrainConfig(objective="classify", calibration="platt")
