"""Model artifacts: ``model.safetensors`` (weights) + ``meta.json`` (everything else).

Loading never unpickles: safetensors is a plain tensor format and the rest is JSON. The weights'
sha256 is recorded in meta.json and checked before the weights are parsed, so a tampered or
swapped file (a pickle, say) is refused without being read as anything. ``content_sha256`` covers
the whole of meta.json (scaler, feature spec, calibration, architecture, the weights' hash), so an
edited scaler mean or indicator period is refused too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from safetensors import SafetensorError

from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.ensemble import (
    calibrated_network,
    member_state,
    split_member_state,
)
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.models.training.calibration import (
    ANCHORED_KINDS,
    VectorScaling,
    calibrations_from_meta,
    calibrations_to_meta,
)
from bt_attention_lstm.models.training.labels import CLASS_NAMES

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: content_sha256 covers all of meta.json
CONTENT_HASH_KEY = "content_sha256"
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"


@dataclass(frozen=True)
class Artifact:
    """A loaded, verified model with everything needed to feed it.

    ``model``: the network whose softmax is the artifact's probability, calibration folded in: an
    ``AttentionLSTM``, or for an ensemble an ``AveragedEnsemble`` of ``members`` (each an
    ``AttentionLSTM`` with its own calibration folded into its head).
    """

    path: Path
    model: torch.nn.Module
    model_config: ModelConfig
    feature_spec: FeatureSpec
    scaler: FeatureScaler
    horizon: int
    meta: dict[str, Any]
    members: tuple[AttentionLSTM, ...] = ()
    calibrations: tuple[VectorScaling, ...] = ()

    @property
    def seq_len(self) -> int:
        return self.model_config.seq_len

    @property
    def weights_sha256(self) -> str:
        return str(self.meta["weights_sha256"])

    @property
    def says_nothing(self) -> bool:
        """True when calibration replaced every member by the class prior: training found no
        edge that held on its inner slices, so the probabilities are the same on every bar."""
        return bool(self.calibrations) and all(c.kind == "prior" for c in self.calibrations)

    @property
    def prior_confidence(self) -> float:
        """p_up - p_down of the training labels' class frequencies, for a calibrated model (0.0
        for a raw one). Calibration anchors the network at that prior: where its logits sit at
        their usual level it predicts the prior, so this is the confidence of a model with no
        view of its own, a base rate rather than a signal (AttentionLSTMStrategy's
        ``relative_confidence`` trades the difference)."""
        if not self.calibrations or any(c.kind not in ANCHORED_KINDS for c in self.calibrations):
            return 0.0
        counts = self.meta.get("cv", {}).get("class_counts")
        if not isinstance(counts, list) or len(counts) != 3 or sum(counts) <= 0:
            return 0.0
        down, _, up = (float(c) for c in counts)
        return (up - down) / float(sum(counts))

    @property
    def trained_range(self) -> tuple[str, str]:
        training = self.meta.get("training", {})
        return str(training.get("start")), str(training.get("end"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def meta_digest(meta: dict[str, Any]) -> str:
    """sha256 of meta.json's content without its own hash field, in canonical JSON."""
    body = {k: v for k, v in meta.items() if k != CONTENT_HASH_KEY}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def save_artifact(
    out_dir: str | os.PathLike[str],
    model: AttentionLSTM | Sequence[AttentionLSTM],
    scaler: FeatureScaler,
    feature_spec: FeatureSpec,
    horizon: int,
    extra_meta: dict[str, Any],
    calibrations: Sequence[VectorScaling] | None = None,
) -> Path:
    """Write the artifact into a temporary sibling directory, then rename it into place.

    ``model``: one network, or the members of an ensemble (raw weights; ``calibrations``, one
    per member, go to meta.json and are folded in at load time; None means the identity).
    An existing artifact at ``out_dir`` is replaced only once the new one is complete.
    """
    members = [model] if isinstance(model, AttentionLSTM) else list(model)
    if calibrations is None:
        calibrations = [VectorScaling.identity(members[0].config.n_classes)] * len(members)
    if len(calibrations) != len(members) or any(m.config != members[0].config for m in members):
        raise ValueError("an ensemble needs one architecture and one calibration per member")
    model = members[0]
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        safetensors.torch.save_file(member_state(members), str(tmp / WEIGHTS_FILE))
        meta = {
            "format_version": FORMAT_VERSION,
            "model": model.config.to_dict(),
            "feature_spec": feature_spec.to_dict(),
            "scaler": scaler.to_dict(),
            "seq_len": model.config.seq_len,
            "horizon": horizon,
            "classes": list(CLASS_NAMES),
            "ensemble_size": len(members),
            "calibration": calibrations_to_meta(calibrations),
            **extra_meta,
            "weights_sha256": sha256_file(tmp / WEIGHTS_FILE),
        }
        meta[CONTENT_HASH_KEY] = meta_digest(meta)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
        # mkdtemp makes it owner-only and safetensors writes 0600; an artifact is meant to be shared
        os.chmod(tmp, 0o755)  # noqa: S103
        for name in (WEIGHTS_FILE, META_FILE):
            os.chmod(tmp / name, 0o644)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("artifact written to %s", out)
    return out


