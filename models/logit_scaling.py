"""A calibration as it is applied: per-class scale and bias on a network's logits.

Fitting one is training's business (``models.training.calibration``); applying one, folding it
into a network's head and reading it from meta.json is what the ensemble and the artifact need,
so it sits here, below both.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bt_attention_lstm.models.errors import ArtifactError
from bt_attention_lstm.models.nn.network import AttentionLSTM

PROB_FLOOR = 1e-6  # class frequencies are floored so that log(0) never becomes a bias


@dataclass(frozen=True)
class VectorScaling:
    """Per-class scale and bias applied to logits; ``kind`` says how it was chosen."""

    scale: tuple[float, ...]
    bias: tuple[float, ...]
    kind: str = "identity"  # identity | vector | prior

    @classmethod
    def identity(cls, n_classes: int = 3) -> VectorScaling:
        return cls((1.0,) * n_classes, (0.0,) * n_classes, "identity")

    @classmethod
    def prior(cls, labels: np.ndarray, n_classes: int = 3) -> VectorScaling:
        """The constant prediction of the labels' class frequencies (the majority-prior
        baseline's probabilities)."""
        return cls((0.0,) * n_classes, tuple(log_prior(labels, n_classes).tolist()), "prior")

    @property
    def is_identity(self) -> bool:
        return all(s == 1.0 for s in self.scale) and all(b == 0.0 for b in self.bias)

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated logits of (n, n_classes) raw logits."""
        return logits * np.asarray(self.scale) + np.asarray(self.bias)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(self.apply(logits))

    def fold_into(self, model: AttentionLSTM) -> AttentionLSTM:
        """A copy of ``model`` whose logits are ``scale * logits + bias`` (exact for identity)."""
        folded = copy.deepcopy(model)
        if self.is_identity:
            return folded
        head = folded.head_linear
        scale = torch.tensor(self.scale, dtype=torch.float64)
        bias = torch.tensor(self.bias, dtype=torch.float64)
        with torch.no_grad():
            weight = head.weight.detach().double() * scale[:, None]
            new_bias = head.bias.detach().double() * scale + bias
            head.weight.copy_(weight.to(head.weight.dtype))
            head.bias.copy_(new_bias.to(head.bias.dtype))
        return folded

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "scale": list(self.scale), "bias": list(self.bias)}

    @classmethod
    def from_dict(cls, raw: Any, n_classes: int) -> VectorScaling:
        """Parse meta.json's calibration entry; ``ArtifactError`` when it is malformed."""
        if not isinstance(raw, dict):
            raise ArtifactError(f"calibration must be an object, got {raw!r}")
        try:
            scale = tuple(float(v) for v in raw["scale"])
            bias = tuple(float(v) for v in raw["bias"])
            kind = str(raw.get("kind", "vector"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed calibration in meta.json: {exc}") from exc
        if len(scale) != n_classes or len(bias) != n_classes:
            raise ArtifactError(
                f"calibration has {len(scale)} scales and {len(bias)} biases; the model has "
                f"{n_classes} classes"
            )
        if not all(math.isfinite(v) for v in scale + bias):
            raise ArtifactError("calibration holds a non-finite number")
        return cls(scale, bias, kind)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_prior(labels: np.ndarray, n_classes: int = 3) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    freq = np.maximum(counts / max(counts.sum(), 1.0), PROB_FLOOR)
    return np.log(freq / freq.sum())
