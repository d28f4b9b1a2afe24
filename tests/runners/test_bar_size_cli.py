"""Bar-size checks of the runners: a daily model refuses 5-minute or weekly data (exit 2, nothing
written) unless --allow-timeframe-mismatch; train.py refuses files of different bar sizes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA_DIR, ORCL_PATH, REPO_ROOT, subprocess_env

FIVE_MIN = DATA_DIR / "2006-min-005.txt"


def runner(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"runners/{name}.py", *args], cwd=REPO_ROOT, capture_output=True,
        text=True, env=subprocess_env(), timeout=600, check=False,
    )


def test_backtest_refuses_five_minute_bars_for_a_daily_model(
    tiny_artifact: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    done = runner("backtest", "--data", str(FIVE_MIN), "--model", str(tiny_artifact),
                  "--out", str(out), "--no-html", "--quiet")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "trained on 1d bars but the data has 5min bars" in line
    assert "--allow-timeframe-mismatch" in line
    assert not out.exists()


def test_backtest_refuses_weekly_bars_unless_allowed(tiny_artifact: Path, tmp_path: Path) -> None:
    args = ["--data", str(ORCL_PATH), "--timeframe", "1w", "--model", str(tiny_artifact),
            "--no-html"]
    refused = runner("backtest", *args, "--out", str(tmp_path / "refused"))
    assert refused.returncode == 2 and "has 1w bars" in refused.stderr
    allowed = runner("backtest", *args, "--out", str(tmp_path / "allowed"),
                     "--allow-timeframe-mismatch")
    assert allowed.returncode == 0, allowed.stderr
    assert "WARNING" in allowed.stderr and "has 1w bars" in allowed.stderr
    metrics = json.loads((tmp_path / "allowed" / "metrics.json").read_text())
    assert metrics["period"]["timeframe"] == "1w"


def test_train_refuses_files_of_different_bar_sizes(tmp_path: Path) -> None:
    out = tmp_path / "model"
    done = runner("train", "--data", str(ORCL_PATH), "--data", str(FIVE_MIN), "--out", str(out),
                  "--quiet")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "different bar sizes" in line and "1d" in line and "5min" in line
    assert not out.exists()
