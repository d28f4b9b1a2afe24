"""How well can anyone trade a synthetic market without seeing the future? (docs/MODEL_QUALITY.md)

A research probe, not part of the product. The synthetic markets hide a drift regime; the
"oracle" figures of issue 10 know it. This probe sets beside the oracle a causal detector that
knows the generator's parameters: a hidden-Markov forward filter over the regimes (up / down /
neutral, switching with probability 1 / mean_regime_len, a regime's drift at its mean size,
Gaussian returns with a causal span-20 EW volatility). From its probability of each regime it
holds the sign of the expected drift beyond the base drift (long-only: long when it is
positive), decided on a close and held from the next open, 0.15% a change, no stops. It prints
the out-of-sample Sharpe (after the first 60%) of that filter and of the oracle, which reads the
true regime, and the range over 12 variants of the filter (switching rate, drift size, and
the generator's own volatility in place of the causal estimate) and, long-only, 16 entry/exit
bands. The filter approximates the
process (one drift size, memoryless switching where the generator has a minimum regime length,
Gaussian where it has Student-t shocks and GARCH), so it is a strong reference for what the past
can tell, not a strict bound: a model can beat it on a path by luck or by a better exit.

A second table shows what the product's labels allow: for bars inside an up, down or neutral
stretch of the hidden drift over the next 10 bars, the class frequencies of the 10-bar labels,
as p_up - p_down and as the edge beyond the base rate (p_up - p_down of all labels), which is
what the strategy compares with its 0.2 entry threshold. A classifier that knew the future
drift would say no more than that on average.

    python docs/probes/filter_ceiling.py synthetic:planted synthetic:default synthetic:planted:1
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.synthetic import (
    MARKET,
    PLANTED_EDGE,
    MarketModel,
    _garch_sigma,
    _regime_drifts,
)
from bt_attention_lstm.models.training.labels import DOWN, UP, make_labels
from bt_attention_lstm.reports.rule_comparison import compare_with_rules
from bt_attention_lstm.runners.research.evaluation.datasets import load_dataset

COST = 0.0015  # per unit of position change: commission 0.1% + slippage 0.05%
HORIZON = 10  # the default model's label horizon
TRAIN_FRACTION = 0.6


def process_of(spec: str) -> tuple[MarketModel, int]:
    """(the generator's parameters, its seed) behind a synthetic ``--data`` value."""
    parts = spec.split(":")
    if parts[1] == "default":
        return MARKET, 7
    if parts[1] == "planted":
        return PLANTED_EDGE, int(parts[2]) if len(parts) > 2 else 5
    raise SystemExit(f"{spec}: only synthetic:default and synthetic:planted[:SEED] have regimes")


def hidden_drift(n: int, seed: int, m: MarketModel) -> np.ndarray:
    """The generator's regime drift, from the same random streams in the same order."""
    rng = np.random.default_rng(seed)
    rng.standard_t(m.t_df, size=n)
    return _regime_drifts(n, rng, m)


def causal_vol(returns: np.ndarray) -> np.ndarray:
    """Span-20 EW volatility of the returns before each bar."""
    return pd.Series(returns).ewm(span=20, min_periods=20).std().shift(1).to_numpy()


def true_vol(n: int, seed: int, m: MarketModel) -> np.ndarray:
    """The generator's own GARCH volatility (known to no model: for the variants only)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(m.t_df, size=n) * np.sqrt((m.t_df - 2.0) / m.t_df)
    return _garch_sigma(z, m)


def forward_filter(returns: np.ndarray, m: MarketModel, vol: np.ndarray,
                   switch_scale: float = 1.0, drift_scale: float = 1.0) -> np.ndarray:
    """P(up), P(down), P(neutral) after each bar's return (causal: bar t sees returns <= t)."""
    drift = m.regime_drift * drift_scale
    drifts = np.array([drift, -drift, 0.0]) + m.base_drift
    start = np.array([(1 - m.neutral_prob) / 2, (1 - m.neutral_prob) / 2, m.neutral_prob])
    switch = switch_scale / m.mean_regime_len
    transition = (1 - switch) * np.eye(3) + switch * start[None, :]
    belief = start.copy()
    out = np.full((len(returns), 3), np.nan)
    for t, r in enumerate(returns):
        belief = belief @ transition
        if np.isfinite(r) and np.isfinite(vol[t]) and vol[t] > 0:
            likelihood = np.exp(-0.5 * ((r - drifts) / vol[t]) ** 2)
            belief = belief * likelihood
            belief /= belief.sum()
        out[t] = belief
    return out


def sharpe(position: np.ndarray, open_: np.ndarray, cut: int) -> float:
    """Annualised Sharpe after ``cut`` of a position decided on bar t's close, held from the
    open of t + 1 to the open of t + 2."""
    held = np.log(open_[2:] / open_[1:-1])
    decided = position[:-2]
    pnl = decided * held - COST * np.abs(np.diff(np.r_[0.0, decided]))
    pnl = pnl[cut:]
    return float(pnl.mean() / pnl.std() * np.sqrt(252)) if pnl.std() > 0 else 0.0


def label_ceiling(close: np.ndarray, drift: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Per stretch of the next HORIZON bars' mean drift (beyond the base drift): (share of the
    labelled bars, p_up - p_down of their labels, that minus the base rate)."""
    labels = make_labels(close, horizon=HORIZON)
    ahead = np.full(len(close), np.nan)
    ahead[: len(close) - HORIZON] = np.lib.stride_tricks.sliding_window_view(
        drift[1:], HORIZON).mean(axis=1)[: len(close) - HORIZON]
    ok = (labels >= 0) & np.isfinite(ahead)
    base = np.mean(labels[ok] == UP) - np.mean(labels[ok] == DOWN)
    out = {}
    for name, inside in (("up", ahead > 1e-12), ("down", ahead < -1e-12),
                         ("neutral", np.abs(ahead) <= 1e-12)):
        sel = ok & inside
        if sel.any():
            conf = np.mean(labels[sel] == UP) - np.mean(labels[sel] == DOWN)
            out[name] = (float(sel.sum() / ok.sum()), float(conf), float(conf - base))
    return out


def hysteresis(edge: np.ndarray, enter: float, leave: float) -> np.ndarray:
    """Long from the bar where ``edge`` reaches ``enter`` until it falls to ``leave``."""
    position = np.zeros(len(edge))
    held = 0.0
    for t, x in enumerate(np.nan_to_num(edge)):
        if not held and x >= enter:
            held = 1.0
        elif held and x <= leave:
            held = 0.0
        position[t] = held
    return position


def variant_range(returns: np.ndarray, m: MarketModel, vols: list[np.ndarray],
                  open_: np.ndarray, cut: int) -> dict[str, tuple[float, float]]:
    """(min, max) Sharpe over filter variants: switching rate x0.5/1/2, drift size x0.75/1,
    causal or true volatility; shows how much the filter's own approximations matter. Long-only
    also tries entry/exit bands on P(up) - P(down) (enter at 0, 0.2, 0.4, 0.6; leave at 0,
    -0.2, -0.4, -0.6), since a band trades less often than the sign."""
    found: dict[str, list[float]] = {"long-only": [], "long-short": []}
    edge = forward_filter(returns, m, vols[0])[:, :2] @ np.array([1.0, -1.0])
    for enter in (0.0, 0.2, 0.4, 0.6):
        for leave in (0.0, -0.2, -0.4, -0.6):
            found["long-only"].append(sharpe(hysteresis(edge, enter + 1e-12, leave), open_, cut))
    for vol in vols:
        for switch_scale in (0.5, 1.0, 2.0):
            for drift_scale in (0.75, 1.0):
                belief = forward_filter(returns, m, vol, switch_scale, drift_scale)
                edge = belief[:, 0] - belief[:, 1]
                found["long-only"].append(sharpe((edge > 0).astype(float), open_, cut))
                found["long-short"].append(sharpe(np.sign(edge), open_, cut))
    return {rule: (min(v), max(v)) for rule, v in found.items()}


def main(specs: list[str]) -> None:
    print(f"{'data':24s} {'rule':12s} {'oracle':>7s} {'filter':>7s} {'variants':>13s}")
    for spec in specs:
        m, seed = process_of(spec)
        _, df = load_dataset(spec)
        n, cut = len(df), int(len(df) * TRAIN_FRACTION)
        drift = hidden_drift(n, seed, m) - m.base_drift
        returns = np.diff(np.log(df["close"].to_numpy()), prepend=np.nan)
        belief = forward_filter(returns, m, causal_vol(returns))
        expected = (belief[:, 0] - belief[:, 1]) * m.regime_drift
        open_ = df["open"].to_numpy()
        ranges = variant_range(returns, m, [causal_vol(returns), true_vol(n, seed, m)], open_, cut)
        for rule, oracle, causal in (
            ("long-only", (drift > 0).astype(float), (expected > 0).astype(float)),
            ("long-short", np.sign(drift), np.sign(expected)),
        ):
            low, high = ranges[rule]
            print(f"{spec:24s} {rule:12s} {sharpe(oracle, open_, cut):7.2f} "
                  f"{sharpe(causal, open_, cut):7.2f} {low:6.2f}..{high:5.2f}")
        # The same filter as the model is judged: its long-only position vol-targeted, 10 bps a
        # unit of weight, scored beside the rules by the product's scorer (docs/MODEL_QUALITY.md).
        close = df["close"].astype(float)
        scored = compare_with_rules(
            {"x": close}, {"x": pd.Series((expected > 0).astype(float), index=df.index)},
            df.index[cut],
        ).portfolio
        print(f"{spec:24s} {'vol-targeted long-only, 10 bps':35s} filter "
              f"{scored.scores[0].sharpe:5.2f}  sma_cross {scored.score('sma_cross').sharpe:5.2f}"
              f"  buy_and_hold {scored.score('buy_and_hold').sharpe:5.2f}")
        for name, (share, conf, edge) in label_ceiling(df["close"].to_numpy(), drift).items():
            print(f"{'':24s} {HORIZON}-bar labels in {name} stretches ({share:.0%} of bars): "
                  f"p_up - p_down {conf:+.3f}, edge beyond the base rate {edge:+.3f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["synthetic:planted", "synthetic:default"])
