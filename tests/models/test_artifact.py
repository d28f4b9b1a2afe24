"""Artifacts: model.safetensors + meta.json. Round trip, contents, tamper/pickle/spec refusal,
and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import bt_attention_lstm.models.artifact as artifact_mod
from bt_attention_lstm.models.artifact import (
    CONTENT_HASH_KEY,
    META_FILE,
    WEIGHTS_FILE,
    load_artifact,
    meta_digest,
    parameters_digest,
    save_artifact,
)
from bt_attention_lstm.models.data import data_fingerprint
from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from tests.conftest import TINY_MODEL

# -- helpers -----------------------------------------------------------------------------------


def small_parts(seed: int = 0) -> tuple[AttentionLSTM, FeatureScaler]:
    torch.manual_seed(seed)
    n = FeatureSpec().n_features
    model = AttentionLSTM(ModelConfig(n_features=n, hidden=8, layers=1, heads=2, seq_len=5))
    rows = np.random.default_rng(seed).normal(size=(64, n))
    return model.eval(), FeatureScaler.fit(rows)


def save_small(out: Path, seed: int = 0, **extra) -> Path:
    model, scaler = small_parts(seed)
    return save_artifact(out, model, scaler, FeatureSpec(), 5, extra)


def read_meta(path: Path) -> dict:
    return json.loads((path / META_FILE).read_text())


def write_meta(path: Path, meta: dict, sign: bool = True) -> None:
    """Write meta.json; ``sign`` recomputes its content hash (an attacker who knows the scheme),
    so that the checks behind the hash are reached."""
    if sign and CONTENT_HASH_KEY in meta:
        meta = {**meta, CONTENT_HASH_KEY: meta_digest(meta)}
    (path / META_FILE).write_text(json.dumps(meta))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resign(path: Path) -> None:
    """Record the current weights file's sha256 in meta.json (an attacker who edits both)."""
    meta = read_meta(path)
    meta["weights_sha256"] = sha256_of(path / WEIGHTS_FILE)
    write_meta(path, meta)


def probe_batch(seq_len: int, seed: int = 0) -> torch.Tensor:
    shape = (4, seq_len, FeatureSpec().n_features)
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape)).float()


def siblings(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- round trip and contents -------------------------------------------------------------------


def test_round_trip_gives_identical_outputs(tmp_path):
    model, scaler = small_parts(1)
    out = save_artifact(tmp_path / "m", model, scaler, FeatureSpec(), 7, {"note": "hello"})
    art = load_artifact(out)
    assert art.path == out
    assert art.model_config == model.config
    assert art.feature_spec == FeatureSpec()
    assert art.horizon == 7
    assert art.seq_len == 5
    assert art.meta["note"] == "hello"
    np.testing.assert_array_equal(art.scaler.mean, scaler.mean)
    np.testing.assert_array_equal(art.scaler.scale, scaler.scale)
    assert not art.model.training
    x = probe_batch(5)
    with torch.no_grad():
        assert torch.equal(art.model(x), model(x))
    assert parameters_digest(art.model) == parameters_digest(model)


def test_tiny_artifact_reproduces_the_trained_model(tiny_training):
    art = load_artifact(tiny_training.path)
    x = probe_batch(TINY_MODEL.seq_len)
    with torch.no_grad():
        assert torch.equal(art.model(x), tiny_training.result.model.eval()(x))


def test_meta_json_holds_everything_but_the_weights(tiny_training):
    path = tiny_training.path
    assert siblings(path) == sorted([META_FILE, WEIGHTS_FILE])
    text = (path / META_FILE).read_text()

    def refuse(token):
        raise AssertionError(f"meta.json holds the non-JSON constant {token}")

    meta = json.loads(text, parse_constant=refuse)
    assert meta["format_version"] == 2
    assert meta[CONTENT_HASH_KEY] == meta_digest(meta)
    assert meta["model"] == TINY_MODEL.to_dict()  # architecture
    assert meta["feature_spec"] == FeatureSpec().to_dict()
    assert meta["feature_spec"]["names"] == list(FeatureSpec().names)
    assert len(meta["scaler"]["mean"]) == len(meta["scaler"]["scale"]) == FeatureSpec().n_features
    assert meta["scaler"]["clip"] == 10.0
    assert meta["seq_len"] == TINY_MODEL.seq_len
    assert meta["horizon"] == tiny_training.train_config.horizon
    assert meta["classes"] == ["down", "flat", "up"]
    training = meta["training"]
    frame = tiny_training.frame
    assert training["start"] == "1995-01-03" == str(frame.index[0].date())
    assert training["end"] == "2001-12-31" == str(frame.index[-1].date())
    assert training["bars"] == len(frame)
    assert training["timeframe"] == "1d"
    assert training["data_sha256"] == [data_fingerprint(frame)]
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in training["data_sha256"])
    for pkg in ("python", "torch", "numpy", "pandas", "TA-Lib", "backtrader", "safetensors"):
        assert meta["versions"].get(pkg), pkg
    assert (
        meta["versions"]["torch"] == torch.__version__.split("+")[0]
        or meta["versions"]["torch"] == torch.__version__
    )
    cv = meta["cv"]
    assert len(cv["folds"]) == tiny_training.train_config.folds
    for fold in cv["folds"]:
        assert {"val_accuracy", "val_loss", "baseline_accuracy", "baseline_log_loss"} <= set(fold)
    assert cv["mean_baseline_accuracy"] is not None
    assert meta["weights_sha256"] == sha256_of(path / WEIGHTS_FILE)
    art = load_artifact(path)
    assert art.trained_range == ("1995-01-03", "2001-12-31")
    assert art.weights_sha256 == meta["weights_sha256"]


