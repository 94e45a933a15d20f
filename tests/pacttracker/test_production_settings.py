"""Production defaults (issue 17): secure with DEBUG off unless turned off by name, and the .env
file that lets every manage.py command run as the README shows it.

Settings are read once per process, so each case runs `manage.py` in a subprocess with exactly
the environment it names (ENV_FILE= keeps a developer's own .env out of it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pacttracker.settings import read_env_file

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-long-random-secret-key-for-the-test-" + "x7Qp2" * 8
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "pacttracker.example.org"}
SHOWN = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "ENV_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_with(env: dict[str, str]) -> dict:
    script = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SHOWN!r}}}))"
    )
    run = manage("shell", "-c", script, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_only_debug_secret_key_and_allowed_hosts():
    run = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert run.returncode == 0, run.stdout + run.stderr


def test_debug_off_redirects_to_https_sends_hsts_and_secure_cookies_behind_a_proxy():
    values = settings_with(PRODUCTION)

    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_each_protection_is_turned_off_by_name():
    values = settings_with(
        {
            **PRODUCTION,
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "TRUST_X_FORWARDED_PROTO": "0",
            "SESSION_COOKIE_SECURE": "0",
        }
    )

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is True


def test_debug_on_keeps_plain_http_for_the_development_server():
    values = settings_with({"DEBUG": "1"})

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_settings_come_from_the_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "local.env"
    env_file.write_text("# made by make\nDEBUG=1\nSECURE_HSTS_SECONDS=60   # a comment\n")

    from_file = settings_with({"ENV_FILE": str(env_file)})
    overridden = settings_with({**PRODUCTION, "ENV_FILE": str(env_file)})

    assert from_file["DEBUG"] is True
    assert from_file["SECURE_HSTS_SECONDS"] == 60
    assert overridden["DEBUG"] is False
    assert overridden["SECURE_HSTS_SECONDS"] == 60


def test_the_env_file_is_read_as_docker_compose_reads_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(
            [
                "  # a comment",
                "",
                "export DEBUG=1",
                "SECRET_KEY='a#b c'",
                'EMAIL_HOST_PASSWORD="x y"',
                "SITE_URL=https://example.org/#top   # after a space: a comment",
                "ALLOWED_HOSTS=",
            ]
        )
    )

    assert read_env_file(env_file) == {
        "DEBUG": "1",
        "SECRET_KEY": "a#b c",
        "EMAIL_HOST_PASSWORD": "x y",
        "SITE_URL": "https://example.org/#top",
        "ALLOWED_HOSTS": "",
    }


def test_a_line_that_is_not_key_equals_value_fails_naming_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nDEBUG 0\n")

    with pytest.raises(ImproperlyConfigured, match="line 2"):
        read_env_file(env_file)
