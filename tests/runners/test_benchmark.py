"""runners/benchmark.py: runs end to end on a small market and writes every figure; bad input
is one line and exit 2 with nothing written. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO_ROOT, subprocess_env

SCRIPT = REPO_ROOT / "runners" / "benchmark.py"
SMALL = ["--bars", "2000", "--train-bars", "5000", "--train-steps", "3", "--repeat", "1",
         "--next-bars", "600"]
REQUIRED_KEYS = {
    "baseline_bars_per_s", "runonce_bars_per_s", "runonce_ratio", "next_bars_per_s",
    "per_bar_latency_ms_p50", "per_bar_latency_ms_p99", "batched_windows_per_s",
    "features_bars_per_s", "train_samples_per_s", "train_peak_rss_mb", "device",
    "torch_threads", "cpu", "torch_version", "date", "machine",
}
POSITIVE = REQUIRED_KEYS - {"device", "torch_threads", "cpu", "torch_version", "date", "machine"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True, text=True, env=subprocess_env(), cwd=REPO_ROOT, timeout=600,
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = run(*SMALL, "--device", "cpu", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(out.read_text())


def test_writes_every_figure_as_finite_positive_numbers(small_run):
    _, figures = small_run
    assert REQUIRED_KEYS <= figures.keys()
    for key in POSITIVE:
        assert isinstance(figures[key], int | float) and math.isfinite(figures[key]), key
        assert figures[key] > 0, key
    assert figures["device"] == "cpu"
    assert figures["torch_threads"] == 1  # the test environment pins one thread
    assert figures["per_bar_latency_ms_p99"] >= figures["per_bar_latency_ms_p50"]
    assert figures["train_bars"] == 5000 and figures["next_bars"] == 600


def test_ratio_is_the_two_backtests_rates_divided(small_run):
    _, f = small_run
    assert f["runonce_ratio"] == pytest.approx(f["baseline_bars_per_s"] / f["runonce_bars_per_s"])


def test_reports_targets_and_bf16_check(small_run):
    done, f = small_run
    assert set(f["targets_met"]) == {
        "batched_windows_per_s", "per_bar_latency_ms_p50", "runonce_ratio",
        "train_peak_rss_mb", "features_bars_per_s",
    }
    assert f["bf16_within_tolerance"] is (f["bf16_max_abs_diff"] <= f["bf16_tolerance"])
    assert f["flops_per_window_fused"] < f["flops_per_window"]
    for key in ("batched_windows_per_s", "runonce_ratio", "train_peak_rss_mb"):
        assert key in done.stdout  # the printed table


def test_the_design_architecture_is_measured_by_default(small_run):
    _, figures = small_run
    assert figures["model_size"] == "design"
    assert (figures["model_config"]["hidden"], figures["model_config"]["layers"]) == (128, 2)


def test_small_measures_the_model_backtest_trains_by_default(tmp_path):
    from bt_attention_lstm.runners.research.default_model import default_model_config

    out = tmp_path / "small.json"
    done = run(*SMALL, "--device", "cpu", "--model-size", "small", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["model_config"] == default_model_config().to_dict()
    assert "model small: LSTM 16 x 1" in done.stdout
    assert figures["batched_windows_per_s"] > 0 and figures["train_samples_per_s"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "bench.json"
    done = run(*SMALL, "--device", "cuda", "--json", str(out))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "CUDA" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--bars", "10"],
        ["--repeat", "0"],
        ["--ensemble", "0"],
        ["--json", "/nonexistent-dir/x.json"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args):
    done = run(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_outside_a_source_checkout_the_benchmark_is_one_clear_error(tmp_path):
    from bt_attention_lstm.models.errors import ConfigError
    from bt_attention_lstm.runners.cli.perf_args import checkout_harness, checkout_root

    installed = tmp_path / "site-packages" / "bt_attention_lstm" / "runners" / "benchmark.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("")
    assert checkout_root(installed) is None
    with pytest.raises(ConfigError, match="runs from a source checkout") as info:
        checkout_harness(installed)
    assert "\n" not in str(info.value)
    assert checkout_root(SCRIPT) == REPO_ROOT  # the checkout's own command finds its harness
