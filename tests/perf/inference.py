"""The model's paths alone: features, the per-bar streaming step, the batched path (float32,
the opt-in bf16, CUDA against the CPU), the FLOPs they reach and the sgemm ceiling."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.features.compute import compute_features, warmup_bars
from bt_attention_lstm.models.inference.predictors import BatchedPredictor, StreamingPredictor
from tests.perf.bar_latency import LATENCY_BARS, bench_latency
from tests.perf.model_under_test import flops_per_window
from tests.perf.timing import best_time, best_times

BF16_TOLERANCE = 2e-2  # max |p_bf16 - p_fp32| accepted for the opt-in bf16 path

# float32 on two devices: different kernels and summation orders, the parity bound of ModelSignal
CUDA_PARITY_TOLERANCE = 1e-5



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


def benchmark_threshold(probs: np.ndarray) -> float:
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
    out["strategy_threshold"] = benchmark_threshold(fp32)
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
