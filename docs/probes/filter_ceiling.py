"""How well can anyone trade a synthetic market without seeing the future? (docs/MODEL_QUALITY.md)

A research probe, not part of the product. The synthetic markets hide a drift regime; the
"oracle" figures of issue 10 know it. This probe replaces the oracle with the best causal
detector there is when the generator's parameters are known: a hidden-Markov forward filter
over the regimes (up / down / neutral, switching with probability 1 / mean_regime_len, a
regime's drift at its mean size, Gaussian returns with a causal span-20 EW volatility). From
its probability of each regime it holds the sign of the expected drift beyond the base drift
(long-only: long when it is positive), decided on a close and held from the next open, 0.15%
a change, no stops. It prints the out-of-sample Sharpe (after the first 60%) of that filter
and of the oracle, which reads the true regime. The filter reads the generator's own
parameters, so it is an upper bound for any model trained on the data, not a result.

    python docs/probes/filter_ceiling.py synthetic:planted synthetic:default synthetic:planted:1
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from bt_attention_lstm.models.synthetic import MARKET, PLANTED_EDGE, MarketModel, _regime_drifts
from bt_attention_lstm.runners.workflows.evaluation.datasets import load_dataset

COST = 0.0015  # per unit of position change: commission 0.1% + slippage 0.05%
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


def forward_filter(returns: np.ndarray, m: MarketModel) -> np.ndarray:
    """P(up), P(down), P(neutral) after each bar's return (causal: bar t sees returns <= t)."""
    drifts = np.array([m.regime_drift, -m.regime_drift, 0.0]) + m.base_drift
    start = np.array([(1 - m.neutral_prob) / 2, (1 - m.neutral_prob) / 2, m.neutral_prob])
    switch = 1.0 / m.mean_regime_len
    transition = (1 - switch) * np.eye(3) + switch * start[None, :]
    vol = pd.Series(returns).ewm(span=20, min_periods=20).std().shift(1).to_numpy()
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


def main(specs: list[str]) -> None:
    print(f"{'data':24s} {'rule':12s} {'oracle':>7s} {'filter':>7s}")
    for spec in specs:
        m, seed = process_of(spec)
        _, df = load_dataset(spec)
        n, cut = len(df), int(len(df) * TRAIN_FRACTION)
        drift = hidden_drift(n, seed, m) - m.base_drift
        returns = np.diff(np.log(df["close"].to_numpy()), prepend=np.nan)
        belief = forward_filter(returns, m)
        expected = (belief[:, 0] - belief[:, 1]) * m.regime_drift
        open_ = df["open"].to_numpy()
        for rule, oracle, causal in (
            ("long-only", (drift > 0).astype(float), (expected > 0).astype(float)),
            ("long-short", np.sign(drift), np.sign(expected)),
        ):
            print(f"{spec:24s} {rule:12s} {sharpe(oracle, open_, cut):7.2f} "
                  f"{sharpe(causal, open_, cut):7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["synthetic:planted", "synthetic:default"])
