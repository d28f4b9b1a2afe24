"""Fixtures shared by the whole test suite.

Constants (importable as ``from tests.conftest import ...``):

- ``REPO_ROOT``: the project root (``/work/main``-like), resolved from this file.
- ``DATA_DIR``: the sample data shipped in the package, ``models/datasets/`` in a checkout
  (``bt_attention_lstm.models.datasets.sample_dir()``; backtrader's sample data and two
  close-only files, see its README.md).
- ``ORCL_PATH``: the ORCL daily Yahoo CSV in ``DATA_DIR`` (1995-01-03 .. 2014-12-31, 5036 bars).
- ``TINY_MODEL``, ``TINY_TRAIN``: the tiny ``ModelConfig`` / ``TrainConfig`` of ``tiny_artifact``.
- ``load_market_file(path, fmt="auto")``: ``models.data.load_ohlcv`` (ORCL fallback parser).
- ``subprocess_env(**extra)``: an environment for running ``runners/*.py`` as a subprocess.

Fixtures:

- ``DATA_DIR`` / ``data_dir`` (session): the ``DATA_DIR`` path.
- ``orcl_df`` (session): ORCL daily as an OHLCV frame, adjusted exactly as backtrader's
  ``YahooFinanceCSVData`` does by default (``models.data.load_ohlcv``; a minimal parser that
  reproduces backtrader's adjustment is the fallback while that module is missing).
  Treat it as read-only: ``.copy()`` before changing it.
- ``tiny_training`` (session): a ``TinyTraining`` (path, result, frame, model_config,
  train_config): a tiny AttentionLSTM trained with
  ``models.training.pipeline.train_and_save``
  on ORCL 1995-2001 (hidden 16, 1 layer, 2 heads, seq_len 10, 2 epochs, 2 folds, seed 1).
- ``tiny_artifact`` (session): ``tiny_training``'s network saved with identity calibration (raw
  outputs that react to the input; the trained artifact's calibration is the constant class
  prior). The artifact train.py wrote is ``tiny_training.path``. Read-only: a test
  that changes files must work on ``tiny_artifact_copy``.
- ``tiny_artifact_copy`` (function): a private copy of ``tiny_artifact`` under ``tmp_path``.

Also: matplotlib is switched to the Agg backend (headless) and its font-manager logger is
quieted, after importing backtrader (whose plot module would otherwise pick TkAgg); torch runs
with one intra-op thread (``TEST_TORCH_THREADS``): the suite's models are tiny, and on a shared
machine a second spinning OpenMP thread made training ~25x slower. Subprocesses get the same
through ``OMP_NUM_THREADS`` (see ``subprocess_env``).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader  # noqa: F401  (imported before switching the matplotlib backend)
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg", force=True)
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
TEST_TORCH_THREADS = 1
torch.set_num_threads(TEST_TORCH_THREADS)

from bt_attention_lstm.models.datasets import sample_dir  # noqa: E402
from bt_attention_lstm.models.features.spec import FeatureSpec  # noqa: E402
from bt_attention_lstm.models.nn.network import ModelConfig  # noqa: E402
from bt_attention_lstm.models.training.classifier import TrainConfig  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = sample_dir()
ORCL_PATH = DATA_DIR / "orcl-1995-2014.txt"

TINY_MODEL = ModelConfig(
    n_features=FeatureSpec().n_features, hidden=16, layers=1, heads=2, dropout=0.0, seq_len=10
)
TINY_TRAIN = TrainConfig(
    objective="classify", epochs=2, folds=2, patience=1, batch_size=128, seed=1
)
TINY_RANGE = ("1995-01-01", "2001-12-31")


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running a runner script (the package is installed): one torch thread."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(TEST_TORCH_THREADS)
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


@dataclass(frozen=True)
class TinyTraining:
    """What the ``tiny_training`` fixture produced."""

    path: Path  # the artifact directory (model.safetensors + meta.json)
    result: Any  # models.training.classifier.TrainingResult
    frame: pd.DataFrame  # the ORCL 1995-2001 bars it was trained on
    model_config: ModelConfig
    train_config: TrainConfig


def _parse_yahoo_like_backtrader(path: Path) -> pd.DataFrame:
    """Fallback ORCL reader: backtrader's YahooFinanceCSVData defaults (adjclose, round 2)."""
    rows = []
    for line in path.read_text().splitlines()[1:]:
        toks = line.split(",")
        if not line.strip() or "null" in toks[1:]:
            continue
        o, h, lo, c, adj, v = (float(t) for t in toks[1:7])
        f = c / adj
        rows.append(
            (
                pd.Timestamp(toks[0][:10]),
                round(o / f, 2),
                round(h / f, 2),
                round(lo / f, 2),
                round(adj, 2),
                round(v * f, 0),
            )
        )
    df = pd.DataFrame(rows, columns=["datetime", "open", "high", "low", "close", "volume"])
    df = df.set_index("datetime").astype(np.float64)
    df.index = pd.DatetimeIndex(df.index).as_unit("ns")
    df.attrs["source"] = str(path)
    assert all(math.isfinite(x) for x in df.to_numpy().ravel())
    return df