def _replace_dir(new: Path, target: Path) -> None:
    if not target.exists():
        os.replace(new, target)
        return
    if not target.is_dir():
        raise ArtifactError(f"{target} exists and is not a directory")
    backup = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, backup)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _read_meta(path: Path) -> dict[str, Any]:
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{meta_path} is missing: not a model directory written by train.py")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{meta_path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArtifactError(f"{meta_path} does not hold a JSON object")
    version = meta.get("format_version")
    if version == 1:
        raise ArtifactError(
            f"{meta_path} has format_version 1, whose meta.json is not covered by an integrity "
            "hash; retrain it with train.py (format_version 2)"
        )
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{meta_path} has format_version {version!r}; this code reads version {FORMAT_VERSION}"
        )
    for key in ("model", "feature_spec", "scaler", "horizon", "classes", "weights_sha256",
                CONTENT_HASH_KEY):
        if key not in meta:
            raise ArtifactError(f"{meta_path} lacks the field {key!r}")
    if meta_digest(meta) != meta[CONTENT_HASH_KEY]:
        raise ArtifactError(
            f"{meta_path} does not match its {CONTENT_HASH_KEY}: meta.json was edited after "
            "training (scaler, feature spec, calibration or architecture); refusing to load it"
        )
    return meta


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Load and verify an artifact directory. Raises ``ArtifactError`` on anything suspicious."""
    root = Path(path)
    if not root.is_dir():
        raise ArtifactError(f"model directory not found: {root}")
    meta = _read_meta(root)
    weights_path = root / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtifactError(f"{weights_path} is missing")
    if sha256_file(weights_path) != meta["weights_sha256"]:
        raise ArtifactError(
            f"{weights_path} does not match the sha256 recorded in meta.json: the file was "
            "changed or corrupted; refusing to load it"
        )
    spec = FeatureSpec.from_dict(meta["feature_spec"])
    config = ModelConfig.from_dict(meta["model"])
    if config.n_features != spec.n_features:
        raise ArtifactError(
            f"model expects {config.n_features} features but its feature spec has "
            f"{spec.n_features}"
        )
    if not isinstance(meta["classes"], list) or meta["classes"] != list(CLASS_NAMES):
        raise ArtifactError(f"unexpected class order {meta['classes']!r}")
    horizon = meta["horizon"]
    if meta.get("seq_len", config.seq_len) != config.seq_len:
        raise ArtifactError("seq_len in meta.json disagrees with the model's architecture")
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ArtifactError(f"invalid horizon {horizon!r} in meta.json")
    scaler = FeatureScaler.from_dict(meta["scaler"], spec.n_features)
    try:
        state = safetensors.torch.load(weights_path.read_bytes())
    except (SafetensorError, ValueError, OSError) as exc:
        raise ArtifactError(f"{weights_path} is not a valid safetensors file: {exc}") from exc
    n_members = meta.get("ensemble_size", 1)
    if isinstance(n_members, bool) or not isinstance(n_members, int) or n_members < 1:
        raise ArtifactError(f"invalid ensemble_size {n_members!r} in meta.json")
    calibrations = calibrations_from_meta(meta, n_members, config.n_classes)
    raw_members = []
    for part in split_member_state(state, n_members):
        member = AttentionLSTM(config)
        try:
            member.load_state_dict(part, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ArtifactError(
                f"weights do not fit the architecture in meta.json: {first}"
            ) from exc
        raw_members.append(member.eval())
    model, members = calibrated_network(raw_members, calibrations)
    return Artifact(
        root, model, config, spec, scaler, horizon, meta, members, tuple(calibrations)
    )


def parameters_digest(model: torch.nn.Module) -> str:
    """sha256 over a model's parameters in state-dict order (determinism checks)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
