"""Walk-forward retraining: train on a window, trade the next bars out of sample, roll forward.

    python runners/walkforward.py --data models/datasets/orcl-1995-2014.txt \\
        --train-bars 1500 --test-bars 500 --epochs 3 --engine ray --out DIR

Fold k trains only on bars before its test window (ending at least the label horizon before it),
then trades its --test-bars bars with history before them as warm-up. Folds run in parallel on
the engine; their out-of-sample segments are chained into one equity curve. DIR gets folds.csv
(per fold: ranges, val_loss = the mean log-loss of the time-series CV inside its training window,
out-of-sample Sharpe, return and trades), tearsheet.html, metrics.json (in_sample: false),
returns.csv, trades.csv and chart.png. Each fold starts flat with fresh cash; a position still
open at the end of a test window is valued at its last close.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

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
from bt_attention_lstm.runners.cli.training_args import add_training_args, configs_from_args
from bt_attention_lstm.runners.cli.walkforward_args import add_engine_args, add_fold_args

if TYPE_CHECKING:

    from bt_attention_lstm.runners.research.walkforward.plan import FoldPlan


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("walkforward"), description=__doc__.split("\n\n")[0])
    add_data_args(
        p,
        bar_size_check=False,
        start_help="first date of the bars the folds are cut from",
        end_help="last date of the bars the folds are cut from, inclusive",
    )
    add_fold_args(p)
    add_engine_args(p)
    t = p.add_argument_group("training (every fold, as runners/train.py)")
    # the strategy's --target-vol serves both
    add_training_args(t, skip=("target_vol",), per_fold=True)
    add_broker_args(
        p, cash_help="starting cash of each walk-forward fold (each starts flat with fresh cash)"
    )
    add_strategy_args(p, trains_too=True)
    add_common_args(p, device_help="training and inference")
    r = p.add_argument_group("output")
    add_out_arg(r, "the walk-forward report", "walkforward")
    r.add_argument(
        "--keep-models", action="store_true", help="keep each fold's model under DIR/models/"
    )
    r.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def check_training_window(plans: list[FoldPlan], needed: int) -> None:
    from bt_attention_lstm.models.errors import ConfigError

    shortest = min(p.train_bars for p in plans)
    if shortest < needed:
        raise ConfigError(
            f"--train-bars {shortest} is too few to train on: the model needs at least {needed} "
            "bars (feature warm-up + sequence length + label horizon + CV folds)"
        )


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)
    out = prepare_out_dir(args.out, command="walkforward")
    import shutil
    import tempfile
    from pathlib import Path

    from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.models.training.pipeline import min_training_bars
    from bt_attention_lstm.runners.cli.walkforward_text import fold_lines
    from bt_attention_lstm.runners.research.engines import make_engine
    from bt_attention_lstm.runners.research.reporting import print_summary
    from bt_attention_lstm.runners.research.walkforward.fold import (
        FoldSettings,
        fold_jobs,
        run_fold,
    )
    from bt_attention_lstm.runners.research.walkforward.plan import plan_folds
    from bt_attention_lstm.runners.research.walkforward.report import write_walkforward_report
    from bt_attention_lstm.runners.research.walkforward.stitch import (
        fold_table,
        stitch,
        walkforward_metrics,
    )

    df = load_frames(args)[0]
    model_config, train_config = configs_from_args(args, FeatureSpec().n_features)
    plans = plan_folds(
        len(df), args.train_bars, args.test_bars, train_config.horizon, args.step, args.expanding
    )
    check_training_window(plans, min_training_bars(model_config, train_config))
    periods_per_year = infer_periods_per_year(df.index)
    settings = FoldSettings(
        model_config, train_config, {**params, "periods_per_year": periods_per_year}, broker,
        periods_per_year
    )
    engine = make_engine(args.engine, args.address, args.workers)  # checks --address first
    announce(out)
    models_dir = None
    if args.keep_models:
        out.parent.mkdir(parents=True, exist_ok=True)
        models_dir = Path(tempfile.mkdtemp(dir=out.parent, prefix=".tmp-wf-models-"))
    try:
        print(f"engine: {engine.describe()}; {len(plans)} folds")
        jobs = fold_jobs(df, plans, settings, engine.threads_per_job(), models_dir)
        outcomes = engine.map(run_fold, jobs, desc="folds", progress=not args.quiet)
        stitched = stitch(outcomes, df["close"], broker.cash)
        description = {
            "train_bars": args.train_bars,
            "test_bars": args.test_bars,
            "step": args.step or args.test_bars,
            "expanding": bool(args.expanding),
            "gap_bars": train_config.horizon,
            "n_folds": len(plans),
            "architecture": model_config.to_dict(),
            "training": train_config.to_dict(),
            "engine": engine.name,
        }
        metrics = walkforward_metrics(
            stitched, outcomes, periods_per_year, infer_timeframe(df.index), description
        )
        folds = fold_table(outcomes)
        source = Path(str(df.attrs.get("source", "data"))).name
        title = (
            f"AttentionLSTM walk-forward on {source} {metrics['period']['start']}.."
            f"{metrics['period']['end']} ({len(plans)} folds, out of sample)"
        )
        # the chart's threshold lines: the one given, else the default of the folds' models
        threshold = args.threshold if args.threshold is not None else (
            0.2 if train_config.objective == "classify" else 0.0
        )
        path = write_walkforward_report(
            out, stitched, metrics, folds, threshold, periods_per_year, title, models_dir,
            html=not args.no_html,
        )
    finally:
        engine.close()
        if models_dir is not None:
            shutil.rmtree(models_dir, ignore_errors=True)
    print("\n".join(fold_lines(folds)))
    print_summary(metrics)
    print(f"engine: {engine.name}")
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
