"""Configuration as data: the architecture (``ModelConfig``) and the optimisation settings
(``TrainConfig``). Torch-free, so the runners can build their ``--help`` without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bt_attention_lstm.models.errors import ArtifactError, ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda")
CALIBRATIONS = ("vector", "none")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of an AttentionLSTM. Defaults are the original design's sizes."""

    n_features: int
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.2
    seq_len: int = 20
    n_classes: int = 3

    def __post_init__(self) -> None:
        for name in ("n_features", "hidden", "layers", "heads", "seq_len", "n_classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden % self.heads:
            raise ConfigError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        try:
            return cls(**raw)
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(f"invalid model architecture in meta.json: {exc}") from exc


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and validation settings.

    ``inner_fraction``: the latest share of each training fold that chooses the epoch and the
    calibration (nested CV, ``models.nested_cv``). ``ensemble``: independently seeded members
    whose probabilities are averaged inside one artifact. ``calibration``: "vector" (chosen on
    the inner slices, the class prior when it cannot beat it) or "none" (the raw network, for
    research and for tests of the plumbing that need a model whose output moves).
    """

    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 5
    folds: int = 4
    horizon: int = 5
    flat_band: float = 0.5
    grad_clip: float = 1.0
    seed: int = 42
    device: str = "auto"
    ensemble: int = 1
    inner_fraction: float = 0.2
    calibration: str = "vector"

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATIONS:
            raise ConfigError(
                f"calibration must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}"
            )
        positive = ("epochs", "batch_size", "patience", "folds", "horizon", "ensemble")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")
        if self.flat_band < 0:
            raise ConfigError(f"flat_band must be >= 0, got {self.flat_band!r}")
        if not 0.05 <= self.inner_fraction <= 0.5:
            raise ConfigError(
                f"inner_fraction must be within [0.05, 0.5], got {self.inner_fraction!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
