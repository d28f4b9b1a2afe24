"""Every ```python block of README.md runs as a script from a temporary folder outside the
repository, with the environment's PYTHONPATH as it is: what a user who pastes it into a script
of their own gets (issue 22, snippets that run anywhere). ``docs/dropin_example.py`` runs the
same way.

The only thing a snippet gets from the test is the trained model it names: the README's
snippets load ``orcl-model``, the folder its train command writes, relative to where
they run. The test trains a tiny model of the kind that command trains (the default objective,
a position head; on ORCL 2004-2009) and copies it to that relative path in the snippet's
working folder; the snippet's text runs unchanged. ``README_MODELS`` lists the paths provided;
a snippet naming another one fails until it is added. Blocks that cannot run here (a broker
connection) are listed in ``NOT_RUN`` with the reason, and are still compiled.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bt_attention_lstm.models.datasets import list_samples, load_sample
from tests.conftest import REPO_ROOT, subprocess_env

README = REPO_ROOT / "README.md"
DROPIN_EXAMPLE = REPO_ROOT / "docs" / "dropin_example.py"
# The model paths the README's snippets load, each provided as a copy of ``readme_model``.
README_MODELS = ("orcl-model",)
# Blocks that are not run, by a text they contain, with why.
NOT_RUN = {"bt.stores.IBStore(": "needs a running Interactive Brokers TWS or Gateway"}
MODEL_PATH = re.compile(r"""["']([\w.-]+-model|models/output/[\w.-]+)["']""")
SNIPPET_TIMEOUT_S = 180


def python_blocks(text: str) -> list[tuple[str, str]]:
    """``(id, code)`` of each ```python block, the id from the heading above it."""
    blocks: list[tuple[str, str]] = []
    heading, code, inside = "top", [], False
    for line in text.splitlines():
        if inside:
            if line.strip() == "```":
                blocks.append((f"{len(blocks) + 1}-{heading}", "\n".join(code) + "\n"))
                inside = False
            else:
                code.append(line)
        elif line.strip() == "```python":
            inside, code = True, []
        elif line.startswith("#"):
            heading = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")[:40]
    assert not inside, "README.md: a ```python block is not closed"
    return blocks


GUIDE = REPO_ROOT / "docs" / "USER_GUIDE.md"
# the README's blocks, then the user guide's (the README points there for the longer ones)
BLOCKS = python_blocks(README.read_text()) + [
    (f"guide-{block_id}", code) for block_id, code in python_blocks(GUIDE.read_text())
]


def not_run_reason(code: str) -> str | None:
    return next((why for marker, why in NOT_RUN.items() if marker in code), None)


@pytest.fixture(scope="module")
def readme_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model of the kind the README's train command writes (default objective)."""
    from bt_attention_lstm.models.config import ModelConfig, TrainConfig
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.models.training.pipeline import train_and_save

    orcl = load_sample("orcl-1995-2014.txt")
    frame = orcl.loc["2004":"2009"].copy()
    frame.attrs = dict(orcl.attrs)
    model = ModelConfig(n_features=FeatureSpec().n_features, hidden=8, layers=1, heads=1,
                        dropout=0.0, seq_len=10)
    train = TrainConfig(epochs=1, folds=2, patience=1, batch_size=128, seed=1, device="cpu")
    assert train.objective == "sharpe"  # what train.py trains without --objective
    path, _ = train_and_save([frame], model, train, tmp_path_factory.mktemp("readme") / "model",
                             progress=False)
    return Path(path)


def run_outside_the_repo(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd``; per-user data (run folders) go to ``cwd`` too, not ~."""
    assert not cwd.resolve().is_relative_to(REPO_ROOT.resolve())
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True,
        env=subprocess_env(XDG_DATA_HOME=str(cwd / "xdg-data")), timeout=SNIPPET_TIMEOUT_S,
    )


def provide_models(code: str, cwd: Path, model: Path) -> None:
    """Copy ``model`` to each model path the snippet names, relative to its working folder."""
    for name in sorted(set(MODEL_PATH.findall(code))):
        assert name in README_MODELS, (
            f"a README snippet loads {name!r}: add it to README_MODELS (or use "
            f"{README_MODELS[0]!r}, the model of the README's train command)"
        )
        shutil.copytree(model, cwd / name)


def test_the_readme_has_python_snippets_and_runs_most_of_them():
    assert BLOCKS, "README.md has no ```python block"
    skipped = [block_id for block_id, code in BLOCKS if not_run_reason(code)]
    assert len(skipped) < len(BLOCKS) / 2, skipped
    for marker in NOT_RUN:  # no stale entry: each names a block that exists
        assert any(marker in code for _, code in BLOCKS), f"NOT_RUN entry {marker!r} is unused"


@pytest.mark.parametrize(("block_id", "code"), BLOCKS, ids=[b for b, _ in BLOCKS])
def test_a_readme_python_block_runs_outside_the_repository(block_id, code, tmp_path,
                                                           readme_model):
    compile(code, f"README.md block {block_id}", "exec")
    reason = not_run_reason(code)
    if reason:
        pytest.skip(f"compiled, not run: {reason}")
    provide_models(code, tmp_path, readme_model)
    (tmp_path / "snippet.py").write_text(code)
    done = run_outside_the_repo(["snippet.py"], tmp_path)
    assert done.returncode == 0, f"README block {block_id}:\n{code}\n{done.stderr[-4000:]}"


def test_the_dropin_example_runs_outside_the_repository(tmp_path, readme_model):
    provide_models('"orcl-model"', tmp_path, readme_model)
    done = run_outside_the_repo([str(DROPIN_EXAMPLE), "orcl-model"], tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    modes = [line for line in done.stdout.splitlines() if "final value" in line]
    assert len(modes) == 3, done.stdout
    assert len({line.split("}", 1)[1] for line in modes}) == 1, modes  # same result in each mode


def test_the_sample_data_paths_in_readme_and_docs_exist():
    """Commands in a clone name the shipped files as models/datasets/<file>: each exists, and
    nothing points at the old tests/data folder."""
    texts = [README, *sorted((REPO_ROOT / "docs").glob("*.md")),
             *sorted((REPO_ROOT / "docs").glob("*.py")),
             *sorted((REPO_ROOT / "runners").glob("*.py"))]
    shipped = set(list_samples())
    for path in texts:
        text = path.read_text()
        assert "tests/data" not in text, path
        for name in re.findall(r"models/datasets/([\w.-]+)", text):
            assert name in shipped or (REPO_ROOT / "models" / "datasets" / name).is_file(), (
                f"{path.relative_to(REPO_ROOT)} names models/datasets/{name}, which is not shipped"
            )
