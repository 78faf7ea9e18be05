"""The numerical core, tasks and trainer must import without Qt (headless CLI, library use)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GUI_PREFIXES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


@pytest.mark.parametrize("modules", [["rnnviz"], ["rnnviz.core"],
                                     ["rnnviz.core", "rnnviz.training", "rnnviz.tasks"]])
def test_core_imports_without_qt(modules):
    """In a fresh interpreter, importing these modules loads no Qt / pyqtgraph module."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {GUI_PREFIXES!r})))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_check_itself_can_see_qt_modules():
    """Guard against a vacuous purity test: the same probe does notice a GUI import."""
    code = (
        "import json, sys, types\n"
        "sys.modules['pyqtgraph'] = types.ModuleType('pyqtgraph')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'pyqtgraph')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True)
    assert json.loads(out.stdout) == ["pyqtgraph"]
