"""The feature specification: which features, with which parameters.

It lives in ``models`` (not ``indicators``) so that an artifact can be checked against what this
code computes without importing backtrader. ``models.features.compute`` implements it.

Two versions exist. ``ta-v2`` (version 2, the default) is ``ta-v1`` plus trend and regime
features after Lim, Zohren & Roberts (2019) and the Momentum Transformer (Wood et al., 2021):
returns over several horizons normalised by ex-ante volatility, and MACD-style trend oscillators
on three timescales. Artifacts trained on ``ta-v1`` still load and run with their own spec.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from bt_attention_lstm.models.errors import ArtifactError

FEATURE_SET_V1 = "ta-v1"
FEATURE_SET = "ta-v2"
FEATURE_VERSION = 2

V1_FEATURE_NAMES: tuple[str, ...] = (
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

# Horizons (bars) of the volatility-normalised returns and (short, long) EMA spans of the trend
# oscillators: the choices of Lim et al. (2019) and Baz et al. (2015), not tuned here.
RETURN_HORIZONS: tuple[int, ...] = (1, 5, 21, 63, 126, 252)
TREND_SPANS: tuple[tuple[int, int], ...] = ((8, 24), (16, 48), (32, 96))

# What a ta-v2 model reads: scale-free trend and regime measures only. Level features (ATR,
# realised volatility, volume z-score, band and oscillator positions) are left out of the model's
# input: their distribution drifts between a training range and the range after it, and in
# evaluate.py they made every model, the logistic baseline too, worse than the class prior out of
# sample (docs/MODEL_QUALITY.md). Lim et al. (2019) feed their networks these inputs alone.
V2_FEATURE_NAMES: tuple[str, ...] = tuple(f"nret_{h}" for h in RETURN_HORIZONS) + tuple(
    f"trend_{s}_{lg}" for s, lg in TREND_SPANS
)

# Lines computed for ta-v2 that no model reads: the ex-ante daily volatility sigma_t of
# ``models.portfolio.vol_targeting`` (the nret_* denominator), which vol-target sizing divides by.
V2_STRATEGY_LINES: tuple[str, ...] = ("ex_ante_vol",)

# Every feature this code computes: the lines of a FeatureVector. ta-v2 keeps computing the ta-v1
# features (the strategy sizes and stops with realized_vol_20 and atr_ratio), and a ta-v1 model's
# inputs are the first lines.
FEATURE_NAMES: tuple[str, ...] = V1_FEATURE_NAMES + V2_FEATURE_NAMES + V2_STRATEGY_LINES

# feature set -> (version, model inputs)
FEATURE_SETS: dict[str, tuple[int, tuple[str, ...]]] = {
    FEATURE_SET_V1: (1, V1_FEATURE_NAMES),
    FEATURE_SET: (FEATURE_VERSION, V2_FEATURE_NAMES),
}

# Below this many trailing bars, Wilder/EMA seeds still weigh more than 1e-9 on ta-v1 features.
MIN_NEXT_HISTORY = 600
# An EMA seeded k bars back still carries (1 - 2/(span+1))^k of its seed error; below e^-30 the
# per-bar path reproduces the full-history value far inside the 1e-9 parity tolerance.
_SEED_DECAY = 30.0


@dataclass(frozen=True)
class FeatureSpec:
    """Parameters of a feature set (``ta-v2`` by default). Names are fixed per set; the periods
    are recorded in every artifact so that a model is only ever fed the features it was trained
    on."""

    feature_set: str = FEATURE_SET
    version: int = FEATURE_VERSION
    names: tuple[str, ...] = V2_FEATURE_NAMES  # the model's inputs, in order
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
    # ta-v2: span of the exponentially weighted daily volatility that normalises returns, the
    # rolling std of price that normalises an EMA difference, and the rolling std of that
    # oscillator that normalises it again (Baz et al., 2015).
    ewm_vol_span: int = 60
    trend_price_std: int = 63
    trend_norm: int = 252
    # Bars of trailing history the per-bar path feeds TA-Lib. EMA smoothing forgets its seed
    # geometrically, so a trailing window reproduces the full-history values (tested to 1e-9) at
    # a bounded cost per bar. ta-v2's slow EMA (span 96) is then normalised by a 252-bar std, so
    # it needs ~1700 bars (``min_next_history``); ta-v1 needed 600.
    next_history: int = 2048

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def has_trend_features(self) -> bool:
        return self.version >= 2

    @property
    def inputs_need_ohlcv(self) -> bool:
        """Whether the model's inputs read high, low or volume (ta-v1's do); ta-v2's read closes
        only, so close-only data trains and trades the same model as OHLCV bars."""
        return not self.has_trend_features

    def data_mismatch(self, trained_close_only: bool, data_close_only: bool) -> str | None:
        """Why a model trained on one kind of bars cannot read the other, or None."""
        if not self.inputs_need_ohlcv or trained_close_only == data_close_only:
            return None
        trained = "closes only" if trained_close_only else "OHLCV bars"
        given = "closes only" if data_close_only else "OHLCV bars"
        return (f"the model's {self.feature_set} inputs read high, low and volume: it was trained "
                f"on {trained} and cannot read {given}; retrain it on this data")

    @property
    def line_names(self) -> tuple[str, ...]:
        """Every feature computed for this spec (a FeatureVector fills these lines): the
        model's inputs, the ta-v1 features the strategy reads and, for ta-v2, ``ex_ante_vol``.
        Not part of an artifact (its ``names`` are the model's inputs only)."""
        return FEATURE_NAMES if self.has_trend_features else V1_FEATURE_NAMES

    def min_next_history(self) -> int:
        """Trailing bars the per-bar path needs to reproduce the full-history features."""
        if not self.has_trend_features:
            return MIN_NEXT_HISTORY
        slowest = max(max(lg for _, lg in TREND_SPANS), self.ewm_vol_span)
        converge = math.ceil(_SEED_DECAY * (slowest + 1) / 2.0)
        # The oldest oscillator value in the last trend_norm-bar std must have converged.
        return converge + slowest + self.trend_norm

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec from an artifact, refusing anything this code does not compute.

        A ``ta-v1`` spec (written before feature versions existed) loads as version 1.
        """
        if not isinstance(raw, dict):
            raise ArtifactError("feature spec in meta.json is not an object")
        feature_set = raw.get("feature_set")
        if not isinstance(feature_set, str) or feature_set not in FEATURE_SETS:
            raise ArtifactError(
                f"model uses feature set {feature_set!r}; this code computes "
                f"{', '.join(repr(k) for k in FEATURE_SETS)} only (retrain with runners/train.py)"
            )
        version, expected_names = FEATURE_SETS[feature_set]
        values = dict(raw)
        values.setdefault("version", 1 if feature_set == FEATURE_SET_V1 else None)
        if values["version"] != version:
            raise ArtifactError(
                f"feature spec version {values['version']!r} does not match feature set "
                f"{feature_set!r} (version {version}); retrain the model"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ArtifactError(f"feature spec has unknown fields {unknown}; retrain the model")
        names = values.get("names", ())
        if not isinstance(names, list | tuple):
            raise ArtifactError("feature names in meta.json are not a list; retrain the model")
        values["names"] = tuple(names)
        if values["names"] != expected_names:
            raise ArtifactError(
                f"feature names in meta.json differ from the ones this code computes for "
                f"{feature_set!r}; retrain the model"
            )
        try:
            spec = cls(**values)
        except TypeError as exc:
            raise ArtifactError(f"invalid feature spec in meta.json: {exc}") from exc
        _check_periods(spec)
        if spec.next_history < spec.min_next_history():
            raise ArtifactError(
                f"feature spec next_history={spec.next_history} is below "
                f"{spec.min_next_history()}: the per-bar path would not reproduce the training "
                "features"
            )
        return spec


def _check_periods(spec: FeatureSpec) -> None:
    for field, value in asdict(spec).items():
        if field in ("feature_set", "names", "version"):
            continue
        kind = float if field == "bb_dev" else int
        if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
            raise ArtifactError(
                f"feature spec field {field}={value!r} must be a positive {kind.__name__}"
            )


def v1_spec(**periods: Any) -> FeatureSpec:
    """The ``ta-v1`` spec (15 features), for models trained before feature versions."""
    return FeatureSpec(
        feature_set=FEATURE_SET_V1, version=1, names=V1_FEATURE_NAMES, next_history=768,
        **periods,
    )
