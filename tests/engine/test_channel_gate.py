"""The channel gate: lanes that never wait for each other, push slots, and at most one run queued."""

from __future__ import annotations

import asyncio

from omnisync.engine.gate import ChannelGate


async def test_a_push_never_waits_for_a_pull_nor_a_pull_for_a_push() -> None:
    gate = ChannelGate()
    async with gate.enter("pull"):
        # a slow order pull holds its lane: a push enters at once
        await asyncio.wait_for(_enter_and_leave(gate, "push"), 1)
    async with gate.enter("push"):
        await asyncio.wait_for(_enter_and_leave(gate, "pull"), 1)


async def test_pushes_in_flight_are_bounded_by_the_connectors_slots() -> None:
    gate = ChannelGate(push_slots=2)
    entered: list[int] = []
    release = asyncio.Event()

    async def push(n: int) -> None:
        async with gate.enter("push"):
            entered.append(n)
            await release.wait()

    tasks = [asyncio.create_task(push(n)) for n in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert entered == [0, 1], "a third push waits for a free slot"
    assert gate.busy("push")
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2]


async def test_one_run_waits_per_lane_and_entering_frees_the_queue() -> None:
    gate = ChannelGate()
    first = gate.queue("pull")
    assert first is not None
    assert gate.queue("pull") is None, "a second request is covered by the one waiting"
    assert gate.queue("push") is not None, "lanes queue apart"
    async with gate.enter("pull"):
        assert not gate.queued("pull")
        later = gate.queue("pull")  # may queue behind the running one
        assert later is not None
        gate.unqueue("pull", first)  # the first run's late give-back leaves the later ticket
        assert gate.queued("pull")
        gate.unqueue("pull", later)
    assert not gate.queued("pull")


async def _enter_and_leave(gate: ChannelGate, lane: str) -> None:
    async with gate.enter(lane):  # type: ignore[arg-type]
        pass
