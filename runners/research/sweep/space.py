"""The hyperparameter search space of sweep.py: its default, its JSON form, validation, sampling.

JSON form (a file given as ``space``), one entry per parameter, each optional (missing ones keep the
default): a list is a choice among its values, a single number is fixed, and
``{"uniform": [lo, hi]}`` / ``{"loguniform": [lo, hi]}`` are continuous ranges (float
parameters only). Attention heads are always drawn among the choices that divide ``hidden``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from bt_attention_lstm.models.errors import ConfigError

INT_PARAMS = ("hidden", "layers", "heads", "seq_len")
PARAMS = ("hidden", "layers", "heads", "dropout", "lr", "seq_len", "threshold")
RANGES = ("uniform", "loguniform")
# Allowed values: (low, high, whether high itself is allowed).
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "hidden": (1, 4096, True),
    "layers": (1, 8, True),
    "heads": (1, 64, True),
    "seq_len": (2, 1000, True),
    "dropout": (0.0, 1.0, False),
    "lr": (1e-7, 1.0, True),
    "threshold": (0.0, 1.0, True),
}

Space = dict[str, Any]

DEFAULT_SPACE: Space = {
    "hidden": [16, 32, 64, 128],
    "layers": [1, 2],
    "heads": [1, 2, 4],
    "dropout": {"uniform": [0.0, 0.4]},
    "lr": {"loguniform": [1e-4, 3e-3]},
    "seq_len": [10, 20, 30],
    "threshold": {"uniform": [0.05, 0.4]},
}


def describe(space: Space) -> str:
    """One line per parameter, for a help text and the terminal."""
    parts = []
    for name in PARAMS:
        spec = space[name]
        if isinstance(spec, dict):
            (kind, (lo, hi)), = spec.items()
            parts.append(f"{name} {kind} [{lo:g}, {hi:g}]")
        elif isinstance(spec, list):
            parts.append(f"{name} {{{', '.join(f'{v:g}' for v in spec)}}}")
        else:
            parts.append(f"{name} = {spec:g}")
    return "; ".join(parts)


def _check_value(name: str, value: Any, where: str) -> float | int:
    integer = name in INT_PARAMS
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}: {name} values must be {kind}, got {value!r}")
    lo, hi, closed = BOUNDS[name]
    if not (math.isfinite(value) and lo <= value and (value <= hi if closed else value < hi)):
        raise ConfigError(
            f"{where}: {name} = {value!r} is outside [{lo:g}, {hi:g}{']' if closed else ')'}"
        )
    return value


def _check_entry(name: str, spec: Any, where: str) -> Any:
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: {name} is an empty list of choices")
        return [_check_value(name, v, where) for v in spec]
    if isinstance(spec, dict):
        if name in INT_PARAMS or len(spec) != 1 or next(iter(spec)) not in RANGES:
            allowed = "a list or a number" if name in INT_PARAMS else (
                'a list, a number, {"uniform": [lo, hi]} or {"loguniform": [lo, hi]}'
            )
            raise ConfigError(f"{where}: {name} must be {allowed}, got {json.dumps(spec)}")
        (kind, bounds), = spec.items()
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise ConfigError(f"{where}: {name}.{kind} needs [lo, hi], got {json.dumps(bounds)}")
        lo, hi = (_check_value(name, v, where) for v in bounds)
        if not lo < hi or (kind == "loguniform" and lo <= 0):
            raise ConfigError(f"{where}: {name}.{kind} needs 0 < lo < hi, got [{lo}, {hi}]")
        return {kind: [float(lo), float(hi)]}
    return _check_value(name, spec, where)


def _choices(spec: Any) -> list[Any]:
    return spec if isinstance(spec, list) else [spec]


def validate_space(raw: Any, where: str = "search space") -> Space:
    """The default space with ``raw``'s entries in place of the defaults; ConfigError if any
    entry is unknown, of the wrong shape or out of range."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError(f"{where}: expected a JSON object of parameters, got a {kind}")
    unknown = sorted(set(raw) - set(PARAMS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(PARAMS)}"
        )
    space = {**DEFAULT_SPACE, **{k: _check_entry(k, v, where) for k, v in raw.items()}}
    heads = _choices(space["heads"])
    for hidden in _choices(space["hidden"]):
        if not any(hidden % h == 0 for h in heads):
            raise ConfigError(f"{where}: no heads choice in {heads} divides hidden = {hidden}")
    return space


def load_space(path: str | None) -> Space:
    if path is None:
        return validate_space({})
    where = f"`space` {path}"
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return validate_space(raw, where)


def _draw(spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    if isinstance(spec, dict):
        (kind, (lo, hi)), = spec.items()
        if kind == "uniform":
            return float(rng.uniform(lo, hi))
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return spec


def sample_configs(space: Space, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations drawn with a seeded generator (the same seed gives the same list)."""
    if n < 1:
        raise ConfigError(f"`trials` must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(n):
        config = {name: _draw(space[name], rng) for name in PARAMS if name != "heads"}
        heads = [h for h in _choices(space["heads"]) if config["hidden"] % h == 0]
        config["heads"] = heads[int(rng.integers(len(heads)))]
        configs.append({name: config[name] for name in PARAMS})
    return configs


def max_seq_len(space: Space) -> int:
    return int(max(_choices(space["seq_len"])))


def to_tune(space: Space) -> dict[str, Any]:
    """The same space as Ray Tune domains (for the record: trials come pre-sampled)."""
    from ray import tune

    domains: dict[str, Any] = {}
    for name in PARAMS:
        spec = space[name]
        if isinstance(spec, list):
            domains[name] = tune.choice(spec)
        elif isinstance(spec, dict):
            (kind, (lo, hi)), = spec.items()
            domains[name] = tune.uniform(lo, hi) if kind == "uniform" else tune.loguniform(lo, hi)
        else:
            domains[name] = spec
    return domains
