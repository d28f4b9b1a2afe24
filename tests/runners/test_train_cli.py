"""``python runners/train.py`` end to end: a tiny training run, and bad input -> exit 2 with one
line on stderr, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bt_attention_lstm.models.artifact import load_artifact
from tests.conftest import REPO_ROOT, subprocess_env

ORCL_ARG = "models/datasets/orcl-1995-2014.txt"
TINY = [
    "--hidden",
    "16",
    "--layers",
    "1",
    "--heads",
    "2",
    "--epochs",
    "2",
    "--folds",
    "2",
    "--seq-len",
    "10",
    "--quiet",
]
TIMEOUT = 240
PARALLEL = 2


def train_cmd(*args: str) -> list[str]:
    return [sys.executable, "runners/train.py", *args]


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        train_cmd(*args),
        cwd=REPO_ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- a tiny successful run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train_cli") / "artifact"
    proc = subprocess.run(
        train_cmd("--data", ORCL_ARG, "--end", "2000-12-31", *TINY, "--out", str(out)),
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return proc, out


RULE_ROWS = ["buy_and_hold", "tsmom", "long_only_tsmom", "macd", "sma_cross"]


def test_train_exits_zero_and_prints_the_fold_table(trained):
    proc, out = trained
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if line.split()[:1] == ["fold"])
    assert header.split()[-6:] == ["attention-lstm", *RULE_ROWS]  # the Sharpe objective's
    rows = [line for line in lines if line.split()[:1] in (["1"], ["2"])]
    assert len(rows) == 2
    mean = next(line for line in lines if line.split()[:1] == ["mean"])
    assert len(mean.split()) == 1 + 6  # the portfolio Sharpe of the model and of each rule
    assert "final model: a position head" in proc.stdout
    fitted = load_artifact(out).meta["cv"]["final_training_sharpe"]
    assert f"Sharpe on its training bars {fitted[0]:.2f}" in proc.stdout
    assert f"artifact: {out}" in proc.stdout


def test_the_printed_table_and_warning_match_meta_json(trained):
    proc, out = trained
    assert proc.returncode == 0, proc.stderr
    table = load_artifact(out).meta["cv"]["table"]
    mean_row = next(line for line in proc.stdout.splitlines() if line.split()[:1] == ["mean"])
    printed = [float(v) for v in mean_row.split()[1:]]
    expected = [round(table["mean"][m]["sharpe"], 2) for m in ("attention_lstm", *RULE_ROWS)]
    np.testing.assert_allclose(printed, expected, atol=6e-3)
    model = table["mean"]["attention_lstm"]["sharpe"]
    best_rule = max(table["mean"][m]["sharpe"] for m in RULE_ROWS)
    warned = [line for line in proc.stdout.splitlines() if line.startswith("WARNING:")]
    # a WARNING exactly when the model has no positive Sharpe or trails the best rule
    assert bool(warned) == (not (model > 0 and model > best_rule))
    if not model > 0:
        assert any("no evidence of an edge" in line for line in warned)


def test_audit_reads_the_same_verdict_from_the_artifact(trained):
    from bt_attention_lstm.models.training.cv_report import cv_check

    proc, out = trained
    assert proc.returncode == 0, proc.stderr
    check = cv_check(load_artifact(out).meta)
    printed = [line.removeprefix("WARNING: ") for line in proc.stdout.splitlines()
               if line.startswith("WARNING:")]
    assert check is not None and check["warnings"] == printed
    assert check["passed"] == (not printed)


def test_the_artifact_written_by_train_loads(trained):
    proc, out = trained
    assert proc.returncode == 0, proc.stderr
    art = load_artifact(out)
    assert art.model_config.hidden == 16
    assert art.model_config.layers == 1
    assert art.model_config.heads == 2
    assert art.seq_len == 10
    assert art.trained_range == ("1995-01-03", "2000-12-29")  # --end is inclusive
    assert len(art.meta["cv"]["folds"]) == 2
    assert sorted(p.name for p in out.parent.iterdir()) == ["artifact"]  # no temp leftovers


# -- bad input ---------------------------------------------------------------------------------

BAD = {
    "missing_file": (["--data", "models/datasets/no-such-file.txt"], "not found"),
    "cuda_without_gpu": (["--data", ORCL_ARG, "--end", "2000-12-31", "--device", "cuda"], "cuda"),
    "zero_epochs": (["--data", ORCL_ARG, "--epochs", "0"], "epochs"),
    "range_without_bars": (["--data", ORCL_ARG, "--start", "2030-01-01"], "no bars"),
    "usage_error": (["--data", ORCL_ARG, "--epochs", "many"], "epochs"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every bad-input run, two at a time (each is mostly interpreter and import start-up)."""
    root = tmp_path_factory.mktemp("train_bad")
    pending = list(BAD)
    running: dict[str, subprocess.Popen] = {}
    results = {}
    while pending or running:
        while pending and len(running) < PARALLEL:
            name = pending.pop(0)
            # the tiny sizes come first so that each case's own flag wins
            running[name] = start([*TINY, *BAD[name][0], "--out", str(root / name)])
        name = next(iter(running))
        proc = running.pop(name)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        results[name] = (proc.returncode, stdout, stderr, root / name)
    return results


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_without_traceback_or_output(bad_runs, case):
    code, stdout, stderr, out = bad_runs[case]
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert not out.exists(), "the --out directory was created"
    assert not any(p.name.startswith(f".{out.name}") for p in out.parent.iterdir())
    error_lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(error_lines) == 1, stderr
    assert BAD[case][1] in error_lines[0].lower()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_prints_exactly_one_line_on_stderr(bad_runs, case):
    code, stdout, stderr, out = bad_runs[case]
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1, stderr
