"""The measurements behind ``runners/benchmark.py``: the plugin on synthetic bars against a
bare backtrader strategy and its targets.

python runners/benchmark.py --bars 100000 --json benchmark.json

Measures, on one synthetic market (minute bars, SYNTHETIC prices) and the default-sized model
with random weights saved as a real artifact (inference cost does not depend on training):
the backtest in runonce mode against a bare SMA-crossover strategy on the same data, next mode,
the per-bar latency of one live bar end to end (streaming features, model step and the
strategy's decision; ``per_bar_includes_features``) and of the model step alone, the batched
path alone, the features, and a short training run on --train-bars bars in a child process
(its own peak RSS). Best of --repeat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.data.synthetic import synthetic_market
from bt_attention_lstm.models.datasets import sample_path
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, compute_features, warmup_bars
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.inference.predictors import BatchedPredictor, StreamingPredictor
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.runners.research.cerebro import pandas_feed
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.perf.bar_latency import bar_latency

# (direction, threshold): the figures the default model must reach on two CPU cores.
TARGETS: dict[str, tuple[str, float]] = {
    "batched_windows_per_s": (">=", 15_000.0),
    "per_bar_latency_ms_p50": ("<=", 0.5),
    "runonce_ratio": ("<=", 2.0),
    "train_peak_rss_mb": ("<=", 2048.0),
    "features_bars_per_s": (">=", 1_000_000.0),
}
BF16_TOLERANCE = 2e-2  # max |p_bf16 - p_fp32| accepted for the opt-in bf16 path
LATENCY_BARS = 2000
MIN_BARS = 1000
SEED = 0
# --model-size: "design" is train.py's default architecture (the user's card: LSTM 128 x 2,
# 4 heads, 20-bar windows); "small" is the model backtest.py and evaluate.py train when no
# --model is given (runners/research/default_model.py), one member.
MODEL_SIZES = ("design", "small")
# the shipped 10-stock close-only panel (package data: bt_attention_lstm.models.datasets)
PANEL_FILE = sample_path("us-stocks-close-1990-2022.csv")


def model_config_for(size: str) -> ModelConfig:
    """The architecture of ``size`` with the default objective's head (a position)."""
    if size == "small":
        from bt_attention_lstm.runners.research.default_model import (
            default_model_config,
        )

        return default_model_config(DEFAULT_SPEC)
    return ModelConfig(n_features=DEFAULT_SPEC.n_features, head="position")


