"""What a linear model on the same features can get out of a data set (docs/MODEL_QUALITY.md).

A research probe, not part of the product: a multinomial logistic regression (C=0.1) on the
current ta-v2 feature row, trained on the first 60%, scored after it. For several labels it
prints the out-of-sample log-loss against the training prior and the Sharpe of a simplified
long-only hysteresis rule (enter when the edge reaches +0.2, leave when it falls to -0.2; the
edge is p_up - p_down, or that minus the training prior's; decided on a close, held from the
next open; 0.15% per change; no stops). Because the label and the rule are picked after seeing
these out-of-sample figures, the best row is an optimistic ceiling, not a result.

    python docs/probes/linear_ceiling.py synthetic:default synthetic:random-walk:1
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from bt_attention_lstm.models.features.compute import compute_features
from bt_attention_lstm.runners.research.evaluation.datasets import load_dataset

LABELS = ((10, 0.5, False), (21, 0.5, False), (21, 0.0, True), (42, 0.0, True), (63, 0.0, True))


def labels(close: np.ndarray, horizon: int, band: float, binary: bool) -> np.ndarray:
    log_c = np.log(close)
    sigma = pd.Series(np.diff(log_c, prepend=np.nan)).rolling(20).std().to_numpy()
    forward = np.full(len(close), np.nan)
    forward[:-horizon] = log_c[horizon:] - log_c[:-horizon]
    y = np.full(len(close), -1)
    ok = np.isfinite(forward) & np.isfinite(sigma)
    if binary:
        y[ok] = np.where(forward[ok] > 0, 2, 0)
        return y
    y[ok] = 1
    y[ok & (forward > band * sigma * np.sqrt(horizon))] = 2
    y[ok & (forward < -band * sigma * np.sqrt(horizon))] = 0
    return y


def hysteresis_sharpe(edge: np.ndarray, opens: np.ndarray, threshold: float = 0.2) -> float:
    position, held = np.zeros(len(edge)), 0.0
    for i, e in enumerate(edge):
        held = 1.0 if held == 0 and e >= threshold else 0.0 if e <= -threshold else held
        position[i] = held
    returns = np.zeros(len(opens))
    returns[:-2] = opens[2:] / opens[1:-1] - 1.0  # decided on close t, held open t+1 -> t+2
    pnl = position * returns - 0.0015 * np.abs(np.diff(position, prepend=0.0))
    return float(pnl.mean() / pnl.std() * np.sqrt(252)) if pnl.std() > 0 else 0.0


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1.0))))


def probe(spec: str) -> None:
    name, df = load_dataset(spec)
    x = compute_features(df).to_numpy()
    cut, opens = int(len(df) * 0.6), df["open"].to_numpy()
    test = np.arange(cut, len(df))
    oos_returns = opens[cut + 1:] / opens[cut:-1] - 1.0
    hold = oos_returns.mean() / oos_returns.std() * np.sqrt(252)
    print(f"{name}: buy-and-hold Sharpe {hold:.2f}")
    for horizon, band, binary in LABELS:
        y = labels(df["close"].to_numpy(), horizon, band, binary)
        train = np.arange(cut - horizon)
        train = train[np.isfinite(x[train]).all(axis=1) & (y[train] >= 0)]
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=0.1, max_iter=1000).fit(scaler.transform(x[train]), y[train])
        probs = np.zeros((len(df), 3))
        probs[:, model.classes_] = model.predict_proba(scaler.transform(np.nan_to_num(x)))
        prior = np.bincount(y[train], minlength=3) / len(train)
        scored = test[y[test] >= 0]
        excess = log_loss(probs[scored], y[scored]) - log_loss(
            np.tile(prior, (len(scored), 1)), y[scored])
        confidence = probs[test, 2] - probs[test, 0]
        absolute = hysteresis_sharpe(confidence, opens[test])
        relative = hysteresis_sharpe(confidence - (prior[2] - prior[0]), opens[test])
        kind = "up/down" if binary else f"3-class band {band}"
        print(f"  horizon {horizon:2d} {kind:16s} OOS log-loss excess {excess:+.4f}  "
              f"Sharpe absolute {absolute:+.2f}  relative {relative:+.2f}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=FutureWarning)
    for arg in sys.argv[1:] or ["synthetic:default"]:
        probe(arg)
