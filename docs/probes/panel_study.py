"""The 10-stock panel study of docs/MODEL_QUALITY.md: one position model trained on every stock
up to a date, traded after it on each stock, beside the simple rules (same bars, vol target and
costs), per stock and for the equal-weight portfolio.

    python docs/probes/panel_study.py                      # trained to 2012-12-31, 2013-2022
    python docs/probes/panel_study.py --holdout KO         # KO left out of training
    python docs/probes/panel_study.py --seeds 7 8 9        # one model per seed
    python docs/probes/panel_study.py --train-end 2002-12-31 --test-end 2012-12-31
    python docs/probes/panel_study.py --ensemble 1         # one member (the default: three)

Everything comes from the package: the shipped wide close-only file (``models.datasets``),
the default model's architecture and training configuration
(``runners.research.default_model``), and the scorer the backtest and evaluate
commands print (``model_beside_rules``). Nothing is chosen on the years it reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data import load_price_panel
from bt_attention_lstm.models.datasets import sample_path
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_TRAIN_CONFIG,
    default_model_config,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_beside_rules

PANEL = "us-stocks-close-1990-2022.csv"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-end", default="2012-12-31")
    p.add_argument("--test-end", default=None, help="last day traded (default: the file's last)")
    p.add_argument("--holdout", action="append", default=[], help="symbol left out of training")
    p.add_argument("--seeds", type=int, nargs="+", default=[DEFAULT_TRAIN_CONFIG.seed])
    p.add_argument("--cost-bps", type=float, default=10.0)
    p.add_argument("--allow-short", action="store_true")
    p.add_argument("--ensemble", type=int, default=DEFAULT_TRAIN_CONFIG.ensemble,
                   help="members averaged (default: the default model's)")
    args = p.parse_args()
    frames = load_price_panel(sample_path(PANEL))
    if args.test_end is not None:
        frames = {sym: df.loc[: pd.Timestamp(args.test_end)] for sym, df in frames.items()}
    end = pd.Timestamp(args.train_end)
    start = end + pd.Timedelta(days=1)
    train = [df.loc[:end] for sym, df in frames.items() if sym not in args.holdout]
    for seed in args.seeds:
        config = dataclasses.replace(DEFAULT_TRAIN_CONFIG, seed=seed, device="cpu",
                                     ensemble=args.ensemble)
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            path, result = train_and_save(
                train, default_model_config(), config, Path(tmp) / "m", progress=False
            )
            trained = time.perf_counter() - began
            artifact = load_artifact(path)
            comparison = model_beside_rules(
                frames, artifact, start, allow_short=args.allow_short,
                cost=args.cost_bps / 1e4,
            )
        held = f", held out: {', '.join(args.holdout)}" if args.holdout else ""
        print(f"== seed {seed}: trained on {len(train)} stocks to {args.train_end} in "
              f"{trained:.0f} s ({result.final_epochs} epochs){held}")
        print(comparison.format_table())


if __name__ == "__main__":
    main()