def load_market_file(path: Path, fmt: str = "auto") -> pd.DataFrame:
    """``models.data.load_ohlcv`` when available, else the ORCL fallback parser."""
    try:
        from bt_attention_lstm.models.data import load_ohlcv
    except ImportError:  # the data module is written in parallel; keep the suite usable
        if fmt not in ("auto", "yahoo"):
            pytest.skip("models.data.load_ohlcv is not available yet")
        return _parse_yahoo_like_backtrader(path)
    return load_ohlcv(path, fmt)


@pytest.fixture(scope="session", name="DATA_DIR")
def _data_dir_fixture() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def orcl_df() -> pd.DataFrame:
    return load_market_file(ORCL_PATH)


@pytest.fixture(scope="session")
def tiny_training(orcl_df: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> TinyTraining:
    from bt_attention_lstm.models.training.pipeline import train_and_save

    mask = (orcl_df.index >= pd.Timestamp(TINY_RANGE[0])) & (
        orcl_df.index <= pd.Timestamp(TINY_RANGE[1])
    )
    frame = orcl_df.loc[mask].copy()
    frame.attrs = dict(orcl_df.attrs)
    out = tmp_path_factory.mktemp("tiny_artifact") / "model"
    path, result = train_and_save([frame], TINY_MODEL, TINY_TRAIN, out, progress=False)
    return TinyTraining(Path(path), result, frame, TINY_MODEL, TINY_TRAIN)


# meta.json fields that save_artifact writes itself (the rest is passed through as extra meta)
_ARTIFACT_OWN_FIELDS = {
    "format_version", "model", "feature_spec", "scaler", "seq_len", "horizon", "classes",
    "ensemble_size", "calibration", "weights_sha256", "content_sha256",
}


@pytest.fixture(scope="session")
def tiny_artifact(tiny_training: TinyTraining, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny network with its raw outputs (identity calibration). Trained for two epochs,
    its calibration falls back to the class prior, a constant signal that would make every
    causality, parity and trading check on it vacuous; these checks need a network that reacts
    to its input, and the raw one is exactly what train.py wrote before calibration existed."""
    from bt_attention_lstm.models.artifact import load_artifact, save_artifact

    trained = load_artifact(tiny_training.path)
    extra = {k: v for k, v in trained.meta.items() if k not in _ARTIFACT_OWN_FIELDS}
    out = tmp_path_factory.mktemp("tiny_raw_artifact") / "model"
    save_artifact(out, tiny_training.result.members, trained.scaler, trained.feature_spec,
                  trained.horizon, extra)
    return out


@pytest.fixture
def tiny_artifact_copy(tiny_artifact: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "model_copy"
    shutil.copytree(tiny_artifact, dst)
    return dst
