"""The README's "Train on your own data" commands run as written from a folder outside the
repository, through the installed ``bt-lstm`` command. One substitution, stated here: ``train``
gets tiny-model flags appended (``TINY_TRAIN``) so that the test stays fast; the data, dates,
output folders and every other flag are the README's."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, subprocess_env

README = REPO_ROOT / "README.md"
BT_LSTM = Path(sys.executable).parent / "bt-lstm"
TINY_TRAIN = ["--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10",
              "--epochs", "1", "--folds", "2", "--patience", "1", "-q"]
# the panel command trains on 10 stocks: from 2006 on keeps it to seconds
PANEL_START = ["--start", "2006-01-01"]


def readme_commands() -> list[list[str]]:
    """The ``bt-lstm`` lines of the bash block under "## Train on your own data"."""
    text = README.read_text()
    section = text[text.index("## Train on your own data"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no bash block under 'Train on your own data'"
    return [shlex.split(line) for line in block.group(1).splitlines()
            if line.startswith("bt-lstm ")]


@pytest.mark.skipif(not BT_LSTM.is_file(), reason="the bt-lstm console script is not installed")
def test_the_readme_train_and_backtest_commands_run_outside_the_repository(tmp_path):
    commands = readme_commands()
    assert [c[1] for c in commands] == ["train", "backtest", "train", "backtest"]
    env = subprocess_env(XDG_DATA_HOME=str(tmp_path / "xdg-data"),
                         XDG_CACHE_HOME=str(tmp_path / "xdg-cache"))
    for command in commands:
        args = [str(BT_LSTM), *command[1:]]
        if command[1] == "train":
            args += TINY_TRAIN + (PANEL_START if "us-stocks" in " ".join(command) else [])
        else:
            args += ["--no-html", "-q"]
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{shlex.join(command)}\n{done.stderr[-3000:]}"
        assert done.stdout.splitlines()[0].startswith("writing to "), done.stdout[:500]
    for model in ("orcl-model", "us10-model"):
        meta = json.loads((tmp_path / model / "meta.json").read_text())
        assert meta["objective"] == "sharpe"
    assert json.loads((tmp_path / "us10-model" / "meta.json").read_text())["close_only"]
