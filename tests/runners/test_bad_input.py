"""Bad input to every runner (train.py, backtest.py, audit.py): exit code 2, one line on stderr
naming the problem, no traceback, nothing written; a pickle posing as weights never runs; a few
NaN cells are repaired with a warning.

The matrix runs through ``tests.trust.runner_pool`` (one warmed-up interpreter forks a real
child process per case: ~50 cases in seconds instead of minutes of interpreter start-up);
``test_pickled_weights_never_run_in_a_fresh_process`` repeats the most important case in plain
``sys.executable`` subprocesses, so the harness itself is checked against the real thing.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from bt_attention_lstm.models.artifact import CONTENT_HASH_KEY, meta_digest
from bt_attention_lstm.models.data.synthetic import synthetic_market
from tests.conftest import REPO_ROOT, subprocess_env
from tests.trust.runner_pool import Invocation, Outcome, run_many

SCRIPTS = ("train", "backtest", "audit")
MODEL_SCRIPTS = ("backtest", "audit")
TINY_TRAIN = ["--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10",
              "--epochs", "1", "--folds", "2", "--patience", "1", "--device", "cpu", "--quiet"]
LOG_RECORD = re.compile(r"^(DEBUG|INFO) \S+: ")
COLUMNS = "datetime,open,high,low,close,volume"


class MarkerPickle:
    """Unpickling this creates ``path``: proof that pickled code ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w"))


# -- input files -------------------------------------------------------------------------------


def csv_text(n: int = 800, seed: int = 3) -> list[str]:  # > the ta-v2 warm-up + CV
    df = synthetic_market(n, seed)
    return [f"{t.date()},{o!r},{h!r},{lo!r},{c!r},{v!r}" for t, (o, h, lo, c, v) in
            zip(df.index, df.to_numpy().tolist(), strict=True)]


def write_lines(path: Path, rows: list[str], header: str = COLUMNS) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def set_field(row: str, column: int, value: str) -> str:
    fields = row.split(",")
    fields[column] = value
    return ",".join(fields)


def make_data_files(root: Path) -> dict[str, Path]:
    rows = csv_text()
    files = {
        "good": write_lines(root / "good.csv", rows),
        "empty": root / "empty.csv",
        "header_only": write_lines(root / "header_only.csv", []),
        "missing_column": write_lines(
            root / "missing_column.csv", [",".join(r.split(",")[:4] + r.split(",")[5:])
                                          for r in rows],
            header="datetime,open,high,low,volume"),
        "non_numeric": write_lines(
            root / "non_numeric.csv", [*rows[:200], set_field(rows[200], 4, "12.5x"), *rows[201:]]),
        "negative_price": write_lines(
            root / "negative_price.csv",
            [*rows[:150], set_field(set_field(rows[150], 3, "-5.0"), 4, "-4.0"), *rows[151:]]),
        "zero_price": write_lines(
            root / "zero_price.csv",
            [*rows[:150], set_field(set_field(rows[150], 3, "0"), 4, "0"), *rows[151:]]),
        "duplicate_timestamps": write_lines(
            root / "duplicate_timestamps.csv", [*rows[:100], rows[99], *rows[100:]]),
        "too_few_bars": write_lines(root / "too_few_bars.csv", rows[:30]),
        "binary_garbage": root / "binary_garbage.bin",
        "nan_cells": write_lines(
            root / "nan_cells.csv",
            [*rows[:120], set_field(rows[120], 4, "nan"), *rows[121:260],
             set_field(rows[260], 2, ""), *rows[261:]]),
    }
    files["empty"].write_bytes(b"")
    files["binary_garbage"].write_bytes(np.random.default_rng(0).bytes(4096) + b"\x00\x01")
    return files


def signed(meta: dict) -> dict:
    """meta with its content hash recomputed: the case reaches the check behind the hash."""
    return {**meta, CONTENT_HASH_KEY: meta_digest(meta)}


