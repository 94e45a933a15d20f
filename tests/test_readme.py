"""Every command README.md shows works as written on a fresh clone after `make run`'s set-up
(issue 17).

The rule: every line of a ```sh block that starts with `.venv/bin/python manage.py ` or
`make ` is a command a reader will type. The test clones the committed tree (what a newcomer
gets), links the shared virtualenv in, and runs `make demo`, which is `make run` without the
server: it writes .env, migrates, loads the demo data and makes the demo editor. Then:

* each `manage.py` command runs exactly as written (through bash, with its redirections), in
  an environment with none of the project's settings, as a newcomer's shell has, and must exit 0;
* each `make` command is dry-run (`make -n`): the target must exist and know how to build.
  Running them would serve until Ctrl-C (`make run`), run this suite again (`make test`) or need
  PostgreSQL and wrk (`make bench`).

About 30 s; marked `readme`, so `make test` leaves it to `.ci/run`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFIXES = (".venv/bin/python manage.py ", "make ")
# The settings (every name .env.example lists) and how pytest chose them: a newcomer's shell
# has none of them, so the clone must find what it needs in .env.
SETTING = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)

pytestmark = pytest.mark.readme


def readme_commands(text: str) -> list[str]:
    """The commands of README.md's ```sh blocks that the rule above picks, in order."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith(PREFIXES):
                commands.append(line)
    return commands


def newcomer_environment() -> dict[str, str]:
    settings = set(SETTING.findall((ROOT / ".env.example").read_text()))
    settings |= {"DJANGO_SETTINGS_MODULE", "ENV_FILE"}
    return {key: value for key, value in os.environ.items() if key not in settings}


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_rule_finds_the_commands_the_readme_teaches():
    commands = readme_commands((ROOT / "README.md").read_text())

    assert any(c.startswith(".venv/bin/python manage.py create_token editor") for c in commands)
    assert any(c.startswith("make run") for c in commands)
    assert all(c.startswith(PREFIXES) for c in commands)


def test_every_readme_command_works_on_a_fresh_clone(tmp_path):
    clone = tmp_path / "pacttracker"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
    env = newcomer_environment()
    # `make run` without the server. The shared virtualenv is complete: -o keeps make from
    # reinstalling into it because the clone's requirements files are newer than its stamps.
    setup = run("make -o .venv/.installed -o .venv/.installed-dev demo", clone, env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert (clone / ".env").is_file()

    failures = []
    for command in readme_commands((clone / "README.md").read_text()):
        if command.startswith("make "):
            command = "make -n " + command.removeprefix("make ")
        result = run(command, clone, env)
        if result.returncode != 0:
            failures.append(f"$ {command}\n{(result.stdout + result.stderr)[-1500:]}")

    assert not failures, "\n\n".join(failures)
