"""`manage.py demo_editor`, which `make run` calls: the account and where to sign in with it."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_demo_editor_says_the_sign_in_page_on_the_port_served():
    out = io.StringIO()
    call_command("demo_editor", port=8123, stdout=out)
    assert "sign in at http://127.0.0.1:8123/accounts/login/" in out.getvalue()


def test_make_run_passes_its_port_to_demo_editor():
    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "manage.py demo_editor --port 8123" in dry_run.stdout
