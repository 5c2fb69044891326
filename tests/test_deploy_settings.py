"""Deployment settings: no public secret key, and Django's deploy checks pass for the
production environment docker-compose.yml gives the app."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
# Accepted on purpose (README, "Deployment"): HSTS for subdomains and browser preload lists are
# the site operator's commitments, opted into with SECURE_HSTS_INCLUDE_SUBDOMAINS / _PRELOAD.
ACCEPTED_DEPLOY_WARNINGS = {"security.W005", "security.W021"}
SUBSTITUTION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose_app_env(secret_key: str) -> dict[str, str]:
    """The app containers' environment from docker-compose.yml (its ``x-env`` block), with
    ``${NAME:-default}`` at its default, ``SECRET_KEY`` set to ``secret_key`` and
    ``LLM_KEY_SALT`` to a salt made from it."""
    env = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["x-env"]

    def value(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if name == "SECRET_KEY":
            return secret_key
        if name == "LLM_KEY_SALT":
            return "salt-" + secret_key[:16]
        return default if kind == "-" else ""

    return {name: SUBSTITUTION.sub(value, str(raw)) for name, raw in env.items()}


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in a fresh process with only ``env`` (plus PATH) set."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def print_secret_key(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The settings' SECRET_KEY on the last line of stdout (the shell may print before it)."""
    return manage(
        ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"], env
    )


def test_deploy_checks_pass_with_the_compose_production_env() -> None:
    result = manage(
        ["check", "--deploy"], compose_app_env(secret_key="k" * 20 + os.urandom(24).hex())
    )
    assert result.returncode == 0, result.stderr
    found = set(re.findall(r"\((security\.W\d+)\)", result.stdout + result.stderr))
    assert found <= ACCEPTED_DEPLOY_WARNINGS, result.stdout + result.stderr


def test_a_public_deployment_without_secret_key_does_not_start() -> None:
    result = print_secret_key({"ALLOWED_HOSTS": "sibyl.example.com"})
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_local_use_gets_one_random_key_per_checkout() -> None:
    """The demo, `make serve` and the tests answer for loopback names only and set no key."""
    first = print_secret_key({})
    second = print_secret_key({"DEBUG": "true", "ALLOWED_HOSTS": "sibyl.example.com"})
    assert first.returncode == 0, first.stderr
    key = first.stdout.splitlines()[-1]
    assert second.stdout.splitlines()[-1] == key
    assert len(key) >= 50 and "insecure" not in key
    assert key == (BASE_DIR / "var" / "secret_key").read_text().strip()


def test_a_public_deployment_without_llm_key_salt_does_not_start() -> None:
    result = print_secret_key({"ALLOWED_HOSTS": "sibyl.example.com", "SECRET_KEY": "k" * 50})
    assert result.returncode != 0
    assert "Set LLM_KEY_SALT" in result.stderr
