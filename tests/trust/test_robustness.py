"""Training and running robustly: a diverging training run is a clear error with nothing
written, an interrupted one (Ctrl-C, SIGTERM) leaves nothing half-written, and a Cerebro that
trims its buffers (exactbars != 0) is refused."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import pytest

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.research.cerebro import pandas_feed
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.conftest import REPO_ROOT, subprocess_env

ORCL_ARG = "models/datasets/orcl-1995-2014.txt"
TINY = ["--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10", "--folds", "2",
        "--device", "cpu"]
LOG_RECORD = re.compile(r"^(DEBUG|INFO) \S+: ")


def train(*args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "runners/train.py", *args], cwd=REPO_ROOT, env=subprocess_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen,
    )


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def wait_for_progress(proc: subprocess.Popen, pattern: bytes, timeout: float = 120.0) -> bytes:
    """Read stderr until ``pattern`` shows up (tqdm redraws with \\r, not newlines)."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while pattern not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"no progress before the deadline:\n{seen.decode()[-2000:]}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            seen += os.read(fd, 65536)
    return seen


def _default_sigint() -> None:
    # A child of a non-interactive shell starts with SIGINT ignored, and Python then keeps it
    # ignored; restore the default so the child behaves as under a terminal's Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass(frozen=True)
class Finished:
    code: int
    stderr: str
    folder: Path  # the parent of --out: must be left empty


@pytest.fixture(scope="module")
def train_runs(tmp_path_factory) -> dict[str, Finished]:
    """A diverging run and two interrupted ones, side by side (each is mostly start-up)."""
    root = tmp_path_factory.mktemp("robust")
    folders = {name: root / name for name in ("diverge", "SIGINT", "SIGTERM")}
    for folder in folders.values():
        folder.mkdir()
    procs = {
        "diverge": train("--data", ORCL_ARG, "--end", "1999-12-31", *TINY, "--epochs", "2",
                         "--lr", "1e30", "--quiet", "--out", str(folders["diverge"] / "model")),
    }
    for name in ("SIGINT", "SIGTERM"):
        procs[name] = train("--data", ORCL_ARG, *TINY, "--epochs", "500", "--patience", "500",
                            "--out", str(folders[name] / "model"), preexec_fn=_default_sigint)
    finished = {}
    try:
        for name in ("SIGINT", "SIGTERM"):
            seen = wait_for_progress(procs[name], b"training")
            time.sleep(1.0)  # well inside the training loop
            procs[name].send_signal(getattr(signal, name))
            _, rest = procs[name].communicate(timeout=60)
            finished[name] = Finished(procs[name].returncode,
                                      (seen + rest).decode(errors="replace"), folders[name])
        _, err = procs["diverge"].communicate(timeout=180)
        finished["diverge"] = Finished(procs["diverge"].returncode, err.decode(),
                                       folders["diverge"])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    return finished


def test_a_diverging_training_exits_2_with_one_line_and_no_artifact(train_runs):
    run = train_runs["diverge"]
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if not LOG_RECORD.match(line)]
    assert len(lines) == 1 and "diverged" in lines[0] and "--lr" in lines[0], run.stderr
    assert leftovers(run.folder) == []


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupted_training_leaves_nothing_behind(train_runs, signame):
    run = train_runs[signame]
    assert run.code == 130, run.stderr[-2000:]
    assert "interrupted: nothing was written" in run.stderr
    assert "Traceback" not in run.stderr
    assert leftovers(run.folder) == []  # no artifact, no .model.tmp-* directory


@pytest.mark.parametrize("exactbars", [1, -1, -2])
def test_exactbars_other_than_0_is_refused(orcl_2000_2003, tiny_artifact, exactbars):
    cerebro = bt.Cerebro(stdstats=False, exactbars=exactbars)
    cerebro.adddata(pandas_feed(orcl_2000_2003))
    cerebro.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact), device="cpu")
    with pytest.raises(ConfigError, match=rf"exactbars={exactbars} is not supported"):
        cerebro.run()


def test_exactbars_0_runs(orcl_2000_2003, tiny_artifact):
    """The refusal above is about exactbars, not about this Cerebro."""
    cerebro = bt.Cerebro(stdstats=False, exactbars=0)
    cerebro.adddata(pandas_feed(orcl_2000_2003))
    cerebro.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact), device="cpu")
    assert len(cerebro.run()) == 1
