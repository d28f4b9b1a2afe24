"""The feature specification: which features, with which parameters.

It lives in ``models`` (not ``indicators``) so that an artifact can be checked against what this
code computes without importing backtrader. ``indicators.features`` implements it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bt_attention_lstm.models.errors import ArtifactError

FEATURE_SET = "ta-v1"

FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_5",
    "ret_20",
    "rsi_14",
    "macd_hist",
    "atr_ratio",
    "bb_pctb",
    "adx_14",
    "di_spread",
    "realized_vol_20",
    "volume_z_20",
    "hl_range",
    "close_location",
    "sma_gap_50",
    "willr_14",
)


# Below this many trailing bars, Wilder/EMA seeds still weigh more than 1e-9 on the features.
MIN_NEXT_HISTORY = 600


@dataclass(frozen=True)
class FeatureSpec:
    """Parameters of the ``ta-v1`` feature set. Names are fixed; the periods are recorded in every
    artifact so that a model is only ever fed the features it was trained on."""

    feature_set: str = FEATURE_SET
    names: tuple[str, ...] = FEATURE_NAMES
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    atr_period: int = 14
    bb_period: int = 20
    bb_dev: float = 2.0
    adx_period: int = 14
    vol_period: int = 20
    volume_period: int = 20
    sma_period: int = 50
    willr_period: int = 14
    # Bars of trailing history the per-bar path feeds TA-Lib. Wilder/EMA smoothing forgets its
    # seed geometrically: after ~600 bars the seed's influence is below 1e-14, so a trailing
    # window reproduces the full-history values (tested to 1e-9) at a bounded cost per bar.
    next_history: int = 768

    @property
    def n_features(self) -> int:
        return len(self.names)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec from an artifact, refusing anything this code does not compute."""
        if not isinstance(raw, dict):
            raise ArtifactError("feature spec in meta.json is not an object")
        if raw.get("feature_set") != FEATURE_SET:
            raise ArtifactError(
                f"model uses feature set {raw.get('feature_set')!r}; this code computes "
                f"{FEATURE_SET!r} only (retrain with runners/train.py)"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ArtifactError(f"feature spec has unknown fields {unknown}; retrain the model")
        values = dict(raw)
        names = values.get("names", ())
        if not isinstance(names, list | tuple):
            raise ArtifactError("feature names in meta.json are not a list; retrain the model")
        values["names"] = tuple(names)
        if values["names"] != FEATURE_NAMES:
            raise ArtifactError(
                "feature names in meta.json differ from the ones this code computes; "
                "retrain the model"
            )
        try:
            spec = cls(**values)
        except TypeError as exc:
            raise ArtifactError(f"invalid feature spec in meta.json: {exc}") from exc
        for field, value in asdict(spec).items():
            if field in ("feature_set", "names"):
                continue
            kind = float if field == "bb_dev" else int
            if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
                raise ArtifactError(
                    f"feature spec field {field}={value!r} must be a positive {kind.__name__}"
                )
        if spec.next_history < MIN_NEXT_HISTORY:
            raise ArtifactError(
                f"feature spec next_history={spec.next_history} is below {MIN_NEXT_HISTORY}: the "
                "per-bar path would not reproduce the training features"
            )
        return spec
