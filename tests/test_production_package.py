"""What ships: the production image leaves out the development tools (the TWS simulator is a
test double), and the application code never depends on them."""

import ast
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def test_the_image_leaves_out_the_development_tools() -> None:
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    assert {"devtools", "tests", "bench"} <= set(ignored)


def test_no_application_module_imports_the_development_tools() -> None:
    offenders = []
    for path in sorted((BASE_DIR / "apps").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path}: {name}" for name in names if name.split(".")[0] == "devtools"]
    assert offenders == []


def test_the_server_starts_without_them() -> None:
    """As in the image: the package is absent, Django starts, and the command is gone."""
    code = (
        "import sys; sys.modules['devtools'] = None; import django; django.setup(); "
        "from django.core.management import get_commands; "
        "assert 'tws_simulator' not in get_commands(); print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr
