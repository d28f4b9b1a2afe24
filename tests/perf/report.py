"""The benchmark's figures against their targets: machine facts, idle-machine estimates, the
printed table and the JSON file."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import torch

from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, warmup_bars

# (direction, threshold): the figures to reach on two CPU cores (docs/PERFORMANCE.md).
TARGETS: dict[str, tuple[str, float]] = {
    "batched_windows_per_s": (">=", 15_000.0),
    "runonce_ratio": ("<=", 1.25),
    "train_peak_rss_mb": ("<=", 2048.0),
    "features_bars_per_s": (">=", 1_000_000.0),
}
# a live bar end to end (per_bar_latency_ms_p50), by --model-size
PER_BAR_TARGET_MS = {"design": 0.5, "small": 0.25}


def targets_for(model_size: str) -> dict[str, tuple[str, float]]:
    """``TARGETS`` and the per-bar bound of ``model_size``."""
    return {**TARGETS, "per_bar_latency_ms_p50": ("<=", PER_BAR_TARGET_MS[model_size])}



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
    for key, (direction, threshold) in targets_for(results["model_size"]).items():
        value = results[key]
        met[key] = bool(value >= threshold if direction == ">=" else value <= threshold)
    return met


def table_lines(results: dict[str, Any]) -> list[str]:
    """Every figure measured, its target and whether it was met, then the run's facts."""
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
    lines = [f"{'figure':<36} {'value':>14} {'target':>12}  {'':<4} what"]
    targets = targets_for(results["model_size"])
    for key, label in rows:
        if key not in results:
            continue
        value = results[key]
        target, status = "", ""
        if key in targets:
            direction, threshold = targets[key]
            target = f"{direction} {threshold:g}"
            status = "ok" if results["targets_met"][key] else "MISS"
        shown = f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
        lines.append(f"{key:<36} {shown:>14} {target:>12}  {status:<4} {label}")
    lines.append(
        f"closed trades: baseline {results['baseline_trades']}, AttentionLSTMStrategy "
        f"{results['runonce_trades']} (entry threshold {results['strategy_threshold']:.4f})"
    )
    cfg = results["model_config"]
    lines.append(
        f"model {results['model_size']}: LSTM {cfg['hidden']} x {cfg['layers']}, "
        f"{cfg['heads']} heads, {cfg['seq_len']}-bar windows, "
        f"{results.get('ensemble', 1)} member(s), random weights"
    )
    lines.append(
        f"device {results['device']}, {results['torch_threads']} torch threads, {results['cpu']}, "
        f"torch {results['torch_version']}, load average {results['load_average_start']}"
    )
    return lines


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