def make_models(root: Path, tiny: Path, marker: Path) -> dict[str, Path]:
    """Broken copies of the tiny artifact, one per way a model directory can be bad."""
    models = {}

    def copy(name: str) -> Path:
        dst = root / name
        shutil.copytree(tiny, dst)
        models[name] = dst
        return dst

    weights = copy("tampered") / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))

    weights = copy("truncated") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])

    payload = pickle.dumps(MarkerPickle(marker))
    (copy("pickle") / "model.safetensors").write_bytes(payload)

    # The same pickle with meta.json's sha256 updated to match: the hash check passes, so only
    # the safetensors parser stands between the file and the pickle's code.
    matching = copy("pickle_matching_hash")
    (matching / "model.safetensors").write_bytes(payload)
    meta = json.loads((matching / "meta.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    (matching / "meta.json").write_text(json.dumps(signed(meta)))
    # ... and as a torch checkpoint (torch.save pickles): still refused, still never run
    torch_pickle = copy("torch_checkpoint")
    buf = torch_pickle / "model.safetensors"
    torch.save({"weights": MarkerPickle(marker)}, buf)
    meta = json.loads((torch_pickle / "meta.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(buf.read_bytes()).hexdigest()
    (torch_pickle / "meta.json").write_text(json.dumps(signed(meta)))

    unknown = copy("unknown_feature_spec")
    meta = json.loads((unknown / "meta.json").read_text())
    meta["feature_spec"]["feature_set"] = "ta-v9"
    (unknown / "meta.json").write_text(json.dumps(signed(meta)))

    models["missing_model"] = root / "no-such-model"
    return models


# -- the case matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    script: str
    name: str
    data: str  # key into the data files, or "missing_path"
    model: str = "tiny"  # key into the models (backtest, audit)
    extra: tuple[str, ...] = ()
    expect: str = ""  # a word the error line must contain (lower case)
    code: int = 2


DATA_CASES = {
    "empty": "empty",
    "header_only": "no data rows",
    "missing_column": "missing column",
    "non_numeric": "non-numeric",
    "negative_price": "non-positive price",
    "zero_price": "non-positive price",
    "duplicate_timestamps": "duplicate timestamp",
    "too_few_bars": "at least",
    "binary_garbage": "not a text csv",
    "missing_path": "not found",
}
MODEL_CASES = {
    "tampered": "sha256",
    "truncated": "sha256",
    "pickle": "sha256",
    "pickle_matching_hash": "safetensors",
    "torch_checkpoint": "safetensors",
    "unknown_feature_spec": "feature set",
    "missing_model": "not found",
}


def all_cases() -> list[Case]:
    cases = [Case(s, n, n, expect=w) for s in SCRIPTS for n, w in DATA_CASES.items()]
    cases += [Case(s, "range_without_bars", "good", extra=("--start", "2030-01-01"),
                   expect="no bars") for s in SCRIPTS]
    cases += [Case(s, "unknown_device", "good", extra=("--device", "tpu"), expect="--device")
              for s in SCRIPTS]
    if not torch.cuda.is_available():
        cases += [Case(s, "cuda_without_gpu", "good", extra=("--device", "cuda"), expect="cuda")
                  for s in SCRIPTS]
    cases += [Case(s, m, "good", model=m, expect=w) for s in MODEL_SCRIPTS
              for m, w in MODEL_CASES.items()]
    cases += [
        Case("backtest", "out_not_empty", "good", expect="not empty"),
        Case("audit", "json_is_a_directory", "good", expect="directory"),
        Case("audit", "negative_surrogates", "good", extra=("--surrogates", "-1"),
             expect="surrogates"),
    ]
    cases += [Case(s, "nan_cells", "nan_cells", code=0, expect="repaired") for s in SCRIPTS]
    return cases


CASES = all_cases()


def case_id(case: Case) -> str:
    return f"{case.script}-{case.name}"


@dataclass(frozen=True)
class Ran:
    outcome: Outcome
    workdir: Path  # holds only the output path the runner was given
    out: Path
    cache: Path


def invocation(case: Case, files: dict[str, Path], models: dict[str, Path], tiny: Path,
               workdir: Path, cache: Path) -> tuple[Invocation, Path]:
    data = str(workdir / "no-such-file.csv") if case.data == "missing_path" else str(
        files[case.data])
    model = str(tiny if case.model == "tiny" else models[case.model])
    if case.script == "train":
        out = workdir / "artifact"
        args = ["--data", data, *TINY_TRAIN, "--out", str(out)]
    elif case.script == "backtest":
        out = workdir / "report"
        if case.name == "out_not_empty":
            out.mkdir()
            (out / "keep.txt").write_text("user file\n")
        args = ["--data", data, "--model", model, "--no-html", "--quiet", "--out", str(out)]
    else:
        out = workdir / "audit.json"
        if case.name == "json_is_a_directory":
            out.mkdir()
        args = ["--data", data, "--model", model, "--surrogates", "2", "--quiet",
                "--json", str(out)]
    env = {"XDG_CACHE_HOME": str(cache)}
    return Invocation(f"runners/{case.script}.py", [*args, *case.extra], env, 180.0), out


@pytest.fixture(scope="module")
def marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("marker") / "pickle-code-ran"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_artifact, marker) -> dict[str, Ran]:
    root = tmp_path_factory.mktemp("bad_input")
    files = make_data_files(root)
    models = make_models(root / "models", tiny_artifact, marker)
    invocations, meta = [], []
    for case in CASES:
        workdir = root / "work" / case_id(case)
        workdir.mkdir(parents=True)
        cache = root / "cache" / case_id(case)
        inv, out = invocation(case, files, models, tiny_artifact, workdir, cache)
        invocations.append(inv)
        meta.append((workdir, out, cache))
    outcomes = run_many(invocations, subprocess_env())
    return {case_id(c): Ran(o, *m) for c, o, m in zip(CASES, outcomes, meta, strict=True)}


def message_lines(stderr: str) -> list[str]:
    """stderr lines that are not INFO/DEBUG log records (see the xfail test below)."""
    return [line for line in stderr.strip().splitlines() if not LOG_RECORD.match(line)]


BAD = [c for c in CASES if c.code == 2]


@pytest.mark.parametrize("case", BAD, ids=case_id)
def test_bad_input_exits_2_with_one_line_naming_the_problem(runs, case):
    ran = runs[case_id(case)]
    stderr = ran.outcome.stderr
    assert ran.outcome.code == 2, stderr
    assert "Traceback" not in stderr
    lines = message_lines(stderr)
    assert len(lines) == 1, stderr
    assert case.expect in lines[0].lower(), lines[0]


@pytest.mark.parametrize("case", BAD, ids=case_id)
def test_bad_input_writes_nothing(runs, case):
    ran = runs[case_id(case)]
    left = sorted(p.name for p in ran.workdir.iterdir())
    if case.name == "out_not_empty":
        assert left == ["report"]
        assert sorted(p.name for p in ran.out.iterdir()) == ["keep.txt"]
    elif case.name == "json_is_a_directory":
        assert left == ["audit.json"] and not any(ran.out.iterdir())
    else:
        assert left == [], f"{case_id(case)} left {left}"
    assert not ran.cache.exists() or not any(ran.cache.rglob("*"))


def test_pickled_weights_never_ran(runs, marker):
    assert all(r.outcome.code == 2 for k, r in runs.items() if "pickle" in k or "torch" in k)
    assert not marker.exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_few_nan_cells_are_repaired_with_a_warning(runs, script):
    ran = runs[f"{script}-nan_cells"]
    assert ran.outcome.code == 0, ran.outcome.stderr
    assert "Traceback" not in ran.outcome.stderr
    warnings = [line for line in ran.outcome.stderr.splitlines() if "repaired" in line]
    assert len(warnings) == 1 and "2 nan/inf cells" in warnings[0].lower(), ran.outcome.stderr
    assert ran.out.exists()
    assert not [p for p in ran.workdir.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.parametrize("script", ["train", "backtest", "audit"])
def test_no_log_record_precedes_the_error_line(runs, script):
    stderr = runs[f"{script}-range_without_bars"].outcome.stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


@pytest.fixture(scope="module")
def fresh_runs(tmp_path_factory, tiny_artifact) -> dict[str, tuple]:
    """backtest.py and audit.py given the hash-matching pickle, as plain fresh subprocesses."""
    root = tmp_path_factory.mktemp("fresh")
    files = make_data_files(root)
    marker = root / "pickle-code-ran"
    models = make_models(root / "models", tiny_artifact, marker)
    procs = {}
    for script in MODEL_SCRIPTS:
        out = root / f"{script}-out"
        args = ["--data", str(files["good"]), "--model", str(models["pickle_matching_hash"])]
        args += ["--out", str(out), "--no-html"] if script == "backtest" else ["--json", str(out)]
        procs[script] = (subprocess.Popen(
            [sys.executable, f"runners/{script}.py", *args], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=subprocess_env(XDG_CACHE_HOME=str(root / "cache")),
        ), out)
    results = {}
    for script, (proc, out) in procs.items():
        _, stderr = proc.communicate(timeout=180)
        results[script] = (proc.returncode, stderr, out, marker)
    return results


@pytest.mark.parametrize("script", MODEL_SCRIPTS)
def test_pickled_weights_never_run_in_a_fresh_process(fresh_runs, script):
    code, stderr, out, marker = fresh_runs[script]
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = message_lines(stderr)
    assert len(lines) == 1 and "safetensors" in lines[0], stderr
    assert not marker.exists()
    assert not out.exists()
