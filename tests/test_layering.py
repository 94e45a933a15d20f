"""The layout keeps its shape: imports flow one way (pyproject.toml [tool.importlinter]), no
package's modules import each other in a circle, and no folder grows past a third of the code.

The contracts are checked by import-linter, as `make lint` and CI run it; the tests below also
prove that the check bites, by planting a wrong import in a copy of the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
APPS = [
    "pacttracker",
    "web",
    "notify",
    "transfer",
    "forecasting",
    "ratification",
    "agreements",
    "parties",
    "accounts",
    "apikit",
]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter over the packages under `root`, with the project's contracts."""
    return subprocess.run(  # our own virtualenv's tool, fixed arguments
        [str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The application's packages, copied (Python files only), to plant a wrong import in."""
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def plant(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}  # planted by the test\n")


def test_the_code_keeps_the_import_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # The domain must not know who is told about its changes.
        ("ratification.models", "import notify.models", "ratification.models -> notify.models"),
        # The API kit imports no app.
        (
            "apikit.errors",
            "from accounts.models import ApiToken",
            "apikit.errors -> accounts.models",
        ),
        # The domain runs the forecasts' computation by task name; importing it is upside down.
        (
            "ratification.tasks",
            "from forecasting import forecasts",
            "ratification.tasks -> forecasting.forecasts",
        ),
        # Pages sit above the notifications' relays, never below them.
        ("notify.follows", "from web import selectors", "notify.follows -> web.selectors"),
    ],
)
def test_an_import_against_the_layers_fails(tree_copy, module, line, broken):
    plant(tree_copy, module, line)
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "1 kept, 1 broken" in result.stdout
    assert broken in result.stdout


def test_an_import_circle_fails(tree_copy):
    """services queue the tasks by name; importing tasks back would close a circle."""
    plant(tree_copy, "ratification.services", "from ratification import tasks")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "No import circles between the modules of a package BROKEN" in result.stdout
    assert "- .services -> .tasks (1 import)" in result.stdout


def _non_blank_lines(folder: Path) -> int:
    return sum(
        sum(1 for line in path.read_text().splitlines() if line.strip())
        for path in folder.rglob("*.py")
        if "migrations" not in path.parts
    )


def test_no_folder_holds_more_than_a_third_of_the_application():
    """Application code: the apps' Python files outside migrations (tests, bench and scripts are
    not the application)."""
    lines = {app: _non_blank_lines(ROOT / app) for app in APPS}
    total = sum(lines.values())
    biggest = max(lines, key=lines.__getitem__)
    assert lines[biggest] / total <= 1 / 3, f"{biggest}/ holds {lines[biggest] / total:.0%}"


def test_the_benchmark_generator_is_not_in_the_product():
    """It is a command of bench/, installed only by bench.settings."""
    assert (ROOT / "bench/management/commands/generate_agreements.py").exists()
    for app in APPS:
        assert not (ROOT / app / "management/commands/generate_agreements.py").exists()
