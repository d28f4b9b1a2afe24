"""Backtest an AttentionLSTM with backtrader and write a quantstats tear sheet, metrics.json,
returns.csv, trades.csv and chart.png.

    python runners/backtest.py                       # synthetic market, default model
    python runners/backtest.py --data prices.csv --model models/output/attention-lstm
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from indicators.features import warmup_bars  # noqa: E402
from models.artifact import Artifact, load_artifact  # noqa: E402
from models.data import infer_timeframe, periods_per_year, select_range  # noqa: E402
from models.device import DEVICE_CHOICES  # noqa: E402
from models.errors import DataError  # noqa: E402
from runners.cli import (  # noqa: E402
    OneLineParser,
    add_data_args,
    configure_logging,
    load_frames,
    require_bars,
    run_main,
)
from runners.default_model import default_model  # noqa: E402
from runners.report_builder import build_metrics, check_out_dir, print_summary, write_report  # noqa: E402
from strategies.engine import BacktestResult, BrokerConfig, run_backtest  # noqa: E402
from strategies.sizing import SIZING_RULES  # noqa: E402

logger = logging.getLogger("backtest")


def add_strategy_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy (AttentionLSTMStrategy params)")
    g.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="minimum |p_up - p_down| to enter (default: %(default)s)",
    )
    g.add_argument(
        "--max-position",
        type=float,
        default=0.95,
        help="largest position as a fraction of equity (default: %(default)s)",
    )
    g.add_argument(
        "--sizing",
        choices=SIZING_RULES,
        default="confidence",
        help="position sizing rule (default: %(default)s)",
    )
    g.add_argument(
        "--target-vol",
        type=float,
        default=0.15,
        help="annualised volatility target of --sizing volatility (default: %(default)s)",
    )
    g.add_argument(
        "--stop-loss",
        type=float,
        default=0.05,
        help="stop-loss distance as a fraction of entry; 0 disables (default: %(default)s)",
    )
    g.add_argument(
        "--atr-stop",
        type=float,
        default=None,
        help="stop-loss distance in ATRs (the tighter of the two stops wins)",
    )
    g.add_argument(
        "--trail", type=float, default=None, help="trailing stop distance as a fraction (e.g. 0.08)"
    )
    g.add_argument(
        "--take-profit",
        type=float,
        default=None,
        help="take-profit distance as a fraction (e.g. 0.15)",
    )
    g.add_argument("--allow-short", action="store_true", help="also trade short signals")
    g.add_argument(
        "--cooldown",
        type=int,
        default=0,
        help="bars to wait after an exit before re-entering (default: %(default)s)",
    )
    g.add_argument(
        "--no-regime-filter",
        action="store_true",
        help="do not halve risk when trailing volatility is in its top decile",
    )


def strategy_params(args: argparse.Namespace, ppy: float) -> dict[str, object]:
    return {
        "threshold": args.threshold,
        "max_position": args.max_position,
        "sizing": args.sizing,
        "target_vol": args.target_vol,
        "stop_loss": args.stop_loss or None,
        "atr_stop": args.atr_stop,
        "trail_percent": args.trail,
        "take_profit": args.take_profit,
        "allow_short": args.allow_short,
        "cooldown": args.cooldown,
        "regime_filter": not args.no_regime_filter,
        "device": args.device,
        "periods_per_year": ppy,
    }


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="backtest.py", description=__doc__.split("\n\n")[0])
    add_data_args(p)
    p.add_argument(
        "--model",
        metavar="DIR",
        help="artifact directory from train.py (default: train a small model on the "
        "first --train-fraction of the data, cached, and backtest the rest)",
    )
    p.add_argument(
        "--train-fraction",
        type=float,
        default=0.6,
        help="share of the data the default model trains on (default: %(default)s)",
    )
    b = p.add_argument_group("broker")
    b.add_argument(
        "--cash", type=float, default=100_000.0, help="starting cash (default: %(default)s)"
    )
    b.add_argument(
        "--commission",
        type=float,
        default=0.001,
        help="commission as a fraction of traded value (default: %(default)s)",
    )
    b.add_argument(
        "--slippage",
        type=float,
        default=0.0005,
        help="slippage as a fraction of price (default: %(default)s)",
    )
    add_strategy_args(p)
    r = p.add_argument_group("run")
    r.add_argument(
        "--device",
        default="auto",
        choices=DEVICE_CHOICES,
        help="inference device (default: auto = CUDA when available)",
    )
    r.add_argument(
        "--no-runonce",
        action="store_true",
        help="per-bar (next mode) inference instead of batched runonce",
    )
    r.add_argument(
        "--no-preload",
        action="store_true",
        help="feed bars one at a time as a live feed would (implies --no-runonce)",
    )
    r.add_argument(
        "--out",
        metavar="DIR",
        help="report directory, must not exist (default: a new folder under reports/output/)",
    )
    r.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def choose_model(args: argparse.Namespace, df: pd.DataFrame) -> tuple[Artifact, pd.Timestamp]:
    """The artifact and the first bar to trade."""
    if args.model:
        artifact = load_artifact(args.model)
        start = pd.Timestamp(args.start) if args.start else df.index[0]
        return artifact, start
    artifact, oos_start, cached = default_model(
        df, args.train_fraction, args.device, not args.quiet
    )
    print(
        f"default model: {'cached' if cached else 'trained'} on bars before "
        f"{oos_start.date()} ({artifact.path})"
    )
    start = max(oos_start, pd.Timestamp(args.start)) if args.start else oos_start
    return artifact, start


def validate_args(args: argparse.Namespace) -> None:
    if args.cash <= 0:
        raise DataError("--cash must be positive")
    for name in ("commission", "slippage"):
        if not 0 <= getattr(args, name) < 0.1:
            raise DataError(f"--{name} must be a fraction in [0, 0.1)")


def main() -> int:
    args = build_parser().parse_args()
    configure_logging()
    validate_args(args)
    out = check_out_dir(args.out)
    # Keep the bars before --start: they warm features and model up without being traded.
    trade_from, args.start = args.start, None
    df = load_frames(args)[0]
    args.start = trade_from
    if trade_from:
        select_range(df, trade_from, None)  # fails clearly when nothing is left to trade
    artifact, start = choose_model(args, df)
    needed = warmup_bars(artifact.feature_spec) + artifact.seq_len + 1
    df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
    ppy = periods_per_year(df.index)
    result: BacktestResult = run_backtest(
        df,
        artifact,
        strategy_params(args, ppy),
        BrokerConfig(args.cash, args.commission, args.slippage),
        trade_start=start,
        runonce=not (args.no_runonce or args.no_preload),
        preload=not args.no_preload,
    )
    metrics = build_metrics(result, artifact, ppy, infer_timeframe(df.index))
    if metrics["in_sample"]:
        logger.warning(
            "the backtest range overlaps the model's training range (%s .. %s): these results "
            "are IN-SAMPLE and overstate what the model can do",
            *artifact.trained_range,
        )
    title = (
        f"AttentionLSTM on {Path(str(df.attrs.get('source', 'data'))).name} "
        f"{metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    path = write_report(out, result, metrics, args.threshold, ppy, title, html=not args.no_html)
    print_summary(metrics)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
