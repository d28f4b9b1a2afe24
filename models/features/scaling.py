"""Feature scaling fitted on training rows only, stored in the artifact as plain numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import StandardScaler

from bt_attention_lstm.models.errors import ArtifactError

CLIP = 10.0


@dataclass(frozen=True)
class FeatureScaler:
    """Standardisation with clipping: clip((x - mean) / scale, -clip, clip)."""

    mean: np.ndarray
    scale: np.ndarray
    clip: float = CLIP

    @classmethod
    def fit(cls, rows: np.ndarray, clip: float = CLIP) -> FeatureScaler:
        """Fit on the training rows given (never on data after the training range)."""
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[0] < 2 or not np.isfinite(rows).all():
            raise ValueError("scaler needs at least two finite feature rows")
        sk = StandardScaler().fit(rows)
        return cls(mean=sk.mean_.copy(), scale=sk.scale_.copy(), clip=clip)

    def transform(self, rows: np.ndarray, out_dtype: type = np.float32) -> np.ndarray:
        scaled = (np.asarray(rows, dtype=np.float64) - self.mean) / self.scale
        np.clip(scaled, -self.clip, self.clip, out=scaled)
        return scaled.astype(out_dtype, copy=False)

    def to_dict(self) -> dict[str, object]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "clip": self.clip}

    @classmethod
    def from_dict(cls, raw: dict[str, object], n_features: int) -> FeatureScaler:
        try:
            mean = np.asarray(raw["mean"], dtype=np.float64)
            scale = np.asarray(raw["scale"], dtype=np.float64)
            clip_value = raw.get("clip", CLIP)
            if not isinstance(clip_value, int | float | str):
                raise TypeError(f"clip {clip_value!r} is not a number")
            clip = float(clip_value)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"invalid scaler in meta.json: {exc}") from exc
        if not (math.isfinite(clip) and clip > 0):
            raise ArtifactError(f"scaler clip in meta.json must be a positive number, got {clip}")
        if mean.shape != (n_features,) or scale.shape != (n_features,):
            raise ArtifactError(f"scaler in meta.json does not have {n_features} features")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ArtifactError("scaler in meta.json has non-finite or non-positive values")
        return cls(mean=mean, scale=scale, clip=clip)
