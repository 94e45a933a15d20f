"""pip-audit over requirements.txt and requirements-dev.txt, with an answer CI can trust either
way.

Exit 1 when a pinned package has a known vulnerability (listed, with the fixed versions).
Exit 0 with a loud NOT AUDITED notice when the vulnerability service cannot be asked: pip-audit
itself reports every package it could not look up as "skipped" and exits 0, so without this
script an unreachable service would look like a clean audit. Set DEPENDENCY_AUDIT_STRICT=1 (a
machine that reaches the service) to make "not audited" fail too.

Why not fail CI when the service is unreachable: CI runs on machines that reach the package
registry's download index only, not the JSON vulnerability API pip-audit asks (it answers 404
for every package there), so a failing step would fail every run for a reason no commit can fix.
A known, explained vulnerability is ignored by adding its id to IGNORED with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Vulnerability id -> why it does not apply to Pact Tracker. Empty: none is ignored.
IGNORED: dict[str, str] = {}
TIMEOUT_SECONDS = 300


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        command = [
            str(ROOT / ".venv" / "bin" / "pip-audit"),
            # Both files by name: pip-audit does not follow the dev file's `-r requirements.txt`.
            "--requirement",
            str(ROOT / "requirements.txt"),
            "--requirement",
            str(ROOT / "requirements-dev.txt"),
            "--no-deps",  # every package is pinned in the two files already
            "--disable-pip",
            "--progress-spinner=off",
            "--format=json",
            f"--output={report}",
            *(f"--ignore-vuln={vuln}" for vuln in IGNORED),
        ]
        try:
            run = subprocess.run(  # noqa: S603 (a fixed command, no shell)
                command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return not_audited(f"pip-audit took longer than {TIMEOUT_SECONDS} s")
        if not report.exists():
            return not_audited(f"pip-audit exited {run.returncode}: {run.stderr.strip()[-500:]}")
        dependencies = json.loads(report.read_text())["dependencies"]

    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none yet"
            print(f"VULNERABLE {dep['name']}=={dep['version']}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        print(f"dependency audit FAILED: {len(vulnerable)} vulnerable package(s)")
        return 1
    if audited == 0:
        return not_audited(skipped[0]["skip_reason"] if skipped else "no dependencies read")
    for dep in skipped:
        print(f"not audited: {dep['name']}: {dep['skip_reason']}")
    print(f"dependency audit passed: {audited} package(s) with no known vulnerability")
    return 0


def not_audited(reason: str) -> int:
    print("=" * 78)
    print("dependency audit: NOT AUDITED - the vulnerability service could not be asked.")
    print(f"  {reason}")
    print("  Run `make audit` on a machine that reaches it before a release.")
    print("=" * 78)
    return 1 if os.environ.get("DEPENDENCY_AUDIT_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
