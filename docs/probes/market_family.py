"""The built-in market as a family of paths (docs/MODEL_QUALITY.md): on each market seed, the
default model (trained on the first 60%, one model per training seed) beside the
known-parameter filter of ``filter_ceiling.py``, the SMA 10/30 cross and buy-and-hold, all
scored as the backtest scores them (long-only, vol-targeted, 10 bps a unit of weight, bars after
the first 60%).

One path (``synthetic:default`` is market seed 7) says little: the filter's own Sharpe ranges
from below 0 to above 3 across seeds. This probe reports the mean over market seeds, so a
change to the market or the model is judged on the family, not on one path.

    python docs/probes/market_family.py                        # market seeds 1-8, as built in
    python docs/probes/market_family.py --regime-drift 0.0012  # the market before 2026-12
    python docs/probes/market_family.py --ensemble 3           # three members a model
    python docs/probes/market_family.py --market-seeds 1 2 --seeds 7

Everything comes from the package: the generator (``models.data.synthetic``), the default
model's architecture and training configuration (``runners.research.default_model``) and the
scorer (``model_beside_rules``, ``compare_with_rules``).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from filter_ceiling import TRAIN_FRACTION, causal_vol, forward_filter

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data.synthetic import MARKET, MarketModel, generate_market
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.reports.rule_comparison import compare_with_rules
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    default_model_config,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_beside_rules


def filter_position(df: pd.DataFrame, market: MarketModel) -> pd.Series:
    """Long while the known-parameter filter expects an up-drift (decided on each close)."""
    returns = np.diff(np.log(df["close"].to_numpy()), prepend=np.nan)
    belief = forward_filter(returns, market, causal_vol(returns))
    return pd.Series((belief[:, 0] > belief[:, 1]).astype(float), index=df.index)


def model_sharpe(df: pd.DataFrame, start: pd.Timestamp, seed: int, ensemble: int) -> float:
    """Out-of-sample portfolio Sharpe of the default model trained with ``seed`` on the bars
    before ``start``."""
    config = dataclasses.replace(DEFAULT_TRAIN_CONFIG, seed=seed, ensemble=ensemble)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model"
        train_and_save([df.loc[: start - pd.Timedelta(1)]], default_model_config(), config, path,
                       progress=False)
        artifact = load_artifact(path)
    return model_beside_rules({"x": df}, artifact, start).portfolio.scores[0].sharpe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--regime-drift", type=float, default=MARKET.regime_drift)
    p.add_argument("--market-seeds", type=int, nargs="+", default=list(range(1, 9)))
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="training seeds")
    p.add_argument("--bars", type=int, default=4000)
    p.add_argument("--ensemble", type=int, default=DEFAULT_TRAIN_CONFIG.ensemble,
                   help="members per model (positions averaged)")
    args = p.parse_args()
    market = dataclasses.replace(MARKET, regime_drift=args.regime_drift)
    print(f"regime_drift {args.regime_drift}, {args.bars} bars, trained on the first "
          f"{TRAIN_FRACTION:.0%}; model: mean over seeds {args.seeds}")
    print(f"{'market seed':>11s} {'filter':>7s} {'model':>7s} {'ratio':>6s} {'sma':>6s} "
          f"{'b&h':>6s}  model per seed")
    rows = []
    for market_seed in args.market_seeds:
        df = generate_market(args.bars, market_seed, market)
        start = df.index[int(len(df) * TRAIN_FRACTION)]
        scored = compare_with_rules({"x": df["close"].astype(float)},
                                    {"x": filter_position(df, market)}, start).portfolio
        per_seed = [model_sharpe(df, start, seed, args.ensemble) for seed in args.seeds]
        row = (scored.scores[0].sharpe, float(np.mean(per_seed)),
               scored.score("sma_cross").sharpe, scored.score("buy_and_hold").sharpe)
        rows.append(row)
        print(f"{market_seed:11d} {row[0]:7.2f} {row[1]:7.2f} {row[1] / row[0]:6.2f} "
              f"{row[2]:6.2f} {row[3]:6.2f}  {' '.join(f'{s:.2f}' for s in per_seed)}",
              flush=True)
    filt, model, sma, hold = np.array(rows).mean(axis=0)
    ahead = sum(r[1] >= r[2] for r in rows)
    print(f"{'mean':>11s} {filt:7.2f} {model:7.2f} {model / filt:6.2f} {sma:6.2f} {hold:6.2f}  "
          f"model >= SMA on {ahead} of {len(rows)} paths")


if __name__ == "__main__":
    main()
