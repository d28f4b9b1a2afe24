"""The strategy's flat backtrader params read once into small frozen groups, and validated here.

``AttentionLSTMStrategy`` keeps its params flat (``cerebro.optstrategy`` varies them by name);
its ``__init__`` reads them into a ``StrategyConfig`` of four groups: ``entry`` (when to open
and close), ``sizing`` (how much), ``risk`` (protective orders) and ``live`` (restart state,
decision log, what to do with units found at the broker). Every check of a param lives in
``StrategyConfig.from_params``, callable without a Cerebro (a command line validates its
flags with it); a bad value raises ``ConfigError`` naming the param in backticks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.config import POSITION_HEADS
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.sizing import SIZING_RULES

VOL_TARGET = "vol_target"
EXISTING_POSITION_RULES = ("adopt", "ignore", "refuse")
# Defaults that depend on the sizing rule (their params default to None).
ENTRY_THRESHOLD = 0.2  # entry/exit rules: a classifier's edge needed to enter
VOL_TARGET_COOLDOWN = 5  # vol_target: bars before re-entering the side a stop closed

# The strategy's backtrader params (flat: ``cerebro.optstrategy`` varies them by name); their
# meanings are in ``AttentionLSTMStrategy``'s docstring.
PARAMS: tuple[tuple[str, Any], ...] = (
    ("model_path", None),
    ("artifact", None),
    ("threshold", None),
    ("exit_threshold", 0.0),
    ("relative_confidence", True),
    ("max_position", 0.95),
    ("sizing", None),
    ("target_vol", 0.15),
    ("max_leverage", 1.0),
    ("rebalance_band", 0.1),
    ("stop_loss", 0.05),
    ("atr_stop", None),
    ("trail_percent", None),
    ("take_profit", None),
    ("allow_short", False),
    ("regime_filter", True),
    ("regime_lookback", 252),
    ("regime_quantile", 0.9),
    ("regime_scale", 0.5),
    ("cooldown", None),
    ("device", "auto"),
    ("batch_size", 4096),
    ("threads", 1),
    ("periods_per_year", 252.0),
    ("min_scale", 0.25),
    ("trade_start", None),
    ("trade_datas", None),
    ("state_path", None),
    ("on_existing_position", "refuse"),
    ("decision_log", None),
    ("max_order_retries", 3),
    ("abstain", False),
)
DEFAULTS: dict[str, Any] = dict(PARAMS)


def default_sizing(artifact: Artifact | None) -> str:
    """"vol_target" for an artifact with a position head (long-short or long-only),
    "confidence" for a classifier (and without an artifact).
    ``head`` is read with a default: artifacts written before position heads have none."""
    head = getattr(artifact.model_config, "head", "classify") if artifact else "classify"
    return VOL_TARGET if head in POSITION_HEADS else "confidence"


def entry_threshold(artifact: Artifact | None, threshold: float | None,
                    sizing: str | None) -> float:
    """The threshold a strategy with these params uses: the one given, else 0 for vol_target
    sizing and ``ENTRY_THRESHOLD`` for the entry/exit rules."""
    if threshold is not None:
        return float(threshold)
    return 0.0 if (sizing or default_sizing(artifact)) == VOL_TARGET else ENTRY_THRESHOLD


@dataclass(frozen=True)
class EntryConfig:
    """When a position opens and closes."""

    threshold: float  # minimum |edge| to enter
    exit_level: float  # the edge in a position's favour at or below which it closes
    relative_confidence: bool
    allow_short: bool
    cooldown: int  # bars (see the strategy's ``cooldown`` param)
    abstain: bool
    trade_start: datetime | None


@dataclass(frozen=True)
class SizingConfig:
    """How much: the sizing rule and the regime filter."""

    rule: str  # one of SIZING_RULES
    max_position: float
    target_vol: float
    max_leverage: float
    rebalance_band: float
    min_scale: float
    periods_per_year: float
    regime_filter: bool
    regime_lookback: int
    regime_quantile: float
    regime_scale: float

    @property
    def vol_target(self) -> bool:
        return self.rule == VOL_TARGET

    @cached_property
    def annualiser(self) -> float:
        """sqrt(periods_per_year): per-bar volatility x this = annual volatility."""
        return math.sqrt(self.periods_per_year)


@dataclass(frozen=True)
class RiskConfig:
    """Protective orders: distances (None = off) and how often a dead one is placed again."""

    stop_loss: float | None
    atr_stop: float | None
    trail_percent: float | None
    take_profit: float | None
    max_order_retries: int


@dataclass(frozen=True)
class LiveConfig:
    """Restart state, the decision log, and units found at the broker."""

    state_path: str | None
    on_existing_position: str
    decision_log: str | None


def _fail(name: str, rule: str, value: object) -> ConfigError:
    return ConfigError(f"`{name}` must be {rule}, got {value!r}")


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(name, "a non-negative integer", value)
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, "a number", value)
    return float(value)


def _distance(name: str, value: object) -> float | None:
    if value is None:
        return None
    number = _number(name, value)
    if not number > 0:
        raise _fail(name, "positive or None", value)
    return number


@dataclass(frozen=True)
class StrategyConfig:
    entry: EntryConfig
    sizing: SizingConfig
    risk: RiskConfig
    live: LiveConfig

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], artifact: Artifact | None = None
    ) -> StrategyConfig:
        """Validate ``params`` (the strategy's param names; missing ones take the strategy's
        defaults) and group them. ``artifact`` resolves the defaults that follow the model's
        head (``sizing``, ``threshold``, ``cooldown``) and checks that ``vol_target`` has the
        features it needs; without it they resolve as for a classifier."""
        unknown = sorted(set(params) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"unknown strategy params: {', '.join(unknown)}")
        p = {**DEFAULTS, **params}
        sizing = p["sizing"] or default_sizing(artifact)
        if sizing not in SIZING_RULES:
            raise _fail("sizing", f"one of {', '.join(SIZING_RULES)}", sizing)
        vol_target = sizing == VOL_TARGET
        if p["threshold"] is not None:
            _number("threshold", p["threshold"])
        threshold = entry_threshold(artifact, p["threshold"], sizing)
        if not 0.0 <= threshold <= 1.0:
            raise _fail("threshold", "in [0, 1]", threshold)
        exit_threshold = p["exit_threshold"]
        if exit_threshold is not None:
            exit_threshold = _number("exit_threshold", exit_threshold)
            if not vol_target and not -threshold <= exit_threshold <= threshold:
                raise _fail("exit_threshold", f"in [-threshold, threshold] = "
                            f"[{-threshold:g}, {threshold:g}]", exit_threshold)
        cooldown = p["cooldown"]
        if cooldown is None:
            cooldown = VOL_TARGET_COOLDOWN if vol_target else 0
        entry = EntryConfig(
            threshold=threshold,
            exit_level=-threshold if exit_threshold is None else exit_threshold,
            relative_confidence=bool(p["relative_confidence"]),
            allow_short=bool(p["allow_short"]),
            cooldown=_count("cooldown", cooldown),
            abstain=bool(p["abstain"]),
            trade_start=p["trade_start"],
        )
        return cls(entry, _sizing(p, sizing, artifact), _risk(p), _live(p))


def _sizing(p: Mapping[str, Any], rule: str, artifact: Artifact | None) -> SizingConfig:
    checks = {
        "max_position": ("in (0, 1]", lambda v: 0.0 < v <= 1.0),
        "target_vol": ("positive", lambda v: v > 0.0),
        "max_leverage": ("positive", lambda v: v > 0.0),
        "rebalance_band": ("in [0, 1)", lambda v: 0.0 <= v < 1.0),
        "min_scale": ("in [0, 1]", lambda v: 0.0 <= v <= 1.0),
        "periods_per_year": ("positive", lambda v: v > 0),
        "regime_quantile": ("in [0, 1]", lambda v: 0.0 <= v <= 1.0),
        "regime_scale": ("in [0, 1]", lambda v: 0.0 <= v <= 1.0),
    }
    values = {}
    for name, (rule_text, ok) in checks.items():
        values[name] = _number(name, p[name])
        if not ok(values[name]):
            raise _fail(name, rule_text, p[name])
    if rule == VOL_TARGET and artifact is not None \
            and "ex_ante_vol" not in artifact.feature_spec.line_names:
        raise ConfigError(
            f"`sizing`='vol_target' needs the ex-ante volatility of the ta-v2 features; this "
            f"model uses {artifact.feature_spec.feature_set!r}: choose another sizing or "
            "retrain the model"
        )
    return SizingConfig(rule=rule, regime_filter=bool(p["regime_filter"]),
                        regime_lookback=_count("regime_lookback", p["regime_lookback"]),
                        **values)


def _risk(p: Mapping[str, Any]) -> RiskConfig:
    return RiskConfig(
        stop_loss=_distance("stop_loss", p["stop_loss"]),
        atr_stop=_distance("atr_stop", p["atr_stop"]),
        trail_percent=_distance("trail_percent", p["trail_percent"]),
        take_profit=_distance("take_profit", p["take_profit"]),
        max_order_retries=_count("max_order_retries", p["max_order_retries"]),
    )


def _live(p: Mapping[str, Any]) -> LiveConfig:
    rule = p["on_existing_position"]
    if rule not in EXISTING_POSITION_RULES:
        raise _fail("on_existing_position", f"one of {', '.join(EXISTING_POSITION_RULES)}",
                    rule)
    state, log = p["state_path"], p["decision_log"]
    return LiveConfig(state_path=str(state) if state else None, on_existing_position=rule,
                      decision_log=str(log) if log else None)
