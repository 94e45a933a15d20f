"""scripts/dependency_audit.py: a vulnerability fails, a clean audit passes, and an audit that
could ask about nothing says NOT AUDITED (and fails only when strict) instead of passing
quietly as pip-audit itself does."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "dependency_audit.py"


@pytest.fixture
def audit(monkeypatch):
    """The script, with pip-audit replaced by one that writes the given JSON report."""
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def with_report(dependencies: list[dict]) -> int:
        def fake_run(command, **kwargs):
            output = next(a for a in command if a.startswith("--output="))
            Path(output.split("=", 1)[1]).write_text(json.dumps({"dependencies": dependencies}))
            return subprocess.CompletedProcess(command, 0, "", "")

        monkeypatch.setattr(module.subprocess, "run", fake_run)
        return module.main()

    return with_report


CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
UNREACHABLE = {"name": "django", "version": "5.2.19", "skip_reason": "Dependency not found"}


def test_a_known_vulnerability_fails_and_is_named(audit, capsys):
    vulnerable = {**CLEAN, "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["5.2.20"]}]}

    assert audit([vulnerable, CLEAN]) == 1
    assert "VULNERABLE django==5.2.19: PYSEC-0000-1 (fixed in 5.2.20)" in capsys.readouterr().out


def test_a_clean_audit_passes(audit, capsys):
    assert audit([CLEAN]) == 0
    assert "1 package(s) with no known vulnerability" in capsys.readouterr().out


def test_nothing_audited_is_said_loudly_and_passes_unless_strict(audit, capsys, monkeypatch):
    assert audit([UNREACHABLE]) == 0
    assert "NOT AUDITED" in capsys.readouterr().out

    monkeypatch.setenv("DEPENDENCY_AUDIT_STRICT", "1")
    assert audit([UNREACHABLE]) == 1
