"""Where the runonce ratio's extra time goes: the benchmark's runonce backtest with parts of
``AttentionLSTMStrategy`` switched off, interleaved with the bare SMA cross, in microseconds a
bar (docs/PERFORMANCE.md, "The runonce ratio, split"). A measurement aid, not a test.

    python -m tests.perf.runonce_split [--bars 20000] [--repeat 4] [--ensemble K]

The model is the benchmark's ``--model-size small`` with random weights: the default model's
members unless ``--ensemble`` says otherwise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import backtrader as bt

from bt_attention_lstm.models.inference.frame_predictions import predict_frame
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.perf.backtests import SmaCrossover, bare_cerebro
from tests.perf.inference import benchmark_threshold
from tests.perf.model_under_test import ensemble_for, model_config_for, random_artifact
from tests.perf.timing import market

# an entry threshold no bar reaches (the decision runs, no order is placed)
NO_TRADE_THRESHOLD = 0.99


class EmptyStrategy(bt.Strategy):
    def next(self) -> None:
        pass


class IndicatorsOnly(AttentionLSTMStrategy):
    """The strategy's FeatureVector and ModelSignal, advanced every bar; no ``next``."""

    def next(self) -> None:
        pass


class NoDecision(AttentionLSTMStrategy):
    """``next``'s bookkeeping, without the decision."""

    def _decide(self, data: bt.DataBase) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--ensemble", type=int, default=None, metavar="K",
                        help="members of the model (default: the default model's)")
    args = parser.parse_args()
    df = market(args.bars)  # the benchmark's bars
    members = ensemble_for("small", args.ensemble)
    artifact = random_artifact(df, Path(tempfile.mkdtemp()) / "model", model_config_for("small"),
                               members)
    # the benchmark's threshold: its random model trades about as often as the baseline
    probs = predict_frame(df, artifact, device="cpu")[["p_down", "p_flat", "p_up"]].dropna()
    trading_threshold = benchmark_threshold(probs.to_numpy())

    def ours(cls: type[bt.Strategy], threshold: float) -> Callable[[], int]:
        return lambda: bare_cerebro(df, cls, runonce=True, artifact=artifact, device="cpu",
                                    threshold=threshold)

    runs: dict[str, Callable[[], int]] = {
        "bare SMA cross": lambda: bare_cerebro(df, SmaCrossover, runonce=True),
        "empty strategy": lambda: bare_cerebro(df, EmptyStrategy, runonce=True),
        "+ FeatureVector, ModelSignal": ours(IndicatorsOnly, NO_TRADE_THRESHOLD),
        "+ next's bookkeeping": ours(NoDecision, NO_TRADE_THRESHOLD),
        "+ the decision, no trades": ours(AttentionLSTMStrategy, NO_TRADE_THRESHOLD),
        "+ trades (the benchmark's run)": ours(AttentionLSTMStrategy, trading_threshold),
    }
    best = dict.fromkeys(runs, float("inf"))
    trades = dict.fromkeys(runs, 0)
    for _ in range(args.repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            trades[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)
    base = best["bare SMA cross"]
    print(f"small model, {members} member(s), {args.bars} bars, best of {args.repeat}")
    print(f"{'run':34} {'us/bar':>7} {'ratio':>6} {'trades':>6}")
    for name, seconds in best.items():
        print(f"{name:34} {seconds / args.bars * 1e6:7.1f} {seconds / base:6.3f} {trades[name]:6d}")


if __name__ == "__main__":
    main()
