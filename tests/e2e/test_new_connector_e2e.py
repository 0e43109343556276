"""``omnisync new-connector demo_channel`` in a temp folder, ``pip install -e`` of it into a fresh venv,
``pytest`` there, and ``omnisync connectors`` listing it: the path a third-party author walks.

The fresh venv sees this environment's packages (omnisync and its dependencies) through a ``.pth``
file that adds this environment's site directory, so nothing is fetched from a registry: the install
is ``--no-index --no-deps --no-build-isolation`` and uses the setuptools already here.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _fresh_venv(folder: Path) -> Path:
    """A venv without pip of its own that also sees this environment's packages; its python."""
    _run(sys.executable, "-m", "venv", "--without-pip", folder, cwd=folder.parent)
    python = folder / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=folder)
    ours = [sysconfig.get_path("purelib"), *site.getsitepackages()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(ours))
    (Path(purelib.stdout.strip()) / "_host_environment.pth").write_text(lines)
    return python


def test_new_connector_installs_passes_its_kit_and_is_listed(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    omnisync = "import sys; from omnisync.cli import main; sys.argv[0] = 'omnisync'; main()"

    _run(python, "-c", omnisync, "new-connector", "demo_channel", cwd=work)
    package = work / "demo_channel"
    offline = ("--no-index", "--no-deps", "--no-build-isolation")
    _run(python, "-m", "pip", "install", "-q", *offline, "-e", package, cwd=work)

    tests = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    assert " passed" in tests.stdout
    assert "failed" not in tests.stdout

    listed = json.loads(_run(python, "-c", omnisync, "connectors", "--json", cwd=work).stdout)
    row = next(r for r in listed if r["name"] == "demo_channel")
    assert "pull_orders" in row["capabilities"]
    assert row["push_inventory_batch"] == 50
