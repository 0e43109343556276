"""Progress on stderr: plain lines off a terminal, a line per step of a few, about ten for a long run."""

from __future__ import annotations

import io

from omnisync.progress import Progress, track


def test_a_few_steps_one_line_each() -> None:
    stream = io.StringIO()
    with Progress("sync", 4, stream=stream, tty=False) as progress:
        for what in ("web pull", "pos pull", "web push", "pos push FAILED"):
            progress.advance(what)
    assert stream.getvalue().splitlines() == [
        "sync: 1/4 web pull",
        "sync: 2/4 pos pull",
        "sync: 3/4 web push",
        "sync: 4/4 pos push FAILED",
    ]


def test_a_long_run_about_ten_lines_and_the_last() -> None:
    stream = io.StringIO()
    assert sum(track(range(10_003), "importing", 10_003, stream=stream)) == sum(range(10_003))
    lines = stream.getvalue().splitlines()
    assert 9 <= len(lines) <= 12
    assert lines[-1] == "importing: 10003/10003"


def test_a_terminal_gets_a_bar_and_no_lines_left_behind() -> None:
    stream = io.StringIO()
    with Progress("sync", 2, stream=stream, tty=True) as progress:
        progress.advance("web pull")
        progress.advance("web push")
    assert "sync: 1/2" not in stream.getvalue()