def test_models_package_exports_the_documented_names():
    from bt_attention_lstm import models

    assert models.AttentionLSTM is AttentionLSTM  # DESIGN.md: a stable interface
    assert models.load_artifact is load_artifact


# -- tampering ---------------------------------------------------------------------------------


def test_a_flipped_byte_in_the_weights_is_refused(tiny_artifact_copy):
    weights = tiny_artifact_copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256"):
        load_artifact(tiny_artifact_copy)


class _CreatesMarker:
    """Unpickling this calls Path.touch(marker): proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def pickle_payloads(marker: Path) -> dict[str, bytes]:
    evil = {"input_proj.weight": _CreatesMarker(marker)}
    raw = pickle.dumps(evil)
    torch_file = marker.parent / "torch_payload.pt"
    torch.save(evil, torch_file)
    return {"pickle": raw, "torch.save": torch_file.read_bytes()}


def test_the_pickle_payload_is_live(tmp_path):
    control = tmp_path / "control_marker"
    pickle.loads(pickle_payloads(control)["pickle"])
    assert control.exists()  # so the refusal tests below would notice an unpickle


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
@pytest.mark.parametrize("resign_sha", [False, True], ids=["sha_kept", "sha_updated"])
def test_a_pickle_in_place_of_the_weights_is_never_unpickled(
    tiny_artifact_copy, tmp_path, kind, resign_sha
):
    marker = tmp_path / "marker_created_by_unpickling"
    (tiny_artifact_copy / WEIGHTS_FILE).write_bytes(pickle_payloads(marker)[kind])
    if resign_sha:
        resign(tiny_artifact_copy)  # the safetensors parser itself must refuse it
    with pytest.raises(ArtifactError) as info:
        load_artifact(tiny_artifact_copy)
    assert not marker.exists()
    if resign_sha:
        assert "safetensors" in str(info.value)
    else:
        assert "sha256" in str(info.value)


@pytest.mark.parametrize("keep", [0, 4, 8, 100, -16], ids=["empty", "4B", "8B", "100B", "minus16"])
@pytest.mark.parametrize("resign_sha", [False, True], ids=["sha_kept", "sha_updated"])
def test_truncated_weights_are_refused(tiny_artifact_copy, keep, resign_sha):
    weights = tiny_artifact_copy / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[:keep])
    if resign_sha:
        resign(tiny_artifact_copy)
    with pytest.raises(ArtifactError):
        load_artifact(tiny_artifact_copy)


def test_weights_of_another_architecture_are_refused(tiny_artifact_copy):
    other = AttentionLSTM(
        ModelConfig(n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=2, seq_len=10)
    )
    safetensors.torch.save_file(
        {k: v.contiguous() for k, v in other.state_dict().items()},
        str(tiny_artifact_copy / WEIGHTS_FILE),
    )
    resign(tiny_artifact_copy)
    with pytest.raises(ArtifactError, match="architecture"):
        load_artifact(tiny_artifact_copy)


# -- meta.json ---------------------------------------------------------------------------------


def renamed(names):
    return [*names[:-1], "secret_sauce"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: {**s, "feature_set": "ta-v9"}, "feature set"),
        (lambda s: {**s, "feature_set": "ta-v1"}, "version"),  # a v2 spec renamed v1
        (lambda s: {**s, "version": 1}, "version"),
        (lambda s: {**s, "feature_set": None}, "feature set"),
        (lambda s: {**s, "names": renamed(s["names"])}, "feature names"),
        (lambda s: {**s, "names": s["names"][::-1]}, "feature names"),
        (lambda s: {**s, "names": s["names"][:-1]}, "feature names"),
        (lambda s: {**s, "rsi_period": 0}, "rsi_period"),
        (lambda s: {**s, "rsi_period": "14"}, "rsi_period"),
        (lambda s: {**s, "new_field": 1}, "unknown"),
        (lambda s: [1, 2], "not an object"),
    ],
)
def test_a_feature_spec_this_code_does_not_compute_is_refused(tiny_artifact_copy, change, match):
    meta = read_meta(tiny_artifact_copy)
    meta["feature_spec"] = change(meta["feature_spec"])
    write_meta(tiny_artifact_copy, meta)
    with pytest.raises(ArtifactError, match=match):
        load_artifact(tiny_artifact_copy)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("model", [1, 2]),
        ("model", {**TINY_MODEL.to_dict(), "hidden": 15}),
        ("scaler", None),
        ("scaler", {"mean": [0.0] * 15, "scale": [0.0] * 15}),
        ("horizon", 0),
        ("horizon", "5"),
        ("classes", ["up", "flat", "down"]),
        ("format_version", 3),
        ("format_version", 1),
        ("classes", 3),
        ("classes", None),
        ("feature_spec.names", None),
        ("feature_spec.names", 15),
    ],
)
def test_malformed_meta_fields_are_artifact_errors(tiny_artifact_copy, key, value):
    # never a TypeError: the runners would print a traceback and exit 1 instead of 2
    meta = read_meta(tiny_artifact_copy)
    if key.startswith("feature_spec."):
        meta["feature_spec"][key.split(".", 1)[1]] = value
    else:
        meta[key] = value
    write_meta(tiny_artifact_copy, meta)
    with pytest.raises(ArtifactError):
        load_artifact(tiny_artifact_copy)


@pytest.mark.parametrize(
    "field",
    ["model", "feature_spec", "scaler", "horizon", "classes", "weights_sha256", CONTENT_HASH_KEY],
)
def test_a_missing_meta_field_is_named(tiny_artifact_copy, field):
    meta = read_meta(tiny_artifact_copy)
    del meta[field]
    write_meta(tiny_artifact_copy, meta)
    with pytest.raises(ArtifactError, match=field):
        load_artifact(tiny_artifact_copy)


@pytest.mark.parametrize(
    "content", [b"{not json", b"", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'"a string"']
)
def test_non_json_meta_is_refused(tiny_artifact_copy, content):
    (tiny_artifact_copy / META_FILE).write_bytes(content)
    with pytest.raises(ArtifactError, match="meta.json"):
        load_artifact(tiny_artifact_copy)


def test_missing_directory_or_files_are_refused(tmp_path, tiny_artifact_copy):
    with pytest.raises(ArtifactError, match="not found"):
        load_artifact(tmp_path / "does-not-exist")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(ArtifactError):
        load_artifact(a_file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArtifactError, match="meta.json"):
        load_artifact(empty)
    (tiny_artifact_copy / WEIGHTS_FILE).unlink()
    with pytest.raises(ArtifactError, match=WEIGHTS_FILE):
        load_artifact(tiny_artifact_copy)


# -- atomic writes -----------------------------------------------------------------------------


def test_a_failure_mid_way_leaves_nothing_behind(tmp_path):
    parent = tmp_path / "models"
    # NaN cannot be written as strict JSON: fails after the weights file was written
    with pytest.raises(ValueError):
        save_small(parent / "new", cv={"loss": float("nan")})
    assert not (parent / "new").exists()
    assert siblings(parent) == []


def test_an_interrupt_mid_way_leaves_nothing_behind(tmp_path, monkeypatch):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(artifact_mod, "sha256_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_small(tmp_path / "new")
    assert siblings(tmp_path) == []


def test_an_existing_artifact_is_replaced_only_when_the_new_one_is_complete(tmp_path, monkeypatch):
    out = tmp_path / "model"
    save_small(out, seed=1)
    old_sha = read_meta(out)["weights_sha256"]
    old_digest = parameters_digest(load_artifact(out).model)

    # 1) the new artifact fails while being written: the old one is untouched
    with pytest.raises(ValueError):
        save_small(out, seed=2, cv={"loss": float("inf")})
    assert read_meta(out)["weights_sha256"] == old_sha
    assert parameters_digest(load_artifact(out).model) == old_digest
    assert siblings(tmp_path) == ["model"]

    # 2) the final rename fails: the old artifact is put back
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # target -> backup succeeded; new -> target fails
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_small(out, seed=2)
    monkeypatch.undo()
    assert len(calls) == 3  # the backup was moved back
    assert parameters_digest(load_artifact(out).model) == old_digest
    assert siblings(tmp_path) == ["model"]

    # 3) a complete new artifact replaces it, leaving no backup or temporary directory
    save_small(out, seed=2)
    assert read_meta(out)["weights_sha256"] != old_sha
    assert parameters_digest(load_artifact(out).model) == parameters_digest(small_parts(2)[0])
    assert siblings(tmp_path) == ["model"]


def test_a_file_in_the_way_is_not_replaced(tmp_path):
    out = tmp_path / "model"
    out.write_text("precious")
    with pytest.raises(ArtifactError, match="not a directory"):
        save_small(out)
    assert out.read_text() == "precious"
    assert siblings(tmp_path) == ["model"]


def test_the_artifact_directory_is_readable_by_others(tiny_artifact):
    # tempfile.mkdtemp makes owner-only (0700) directories; an artifact is meant to be shared
    assert tiny_artifact.stat().st_mode & 0o555 == 0o555


def test_save_creates_missing_parent_directories(tmp_path):
    out = save_small(tmp_path / "a" / "b" / "model")
    assert load_artifact(out).horizon == 5
    assert siblings(out.parent) == ["model"]
    shutil.rmtree(tmp_path / "a")


# -- the integrity hash covers all of meta.json ----------------------------------------------


def _edit_scaler_mean(meta: dict) -> None:
    meta["scaler"]["mean"] = [m * 100 for m in meta["scaler"]["mean"]]


def _edit_rsi_period(meta: dict) -> None:
    meta["feature_spec"]["rsi_period"] = 7


def _edit_architecture(meta: dict) -> None:
    meta["model"]["dropout"] = 0.5


@pytest.mark.parametrize("edit", [_edit_scaler_mean, _edit_rsi_period, _edit_architecture])
def test_an_edited_meta_json_is_refused(tiny_artifact_copy, edit):
    meta = read_meta(tiny_artifact_copy)
    assert load_artifact(tiny_artifact_copy)  # loads before the edit
    edit(meta)
    write_meta(tiny_artifact_copy, meta, sign=False)
    with pytest.raises(ArtifactError, match="edited after training"):
        load_artifact(tiny_artifact_copy)


def test_format_version_1_is_refused_with_a_reason(tiny_artifact_copy):
    meta = read_meta(tiny_artifact_copy)
    meta["format_version"] = 1
    del meta[CONTENT_HASH_KEY]
    write_meta(tiny_artifact_copy, meta, sign=False)
    with pytest.raises(ArtifactError, match="retrain"):
        load_artifact(tiny_artifact_copy)


def test_artifact_files_are_world_readable(tmp_path):
    out = save_small(tmp_path / "art")
    assert (out.stat().st_mode & 0o777) == 0o755
    for name in (META_FILE, WEIGHTS_FILE):
        assert ((out / name).stat().st_mode & 0o777) == 0o644
