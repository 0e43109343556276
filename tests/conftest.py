from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbfixtures import ledger_url  # noqa: E402,F401


def specs_root() -> Path:
    return Path(os.environ.get("OMNISYNC_SPECS", REPO.parent / "shared" / "specs"))


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The official API specs; tests that need them skip where the folder is absent."""
    root = specs_root()
    if not root.is_dir():
        pytest.skip(f"official API specs not found at {root} (set OMNISYNC_SPECS)")
    return root


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    """Where tests leave what a person looks at (screenshots): $OMNISYNC_TEST_ARTEFACTS, else
    test-artefacts/ in the checkout (ignored by git)."""
    root = Path(os.environ.get("OMNISYNC_TEST_ARTEFACTS", REPO / "test-artefacts"))
    root.mkdir(parents=True, exist_ok=True)
    return root
