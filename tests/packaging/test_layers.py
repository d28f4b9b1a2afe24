"""The layers show in the imports: cli -> research -> (reports, strategies) -> indicators -> models.

Every import in the package is read from the source (module level and inside functions alike),
so a lazy import cannot hide a backwards edge.
"""

from __future__ import annotations

import ast
import graphlib
import runpy
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = "bt_attention_lstm"
TOP_LEVEL = ("models", "indicators", "strategies", "reports", "runners")
COMMANDS = ("backtest", "train", "evaluate", "walkforward", "sweep", "audit", "paper", "benchmark")

# A layer may import the layers below it (a lower number) and itself, never one above or beside.
LAYER_RANK = {"models": 0, "indicators": 1, "strategies": 2, "reports": 2, "research": 3,
              "cli": 4, "command": 5}
THIRD_PARTY_BANNED = {
    "models": ("backtrader", "quantstats"),
    "indicators": ("quantstats",),
    "strategies": ("quantstats",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def package_modules() -> dict[str, Path]:
    modules = {}
    for top in TOP_LEVEL:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def imported_names(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer(module: str) -> str:
    parts = module.split(".")
    top = parts[1]
    if top != "runners":
        return top
    if len(parts) > 2 and parts[2] in ("research", "cli"):
        return parts[2]
    return "command"


def own_modules(names: list[str], modules: dict[str, Path]) -> set[str]:
    """The package's modules among imported names (``from pkg import module`` included)."""
    return {name for name in names if name in modules}


MODULES = package_modules()


def test_every_top_level_folder_is_scanned() -> None:
    assert {layer(m) for m in MODULES} == set(LAYER_RANK)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module: str) -> None:
    here = layer(module)
    wrong = []
    for target in own_modules(imported_names(MODULES[module]), MODULES):
        there = layer(target)
        if there == here:
            continue
        if LAYER_RANK[there] >= LAYER_RANK[here]:
            wrong.append(f"{target} ({there})")
    assert not wrong, f"{module} ({here}) imports a layer at or above it: {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) in THIRD_PARTY_BANNED))
def test_lower_layers_stay_free_of_engine_and_reporting_libraries(module: str) -> None:
    banned = THIRD_PARTY_BANNED[layer(module)]
    found = {n.split(".")[0] for n in imported_names(MODULES[module])} & set(banned)
    assert not found, f"{module} imports {sorted(found)}"


def sub_package(module: str) -> str:
    """The package a module belongs to: its folder one level under the top level, or the top."""
    folders = MODULES[module].relative_to(REPO_ROOT).parts[:-1]
    return ".".join((PACKAGE, *folders[:2]))


def test_no_import_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        source = sub_package(module)
        graph.setdefault(source, set())
        for target in own_modules(imported_names(path), MODULES):
            dest = sub_package(target)
            nested = source.startswith(dest + ".") or dest.startswith(source + ".")
            if dest != source and not nested:  # a package and its own sub-packages: one unit
                graph[source].add(dest)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as cycle:
        pytest.fail(f"import cycle between packages: {cycle.args[1]}")


def test_command_files_are_thin() -> None:
    for name in COMMANDS:
        lines = (REPO_ROOT / "runners" / f"{name}.py").read_text().count("\n")
        assert lines <= 85, f"runners/{name}.py has {lines} lines: its work belongs in research/"


def test_benchmark_is_not_installed() -> None:
    assert not any("benchmark" in m.split(".")[-1] for m in MODULES if layer(m) != "command")


def test_design_layout_section_is_current() -> None:
    """docs/DESIGN.md's layout section is the one docs/layout.py draws from the tree."""
    layout = runpy.run_path(str(REPO_ROOT / "docs" / "layout.py"))
    text = (REPO_ROOT / "docs" / "DESIGN.md").read_text()
    assert layout["current_section"](text) == layout["layout_section"](), (
        "docs/DESIGN.md's layout is stale: python docs/layout.py --write"
    )
