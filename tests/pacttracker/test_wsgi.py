"""The WSGI entry point freezes what a web process loads once (pacttracker/wsgi.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
import sys
import pacttracker.wsgi
from django.test import Client
assert "web.views" in sys.modules and "ratification.api.views" in sys.modules
frozen = gc.get_freeze_count()
Client().get("/glossary/")
print(frozen, len(gc.get_objects()))
"""


def test_the_loaded_code_is_out_of_the_collectors_reach():
    result = subprocess.run(  # our own interpreter, a fixed script
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "pacttracker.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, tracked = map(int, result.stdout.split()[-2:])
    # Django, the apps and the views: far more than a request makes (a full collection walks
    # only those).
    assert frozen > 50_000
    assert tracked < frozen / 4
