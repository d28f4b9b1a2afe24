"""Training throughput and peak memory: a short run of the Sharpe objective in a child process
(``bt-lstm benchmark --train-child``), so that its peak RSS is the training's own."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from bt_attention_lstm.models.datasets import sample_path
from bt_attention_lstm.models.features.scaling import FeatureScaler
from tests.perf.model_under_test import model_config_for
from tests.perf.timing import SEED, market

# the shipped 10-stock close-only panel (package data: bt_attention_lstm.models.datasets)
PANEL_FILE = sample_path("us-stocks-close-1990-2022.csv")



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
