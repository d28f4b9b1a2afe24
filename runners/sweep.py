"""Hyperparameter sweep scored by walk-forward out-of-sample Sharpe ratio (never in-sample).

    python runners/sweep.py --data models/datasets/orcl-1995-2014.txt --trials 2 --epochs 2 \\
        --engine ray --out DIR

Every trial trains and trades the same walk-forward folds (see walkforward.py) with one sampled
configuration; its score is the annualised Sharpe ratio of its stitched out-of-sample returns.
With --engine ray the trials run under Ray Tune with an ASHA scheduler, which stops a trial whose
running score falls behind after a few folds; --engine local runs the same trials (the same
seeded draws from the same space) in a process pool, every one to the end. DIR gets trials.csv
and best.json: the best configuration, its Sharpe ratio and its deflated Sharpe ratio, which
accounts for the number of trials.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    check_date_range,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    prog,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)
from bt_attention_lstm.runners.cli.training_args import add_training_args, train_config_from_args
from bt_attention_lstm.runners.cli.walkforward_args import add_engine_args, add_fold_args
from bt_attention_lstm.runners.research.sweep.space import DEFAULT_SPACE, PARAMS, describe

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.runners.research.engines import Engine
    from bt_attention_lstm.runners.research.sweep.space import Space
    from bt_attention_lstm.runners.research.sweep.trial import SweepSettings, TrialRecord

DEFAULT_TRIALS = 20
SEARCHED = ("lr", "seq_len", "hidden", "layers", "heads", "dropout")  # flags the space replaces


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=prog("sweep"),
        description=__doc__.split("\n\n")[0],
        epilog=f"Default search space: {describe(DEFAULT_SPACE)} (heads are drawn among those "
        'that divide hidden). --space FILE.json replaces entries: {"hidden": [16, 32]} is a '
        'choice, {"dropout": {"uniform": [0, 0.3]}} or {"lr": {"loguniform": [1e-4, 1e-2]}} a '
        'range, {"layers": 1} a fixed value; known keys: ' + ", ".join(PARAMS) + ".",
    )
    add_data_args(
        p,
        bar_size_check=False,
        start_help="first date of the bars the walk-forward folds are cut from",
        end_help="last date of the bars the walk-forward folds are cut from, inclusive",
    )
    s = p.add_argument_group("search")
    s.add_argument("--space", metavar="FILE.json", help="search space (default: see below)")
    s.add_argument(
        "--trials",
        type=int,
        default=DEFAULT_TRIALS,
        metavar="N",
        help="configurations to try",
    )
    add_fold_args(p, train_bars=1500, test_bars=500)
    add_engine_args(p)
    t = p.add_argument_group("training (fixed across trials)")
    # no --target-vol: every trial trains and trades at the default target (0.15)
    add_training_args(t, skip=(*SEARCHED, "target_vol"), per_fold=True)
    add_broker_args(
        p, cash_help="starting cash of each walk-forward fold of every trial (each starts flat)"
    )
    add_common_args(p, device_help="training and inference")
    add_out_arg(p, "trials.csv and best.json", "sweep")
    return p


def default_strategy(device: str, periods_per_year: float) -> dict[str, object]:
    """backtest.py's default strategy settings (the threshold is searched)."""
    parser = argparse.ArgumentParser()
    add_strategy_args(parser)
    args = parser.parse_args([])
    args.device = device
    return strategy_params(args, periods_per_year)


def run_trials(
    engine: Engine,
    bars: pd.DataFrame,
    configs: list[dict[str, Any]],
    space: Space,
    settings: SweepSettings,
    seed: int,
    progress: bool,
) -> list[TrialRecord]:
    """Ray: one Tune trial per configuration, under ASHA. Local: every trial, to the end."""
    from bt_attention_lstm.runners.research.sweep.trial import TrialJob, run_trial

    if engine.name == "ray":
        from bt_attention_lstm.runners.research.sweep.ray_tune import run_tune

        return run_tune(bars, configs, space, settings, engine.workers, seed, progress)
    jobs = [TrialJob(f"local_{i:05d}", c, bars, settings) for i, c in enumerate(configs)]
    return engine.map(run_trial, jobs, desc="trials", progress=progress)


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    broker = broker_from_args(args)
    from bt_attention_lstm.runners.research.sweep.space import (
        load_space,
        max_seq_len,
        sample_configs,
    )

    space = load_space(args.space)
    out = prepare_out_dir(args.out, command="sweep")
    from bt_attention_lstm.models.config import ModelConfig
    from bt_attention_lstm.models.data import infer_periods_per_year
    from bt_attention_lstm.models.errors import ConfigError
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.models.training.pipeline import min_training_bars
    from bt_attention_lstm.runners.cli.walkforward_text import sweep_result_lines
    from bt_attention_lstm.runners.research.engines import make_engine
    from bt_attention_lstm.runners.research.sweep.report import (
        best_summary,
        trials_table,
        write_sweep_report,
    )
    from bt_attention_lstm.runners.research.sweep.trial import SweepSettings
    from bt_attention_lstm.runners.research.walkforward.plan import plan_folds

    configs = sample_configs(space, args.trials, args.seed)
    df = load_frames(args)[0]
    train_config = train_config_from_args(args)  # lr: each trial's own
    plans = plan_folds(
        len(df), args.train_bars, args.test_bars, train_config.horizon, args.step, args.expanding
    )
    n_features = FeatureSpec().n_features
    longest = ModelConfig(n_features=n_features, seq_len=max_seq_len(space))
    needed = min_training_bars(longest, train_config)
    if min(p.train_bars for p in plans) < needed:
        raise ConfigError(
            f"--train-bars {args.train_bars} is too few to train on: with seq_len up to "
            f"{longest.seq_len} the model needs at least {needed} bars"
        )
    periods_per_year = infer_periods_per_year(df.index)
    engine = make_engine(args.engine, args.address, args.workers)  # checks --address first
    announce(out)
    settings = SweepSettings(
        plans, train_config, n_features, default_strategy(args.device, periods_per_year), broker,
        periods_per_year,
        engine.threads_per_job(),
    )
    try:
        scheduler = "ASHA (Ray Tune)" if engine.name == "ray" else "none (every trial to the end)"
        print(
            f"engine: {engine.describe()}; {args.trials} trial(s) x {len(plans)} walk-forward "
            f"folds; early stopping: {scheduler}"
        )
        records = run_trials(engine, df, configs, space, settings, args.seed, not args.quiet)
    finally:
        engine.close()
    trials = trials_table(records)
    context = {
        "engine": engine.name,
        "scheduler": scheduler,
        "n_folds": len(plans),
        "train_bars": args.train_bars,
        "test_bars": args.test_bars,
        "step": args.step or args.test_bars,
        "expanding": bool(args.expanding),
        "training": {k: v for k, v in train_config.to_dict().items() if k != "lr"},
        "space": space,
        "seed": args.seed,
        "data": str(df.attrs.get("source", "synthetic")),
    }
    best = best_summary(records, len(plans), context)
    path = write_sweep_report(out, trials, best)
    print("\n".join(sweep_result_lines(trials, best)))
    print(f"engine: {engine.name}")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
