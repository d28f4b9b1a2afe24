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
# "sharpe": a position head trained on the Sharpe ratio of its vol-scaled returns after costs
# (the default); "classify": the down / flat / up classifier over ``horizon`` bars.
OBJECTIVES = ("sharpe", "classify")
# "position": long-short, tanh in (-1, 1); "long": long-only, sigmoid in (0, 1)
HEADS = ("position", "long", "classify")
POSITION_HEADS = ("position", "long")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of an AttentionLSTM. Defaults are the original design's sizes.

    ``head``: "classify" (down / flat / up logits), "position" (one output, tanh: a long-short
    position in (-1, 1)) or "long" (one output, sigmoid: a long-only position in (0, 1)); the
    trainer sets it from its objective. Artifacts written before heads existed are
    classifiers.
    """

    n_features: int
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.2
    seq_len: int = 20
    n_classes: int = 3
    head: str = "classify"

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ConfigError(f"`head` must be one of {', '.join(HEADS)}, got {self.head!r}")
        for name in ("n_features", "hidden", "layers", "heads", "seq_len", "n_classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"`{name}` must be a positive integer, got {value!r}")
        if self.hidden % self.heads:
            raise ConfigError(f"`hidden`={self.hidden} must be divisible by `heads`={self.heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"`dropout` must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        try:
            return cls(**{"head": "classify", **raw})
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(f"invalid model architecture in meta.json: {exc}") from exc


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and validation settings.

    ``inner_fraction``: the latest share of each training fold that chooses the epoch and the
    calibration (nested CV, ``models.training.nested_cv``). ``ensemble``: independently seeded
    members
    whose probabilities are averaged inside one artifact. ``calibration``: "vector" (chosen on
    the inner slices, the class prior when it cannot beat it) or "none" (the raw network, for
    research and for tests of the plumbing that need a model whose output moves).

    ``objective``: "sharpe" (default) trains a position head (long-only in (0, 1) with
    ``long_only``, else long-short in (-1, 1)) on the annualised Sharpe ratio of
    ``position * target_vol / sigma_t * next return`` less ``cost_bps`` per unit of weight
    traded, over mini-batches of ``block_len`` consecutive bars (``models.training.position``);
    epochs are chosen on the inner slice's portfolio Sharpe. "classify" trains the down / flat /
    up classifier on labels over ``horizon`` bars (``models.training.classifier``). With either,
    ``horizon``
    bars separate a training range from the validation range after it.
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
    objective: str = "sharpe"
    long_only: bool = False
    cost_bps: float = 10.0
    target_vol: float = 0.15
    block_len: int = 63

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"`objective` must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
            )
        if not (0.0 <= self.cost_bps < 1000.0 and math.isfinite(self.cost_bps)):
            raise ConfigError(f"`cost_bps` must be within [0, 1000), got {self.cost_bps!r}")
        if not (0.0 < self.target_vol <= 2.0):
            raise ConfigError(f"`target_vol` must be within (0, 2], got {self.target_vol!r}")
        if isinstance(self.block_len, bool) or not isinstance(self.block_len, int) or (
            self.block_len < 2
        ):
            raise ConfigError(f"`block_len` must be an integer >= 2, got {self.block_len!r}")
        if self.calibration not in CALIBRATIONS:
            raise ConfigError(
                f"`calibration` must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}"
            )
        positive = ("epochs", "batch_size", "patience", "folds", "horizon", "ensemble")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"`{name}` must be a positive integer, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"`lr` must be a positive number, got {self.lr!r}")
        if self.flat_band < 0:
            raise ConfigError(f"`flat_band` must be >= 0, got {self.flat_band!r}")
        if not 0.05 <= self.inner_fraction <= 0.5:
            raise ConfigError(
                f"`inner_fraction` must be within [0.05, 0.5], got {self.inner_fraction!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def head(self) -> str:
        """The network head this objective trains."""
        if self.objective == "classify":
            return "classify"
        return "long" if self.long_only else "position"