def check_args(args: argparse.Namespace) -> None:
    for name, low in (("bars", MIN_BARS), ("train_bars", MIN_BARS), ("train_steps", 1),
                      ("next_bars", MIN_BARS // 2), ("repeat", 1)):
        if getattr(args, name) < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least {low}")
    if args.ensemble is not None and args.ensemble < 1:
        raise ConfigError("--ensemble must be at least 1")
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            raise ConfigError(f"--json: directory {parent} does not exist")


def market(n_bars: int, seed: int = SEED) -> pd.DataFrame:
    # Minute bars: a million business days would run past pandas' last representable date.
    return synthetic_market(n_bars, seed=seed, start="2020-01-01", freq="min")


def best_time(fn: Callable[[], object], repeat: int) -> float:
    return best_times(fn, repeat)[0]


def best_times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock seconds and best CPU seconds of this process (all its threads) over
    ``repeat`` runs. CPU time hardly moves when other processes share the cores."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


# -- the model under test ------------------------------------------------------------------------
def ensemble_for(size: str, ensemble: int | None) -> int:
    """--ensemble, or its default: one member for design, the default model's for small."""
    if ensemble is not None:
        return ensemble
    if size == "small":
        from bt_attention_lstm.runners.research.default_model import (
            DEFAULT_TRAIN_CONFIG,
        )

        return DEFAULT_TRAIN_CONFIG.ensemble
    return 1


def default_artifact(
    df: pd.DataFrame, out: Path, model_config: ModelConfig, members: int = 1
) -> Artifact:
    """The architecture with random weights (``members`` of them: an ensemble when several),
    saved and loaded as a real artifact."""
    features = compute_features(df).to_numpy()
    models = []
    for m in range(members):
        torch.manual_seed(SEED + m)
        models.append(AttentionLSTM(model_config).eval())
    scaler = FeatureScaler.fit(features[np.isfinite(features).all(axis=1)])
    save_artifact(out, models, scaler, DEFAULT_SPEC, horizon=5, extra_meta={"benchmark": True})
    return load_artifact(out)


def flops_per_window(cfg: ModelConfig, fused: bool) -> float:
    """Multiply-add FLOPs (x2) of one window: AttentionLSTM as written, or its fused twin."""
    L, F, H, nh = cfg.seq_len, cfg.n_features, cfg.hidden, cfg.heads
    upper_layers = (cfg.layers - 1) * L * 2 * H * 4 * H * 2
    ffn_head = 2 * H * 2 * H * 2 + H * cfg.n_classes * 2
    if fused:
        lstm = L * (F + H) * 4 * H * 2 + upper_layers
        attention = 2 * H * nh * H * 2 + 2 * nh * L * H * 2
    else:
        lstm = L * F * H * 2 + L * 2 * H * 4 * H * 2 + upper_layers
        attention = L * H * 2 * H * 2 + 2 * H * H * 2 + 2 * L * H * 2
    return float(lstm + attention + ffn_head)


# -- backtests -----------------------------------------------------------------------------------
class SmaCrossover(bt.Strategy):
    """The baseline: a bare SMA(10)/SMA(30) crossover, long only, market orders."""

    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        fast, slow = bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)

    def next(self) -> None:
        if not self.position:
            if self.cross[0] > 0:
                self.buy()
        elif self.cross[0] < 0:
            self.close()


def run_cerebro(df: pd.DataFrame, strategy: type[bt.Strategy], runonce: bool, **params: Any) -> int:
    """A Cerebro as runners.research.cerebro.run_cerebro builds it, without the result analyzers
    (the baseline has none either). Returns the number of closed trades."""
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(pandas_feed(df))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(strategy, **params)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    strat = cerebro.run()[0]
    return int(strat.analyzers.trades.get_analysis().get("total", {}).get("closed", 0))


def bench_backtests(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, repeat: int, threshold: float
) -> dict[str, float]:
    """Baseline and AttentionLSTMStrategy in runonce mode, interleaved so both see the same
    machine load; best of ``repeat`` each."""
    trades: dict[str, int] = {}

    def baseline() -> None:
        trades["baseline"] = run_cerebro(df, SmaCrossover, runonce=True)

    def ours() -> None:
        trades["runonce"] = run_cerebro(
            df,
            AttentionLSTMStrategy,
            runonce=True,
            artifact=artifact,
            device=str(device),
            threshold=threshold,
        )

    base_wall = base_cpu = ours_wall = ours_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = best_times(baseline, 1)
        base_wall, base_cpu = min(base_wall, wall), min(base_cpu, cpu)
        wall, cpu = best_times(ours, 1)
        ours_wall, ours_cpu = min(ours_wall, wall), min(ours_cpu, cpu)
    n = len(df)
    return {
        "baseline_bars_per_s": n / base_wall,
        "runonce_bars_per_s": n / ours_wall,
        "runonce_ratio": ours_wall / base_wall,
        "baseline_cpu_s": base_cpu,
        "runonce_cpu_s": ours_cpu,
        "baseline_trades": trades["baseline"],
        "runonce_trades": trades["runonce"],
    }


def bench_next_mode(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, repeat: int, threshold: float
) -> dict[str, float]:
    seconds = best_time(
        lambda: run_cerebro(
            df,
            AttentionLSTMStrategy,
            runonce=False,
            artifact=artifact,
            device=str(device),
            threshold=threshold,
        ),
        repeat,
    )
    return {"next_bars": len(df), "next_bars_per_s": len(df) / seconds}


# -- model paths alone ---------------------------------------------------------------------------
def bench_features(df: pd.DataFrame, repeat: int) -> dict[str, float]:
    return {"features_bars_per_s": len(df) / best_time(lambda: compute_features(df), repeat)}


def bench_model_step(
    features: np.ndarray, artifact: Artifact, device: torch.device, cuda_graphs: bool = False
) -> dict[str, float]:
    """p50 and p99 (ms) of the model's per-bar step alone (scale and push a precomputed feature
    row, run the window), and the p50 of its CPU time (the same step on an idle core)."""
    first = warmup_bars(artifact.feature_spec)
    rows = features[first:]
    predictor = StreamingPredictor(artifact, device, cuda_graphs=cuda_graphs)
    warm = min(len(rows) // 4, 200) + artifact.seq_len
    for row in rows[:warm]:
        predictor.push(row)
    timings, cpu_ns = [], []
    for row in rows[warm : warm + LATENCY_BARS]:  # fewer on a short market
        start, start_cpu = time.perf_counter(), time.thread_time_ns()
        predictor.push(row)
        predictor.predict()
        timings.append(time.perf_counter() - start)
        cpu_ns.append(time.thread_time_ns() - start_cpu)
    ms = np.asarray(timings) * 1e3
    cpu_ms = np.asarray(cpu_ns) / 1e6
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "cpu_p50": float(np.percentile(cpu_ms, 50)),
    }


def bench_latency(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, threshold: float
) -> dict[str, Any]:
    """The per-bar figure: what one live bar costs end to end (``workflows.bar_latency``): the
    streaming features, the model step and the strategy's decision, timed around the strategy's
    bar in a ``preload=False`` run over up to ``LATENCY_BARS`` bars after the warm-up; with the
    FeatureVector's, ModelSignal's and decision's shares (p50 each)."""
    latency = bar_latency(df, artifact, str(device), LATENCY_BARS, threshold=threshold)
    return {
        "per_bar_latency_ms_p50": latency["p50"],
        "per_bar_latency_ms_p99": latency["p99"],
        "per_bar_cpu_ms_p50": latency["cpu_p50"],
        "per_bar_includes_features": True,
        "per_bar_features_ms_p50": latency["features_p50"],
        "per_bar_signal_ms_p50": latency["signal_p50"],
        "per_bar_decision_ms_p50": latency["decision_p50"],
        "per_bar_bars": latency["bars"],
    }


def bench_batched(
    features: np.ndarray, artifact: Artifact, device: torch.device, repeat: int, dtype: torch.dtype
) -> tuple[float, float, np.ndarray]:
    """Windows per second of the batched path over every window of the history (wall clock,
    and per CPU-second of all threads), and the probabilities."""
    predictor = BatchedPredictor(artifact, device, dtype=dtype)
    first_end = warmup_bars(artifact.feature_spec) + artifact.seq_len - 1
    n_windows = features.shape[0] - first_end
    probs: list[np.ndarray] = []
    wall, cpu = best_times(
        lambda: probs.append(predictor.probabilities(features, first_end, features.shape[0])),
        repeat,
    )
    return n_windows / wall, n_windows / cpu, probs[-1]


def entry_threshold(probs: np.ndarray) -> float:
    """The strategy's entry threshold for the benchmark: the 95th percentile of the random
    model's confidence, so that it trades (and pays for orders) about as often as the
    baseline rather than never (random weights give near-uniform probabilities)."""
    confidence = probs[:, 2] - probs[:, 0]
    return float(np.clip(np.quantile(confidence, 0.95), 1e-6, 1.0))


def sgemm_gflops(workers: int, seconds: float = 0.5) -> float:
    """Achieved fp32 GFLOP/s of (256 x 256) @ (256 x 1024) products (the LSTM's shapes), one
    product stream per worker thread with one intra-op thread each, as the batched path runs."""
    a, b = torch.randn(256, 256), torch.randn(256, 1024)
    flops = 2.0 * 256 * 256 * 1024

    def stream() -> int:
        torch.set_num_threads(1)
        count, stop = 0, time.perf_counter() + seconds
        while time.perf_counter() < stop:
            torch.mm(a, b)
            count += 1
        return count

    previous = torch.get_num_threads()
    try:
        stream()  # warm-up
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            total = sum(pool.map(lambda _: stream(), range(workers)))
        return total * flops / (time.perf_counter() - start) / 1e9
    finally:
        torch.set_num_threads(previous)


def bench_bf16(
    features: np.ndarray, artifact: Artifact, device: torch.device, repeat: int, fp32: np.ndarray
) -> dict[str, Any]:
    """The opt-in bf16 batched path and its largest probability error against float32. An
    optional figure: a device or library without bf16 LSTM kernels is reported, not fatal."""
    out: dict[str, Any] = {"bf16_tolerance": BF16_TOLERANCE}
    try:
        out["batched_bf16_windows_per_s"], _, bf16 = bench_batched(
            features, artifact, device, repeat, torch.bfloat16
        )
    except RuntimeError as exc:
        out["bf16_error"] = str(exc).splitlines()[0]
        return out
    out["bf16_max_abs_diff"] = float(np.abs(bf16 - fp32).max())
    out["bf16_within_tolerance"] = out["bf16_max_abs_diff"] <= BF16_TOLERANCE
    return out


# float32 on two devices: different kernels and summation orders, the parity bound of ModelSignal
CUDA_PARITY_TOLERANCE = 1e-5


def cuda_cpu_parity(
    features: np.ndarray, artifact: Artifact, device: torch.device, on_device: np.ndarray
) -> dict[str, Any]:
    """The largest |position| difference (p_up - p_down: the position of a position head)
    between the batched path on the GPU and on the CPU, over every window of the history."""
    first = warmup_bars(artifact.feature_spec) + artifact.seq_len - 1
    cpu = BatchedPredictor(artifact, torch.device("cpu")).probabilities(
        features, first, features.shape[0]
    )
    diff = float(np.abs((on_device[:, 2] - on_device[:, 0]) - (cpu[:, 2] - cpu[:, 0])).max())
    return {"cuda_cpu_position_max_abs_diff": diff,
            "cuda_cpu_parity_ok": diff <= CUDA_PARITY_TOLERANCE}


def bench_model_paths(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, repeat: int
) -> dict[str, Any]:
    features = compute_features(df).to_numpy()
    out: dict[str, Any] = {}
    step = bench_model_step(features, artifact, device)
    out["per_bar_model_ms_p50"] = step["p50"]
    out["per_bar_model_ms_p99"] = step["p99"]
    out["batched_windows_per_s"], out["batched_windows_per_cpu_s"], fp32 = bench_batched(
        features, artifact, device, repeat, torch.float32
    )
    out["strategy_threshold"] = entry_threshold(fp32)
    out.update(bench_latency(df, artifact, device, out["strategy_threshold"]))
    out.update(bench_bf16(features, artifact, device, repeat, fp32))
    if device.type == "cuda":
        out.update(cuda_cpu_parity(features, artifact, device, fp32))
        try:
            graphs = bench_model_step(features, artifact, device, cuda_graphs=True)
        except RuntimeError as exc:  # reported, not fatal: the eager figures stand
            out["cuda_graph_error"] = str(exc).splitlines()[0]
        else:
            out["per_bar_latency_cuda_graph_ms_p50"] = graphs["p50"]
            out["per_bar_latency_cuda_graph_ms_p99"] = graphs["p99"]
    cfg, members = artifact.model_config, len(artifact.members or (artifact.model,))
    out["flops_per_window"] = members * flops_per_window(cfg, fused=False)
    out["flops_per_window_fused"] = members * flops_per_window(cfg, fused=True)
    out["batched_gflops"] = out["batched_windows_per_s"] * out["flops_per_window_fused"] / 1e9
    if device.type == "cpu":
        workers = torch.get_num_threads()
        out["sgemm_gflops_1_thread"] = sgemm_gflops(1)
        out["sgemm_gflops_all_threads"] = sgemm_gflops(workers)
        out["batched_limit_windows_per_s"] = (
            out["sgemm_gflops_all_threads"] * 1e9 / out["flops_per_window_fused"]
        )
    return out


# -- training (child process) --------------------------------------------------------------------
def train_child(bars: int, steps: int, device: str, size: str, panel: bool = False
                ) -> dict[str, float]:
    """A short training run of the Sharpe objective, prepared exactly as
    ``models.training.position.PositionTrainer`` prepares it, bounded in steps.

    The data path is the trainer's own (its sample index, the scaler fitted on the rows the
    windows cover, float32 scaled features, windows as index views, blocks of consecutive bars
    drawn by ``epoch_blocks``); only the number of optimiser steps is capped, since the figures of
    interest are throughput and peak memory. ``panel``: the shipped 10-stock close-only panel
    (models/datasets) instead of ``bars`` synthetic bars.
    """
    from bt_attention_lstm.models.config import TrainConfig
    from bt_attention_lstm.models.data import load_price_panel
    from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget
    from bt_attention_lstm.models.training.classifier import WindowSamples, adamw, seeded_model
    from bt_attention_lstm.models.training.pipeline import segment_of
    from bt_attention_lstm.models.training.position import (
        PanelTargets,
        PositionTrainer,
        SharpeLoss,
        epoch_blocks,
        sharpe_step,
    )
    from bt_attention_lstm.models.training.windows import WindowBatches

    config = TrainConfig(device=device)
    model_config = model_config_for(size)
    frames = (list(load_price_panel(PANEL_FILE).values()) if panel
              else [market(bars, seed=SEED + 1)])
    segments = [segment_of(df, config) for df in frames]
    targets = PanelTargets.of(segments)
    samples = WindowSamples(segments, model_config.seq_len)
    ends = samples.ends[targets.defined()[samples.ends]]
    scaler = FeatureScaler.fit(samples.features[samples.covered_rows(ends)])
    windows = WindowBatches(
        scaler.transform(samples.features), samples.labels, samples.ends, samples.seq_len
    )
    trainer = PositionTrainer(model_config, config, progress=False)
    model = seeded_model(trainer.model_config, config.seed, trainer.device).train()
    optimizer = adamw(model, config)
    loss_fn = SharpeLoss(VolTarget(periods_per_year=targets.periods_per_year),
                         config.cost_bps / 1e4)
    rng = np.random.default_rng(config.seed)
    per_batch = max(1, config.batch_size // config.block_len)
    warmup = 3
    seen, start, step = 0, 0.0, 0
    while step < warmup + steps:
        blocks = epoch_blocks(ends, targets.symbol, config.block_len, rng)
        for b in range(0, len(blocks), per_batch):
            if step == warmup:
                start, seen = time.perf_counter(), 0
            if step == warmup + steps:
                break
            group = blocks[b : b + per_batch]
            sharpe_step(model, optimizer, loss_fn, windows, targets, group, config.grad_clip,
                        trainer.device)
            seen += len(group) * min(len(g) for g in group)
            step += 1
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "train_data": "us-stocks-close panel (10 symbols)" if panel else "synthetic",
        "train_bars": int(sum(len(df) for df in frames)),
        "train_windows": int(ends.size),
        "train_steps": steps,
        "train_batch_size": config.batch_size,
        "train_samples_per_s": seen / elapsed if elapsed > 0 else float("nan"),
        "train_peak_rss_mb": peak_kib / 1024.0,
    }


def bench_training(bars: int, steps: int, device: torch.device, size: str, panel: bool = False
                   ) -> dict[str, float]:
    """Run ``train_child`` in a fresh interpreter so its peak RSS is the training's own."""
    cmd = [
        sys.executable, "-m", "bt_attention_lstm.runners.benchmark", "--train-child",
        "--train-bars", str(bars), "--train-steps", str(steps), "--device", device.type,
        "--model-size", size, *(["--train-panel"] if panel else []),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"training benchmark failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------------
def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(device: torch.device) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus "
        f"{platform.system()} {platform.release()}",
        "cpu": cpu_name(),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "load_average_start": list(os.getloadavg()),
    }
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
    return facts


def idle_estimates(results: dict[str, Any], n_bars: int) -> dict[str, float]:
    """What an idle machine would show, from CPU times (which other processes barely move):
    single-threaded work takes its CPU time; the batched model's CPU time is shared by the
    worker threads. CPU devices only."""
    if results["device"] != "cpu":
        return {}
    threads = results["torch_threads"]
    model_cpu = (n_bars - warmup_bars(DEFAULT_SPEC)) / results["batched_windows_per_cpu_s"]
    ours = results["runonce_cpu_s"] - model_cpu * (1.0 - 1.0 / threads)
    return {
        "idle_estimate_batched_windows_per_s": results["batched_windows_per_cpu_s"] * threads,
        "idle_estimate_runonce_ratio": ours / results["baseline_cpu_s"],
    }


def check_targets(results: dict[str, Any]) -> dict[str, bool]:
    met = {}
    for key, (direction, threshold) in TARGETS.items():
        value = results[key]
        met[key] = bool(value >= threshold if direction == ">=" else value <= threshold)
    return met


def print_table(results: dict[str, Any]) -> None:
    rows = [
        ("baseline_bars_per_s", "bare SMA crossover, runonce"),
        ("runonce_bars_per_s", "AttentionLSTMStrategy, runonce"),
        ("runonce_ratio", "runonce wall time / baseline's"),
        ("next_bars_per_s", f"AttentionLSTMStrategy, next mode ({results['next_bars']} bars)"),
        ("per_bar_latency_ms_p50", "one live bar: features + model + decision, p50 (ms)"),
        ("per_bar_latency_ms_p99", "one live bar: features + model + decision, p99 (ms)"),
        ("per_bar_cpu_ms_p50", "one live bar, CPU time p50 (ms)"),
        ("per_bar_features_ms_p50", "  of which FeatureVector (streaming), p50 (ms)"),
        ("per_bar_signal_ms_p50", "  of which ModelSignal step, p50 (ms)"),
        ("per_bar_decision_ms_p50", "  of which the strategy's decision, p50 (ms)"),
        ("per_bar_model_ms_p50", "the model step alone (precomputed rows), p50 (ms)"),
        ("per_bar_latency_cuda_graph_ms_p50", "model step with CUDA graphs, p50 (ms)"),
        ("cuda_cpu_position_max_abs_diff", "max |position on the GPU - on the CPU|, batched"),
        ("batched_windows_per_s", "batched path, float32"),
        ("batched_windows_per_cpu_s", "batched path, float32, per CPU-second"),
        ("batched_bf16_windows_per_s", "batched path, bf16 (opt-in)"),
        ("bf16_max_abs_diff", "max |p_bf16 - p_fp32|"),
        ("batched_gflops", "batched path, achieved GFLOP/s"),
        ("sgemm_gflops_all_threads", "sgemm on the same threads, GFLOP/s"),
        ("batched_limit_windows_per_s", "sgemm GFLOP/s / FLOPs per window"),
        ("idle_estimate_batched_windows_per_s", "idle-machine estimate from CPU time"),
        ("idle_estimate_runonce_ratio", "idle-machine estimate from CPU time"),
        ("features_bars_per_s", "compute_features"),
        ("train_samples_per_s", f"training ({results['train_bars']} bars)"),
        ("train_peak_rss_mb", "training peak RSS (MB)"),
        ("panel_train_samples_per_s", "training on the 10-stock panel, windows/s"),
        ("panel_train_peak_rss_mb", "training on the 10-stock panel, peak RSS (MB)"),
    ]
    print(f"{'figure':<36} {'value':>14} {'target':>12}  {'':<4} what")
    for key, label in rows:
        if key not in results:
            continue
        value = results[key]
        target, status = "", ""
        if key in TARGETS:
            direction, threshold = TARGETS[key]
            target = f"{direction} {threshold:g}"
            status = "ok" if results["targets_met"][key] else "MISS"
        shown = f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
        print(f"{key:<36} {shown:>14} {target:>12}  {status:<4} {label}")
    print(
        f"closed trades: baseline {results['baseline_trades']}, AttentionLSTMStrategy "
        f"{results['runonce_trades']} (entry threshold {results['strategy_threshold']:.4f})"
    )
    cfg = results["model_config"]
    print(
        f"model {results['model_size']}: LSTM {cfg['hidden']} x {cfg['layers']}, "
        f"{cfg['heads']} heads, {cfg['seq_len']}-bar windows, "
        f"{results.get('ensemble', 1)} member(s), random weights"
    )
    print(
        f"device {results['device']}, {results['torch_threads']} torch threads, {results['cpu']}, "
        f"torch {results['torch_version']}, load average {results['load_average_start']}"
    )


def write_json(path: str, results: dict[str, Any]) -> None:
    """Write to a temporary sibling, then rename: never a half-written file."""
    target = Path(path).resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(results, fh, indent=2, allow_nan=False)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_benchmark(args: argparse.Namespace) -> int:
    """Every measurement for parsed arguments; prints the table, writes --json."""
    check_args(args)
    device = resolve_device(args.device)
    if args.train_child:
        print(json.dumps(train_child(
            args.train_bars, args.train_steps, device.type, args.model_size, args.train_panel
        )))
        return 0
    results = machine_facts(device)
    model_config = model_config_for(args.model_size)
    members = ensemble_for(args.model_size, args.ensemble)
    results["model_size"] = args.model_size
    results["model_config"] = model_config.to_dict()
    results["ensemble"] = members
    df = market(args.bars)
    with tempfile.TemporaryDirectory(prefix="benchmark-") as tmp:
        artifact = default_artifact(df, Path(tmp) / "model", model_config, members)
        results.update(bench_features(df, args.repeat))
        results.update(bench_model_paths(df, artifact, device, args.repeat))
        threshold = results["strategy_threshold"]
        results.update(bench_backtests(df, artifact, device, args.repeat, threshold))
        next_df = df.iloc[: min(args.next_bars, args.bars)]
        results.update(
            bench_next_mode(next_df, artifact, device, min(args.repeat, 2), threshold)
        )
    results.update(bench_training(args.train_bars, args.train_steps, device, args.model_size))
    if PANEL_FILE.is_file():  # the shipped 10-stock panel
        panel = bench_training(args.train_bars, args.train_steps, device, args.model_size, True)
        results.update({f"panel_{k}": v for k, v in panel.items()})
    results.update(idle_estimates(results, len(df)))
    results["load_average_end"] = list(os.getloadavg())
    results["targets"] = {k: {"direction": d, "value": v} for k, (d, v) in TARGETS.items()}
    results["targets_met"] = check_targets(results)
    print_table(results)
    if args.json:
        write_json(args.json, results)
    return 0

