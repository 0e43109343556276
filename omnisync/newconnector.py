"""``omnisync new-connector NAME``: a connector package that passes the conformance kit as written.

It writes, into ``DIR/NAME`` (a folder that must not exist yet, so nothing is ever overwritten)::

    pyproject.toml                the distribution, with the ``omnisync.connectors`` entry point
    README.md
    src/NAME/__init__.py
    src/NAME/connector.py         settings, capabilities, limits and the calls
    src/NAME/fake_api.py          an in-memory fake of the platform's API
    src/NAME/harness.py           how the conformance kit drives the fake
    tests/test_conformance.py     the one-line kit suite

The files come from ``omnisync/connector_template/*.tmpl`` with ``{{channel}}``, ``{{package}}``,
``{{dist}}`` and ``{{Class}}`` filled in.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "connector_template"
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "src/{package}/__init__.py",
    "connector.py.tmpl": "src/{package}/connector.py",
    "fake_api.py.tmpl": "src/{package}/fake_api.py",
    "harness.py.tmpl": "src/{package}/harness.py",
    "test_conformance.py.tmpl": "tests/test_conformance.py",
}
"""Template -> where it lands in the package folder."""


def check_name(name: str) -> str:
    """``name`` when it can be a connector name, a Python package and an entry-point name at once."""
    if not NAME.match(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise ValueError(f"connector name {name!r}: lowercase letters, digits and _, starting with a letter")
    if "__" in name:
        raise ValueError(f"connector name {name!r}: no double underscores")
    return name


def placeholders(name: str) -> dict[str, str]:
    return {
        "channel": name,
        "package": name,
        "dist": "omnisync-" + name.replace("_", "-"),
        "Class": "".join(part.capitalize() for part in name.split("_")),
    }


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def write_connector_package(name: str, directory: Path) -> list[Path]:
    """Write the package for connector ``name`` into ``directory/name``; the files written."""
    values = placeholders(check_name(name))
    target = directory / name
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another name or folder")
    rendered = {
        target / dest.format(package=values["package"]): render(
            (TEMPLATES / template).read_text(encoding="utf-8"), values
        )
        for template, dest in LAYOUT.items()
    }
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(rendered)
