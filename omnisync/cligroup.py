"""The command group behind ``omnisync``: global options anywhere, and expected errors as one line.

``-c/--config``, ``-v/--verbose`` and ``--debug`` are moved in front of the subcommand and ``--json``
behind it, so each may be written before or after the subcommand. Every expected error (a refused
ledger write, a bad config, a channel that does not answer) becomes one line on stderr and exit 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Any

from typer import _click as click
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit

_VALUED = ("-c", "--config")
_FLAGS = ("-v", "--verbose", "--debug")
_TRAILING = ("--json",)


def hoist_global_options(args: list[str]) -> list[str]:
    """The same arguments with the global options first and ``--json`` last (after ``--``: untouched)."""
    front: list[str] = []
    middle: list[str] = []
    back: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            middle.extend(args[i:])
            break
        if arg in _VALUED and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 2
            continue
        if (
            arg.startswith("--config=")
            or (arg.startswith("-c") and len(arg) > 2 and arg[2:3] != "-")
            or arg in _FLAGS
        ):
            front.append(arg)
        elif arg in _TRAILING:
            if arg not in back:
                back.append(arg)
        else:
            middle.append(arg)
        i += 1
    if "--help" in middle or "-h" in middle:
        return front + middle  # help never fails on an option the subcommand lacks
    return front + middle + back


def expected_error(exc: BaseException) -> bool:
    """Errors a merchant can act on: shown as one line, not a traceback."""
    from omnisync.sdk.errors import OmnisyncError

    kinds: list[type[BaseException]] = [OmnisyncError, ValueError, LookupError, OSError]
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy is not None:
        kinds.append(sqlalchemy.SQLAlchemyError)
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        kinds.append(httpx.HTTPError)
    return isinstance(exc, tuple(kinds))


def one_line(exc: BaseException | str) -> str:
    """The error (or one of its problems) as one line, secrets redacted."""
    from omnisync import logging as oslog

    text = " ".join(str(exc).split()) or type(exc).__name__
    sqlalchemy = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy is not None and isinstance(exc, sqlalchemy.SQLAlchemyError) and not isinstance(exc, str):
        orig = getattr(exc, "orig", None)
        text = f"ledger: {' '.join(str(orig or exc).split()[:40])}"
    if len(text) > 400:
        text = text[:397] + "..."
    return oslog.redact_text(text)


class OmnisyncGroup(TyperGroup):
    """Global options before or after the subcommand; expected errors as one line."""

    debug = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (Exit, Abort, click.ClickException):
            raise
        except Exception as exc:
            if OmnisyncGroup.debug or not expected_error(exc):
                raise
            for problem in getattr(exc, "problems", None) or [exc]:
                click.echo(f"error: {one_line(problem)}", err=True)
            raise Exit(2) from None
