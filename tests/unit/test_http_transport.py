"""The HTTP seam: budgets, retries on the injected clock, no retry of 4xx, redaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from omnisync.clock import VirtualClock
from omnisync.http import CallStats, RateBudgets, build_client
from omnisync.sdk import HttpOptions, Limits, OperationLimits, RetryableError, RetryAdvice, op

SECRET = "s3cr3t-token-value"


def client(
    clock: VirtualClock,
    stats: CallStats,
    classify: Callable[[httpx.Response], RetryAdvice | None] = lambda r: None,
    limits: Limits | None = None,
) -> httpx.AsyncClient:
    options = HttpOptions(
        base_url="https://api.example.test", headers={"X-Token": SECRET}, secrets=[SECRET], max_attempts=4
    )
    return build_client(
        options,
        channel="t",
        clock=clock,
        budgets=RateBudgets(limits or Limits(), clock),
        stats=stats,
        classify=classify,
        transport=httpx.AsyncHTTPTransport(),
    )


@respx.mock(assert_all_called=True)
async def test_429_waits_retry_after_on_the_clock(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("https://api.example.test/x").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})]
    )
    clock, stats = VirtualClock(), CallStats()
    async with client(clock, stats) as c:
        response = await c.get("/x?token=" + SECRET)
    assert response.status_code == 200
    assert route.call_count == 2
    assert clock.monotonic() >= 7
    assert stats.total_throttled == 1


@pytest.mark.parametrize("status", [400, 401, 403])
@respx.mock
async def test_client_errors_are_never_retried(respx_mock: respx.MockRouter, status: int) -> None:
    route = respx_mock.get("https://api.example.test/x").mock(return_value=httpx.Response(status))
    stats = CallStats()
    async with client(VirtualClock(), stats) as c:
        assert (await c.get("/x")).status_code == status
    assert route.call_count == 1
    assert sum(stats.retries.values()) == 0


@respx.mock
async def test_5xx_backoff_then_give_up_returns_the_answer(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("https://api.example.test/x").mock(return_value=httpx.Response(503))
    clock = VirtualClock()
    async with client(clock, CallStats()) as c:
        assert (await c.get("/x")).status_code == 503
    assert route.call_count == 4
    assert clock.monotonic() == pytest.approx(0.5 + 1 + 2)


@respx.mock
async def test_timeouts_retried_then_retryable_error_without_secrets(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://api.example.test/x").mock(side_effect=httpx.ReadTimeout("slow"))
    with capture_logs() as logs:
        async with client(VirtualClock(), CallStats()) as c:
            with pytest.raises(RetryableError) as info:
                await c.get("/x?access_token=" + SECRET)
    assert SECRET not in str(info.value)
    retries = [e for e in logs if e["event"] == "http.retry"]
    assert len(retries) == 3
    assert all(SECRET not in str(e) and "access_token" not in e["url"] for e in retries)


@respx.mock
async def test_a_closed_idle_connection_is_retried_at_once_then_with_backoff(
    respx_mock: respx.MockRouter,
) -> None:
    closed = httpx.ReadError("connection closed by the server")
    route = respx_mock.get("https://api.example.test/x").mock(
        side_effect=[closed, httpx.Response(200), closed, closed, httpx.Response(200)]
    )
    clock = VirtualClock()
    async with client(clock, CallStats()) as c:
        assert (await c.get("/x")).status_code == 200
        assert clock.monotonic() == 0.0, "the race with an idle connection's close costs no wait"
        assert (await c.get("/x")).status_code == 200
    assert route.call_count == 5
    assert clock.monotonic() == pytest.approx(1.0), "closed twice in a row: a real failure, backed off"


@respx.mock
async def test_classified_throttle_inside_a_200_is_retried(respx_mock: respx.MockRouter) -> None:
    throttled = httpx.Response(200, json={"errors": [{"extensions": {"code": "THROTTLED"}}]})
    route = respx_mock.post("https://api.example.test/graphql").mock(
        side_effect=[throttled, httpx.Response(200, json={"data": {}})]
    )

    def classify(r: httpx.Response) -> RetryAdvice | None:
        body = r.json()
        return RetryAdvice(True, 3.0) if body.get("errors") else None

    clock = VirtualClock()
    async with client(clock, CallStats(), classify) as c:
        assert (await c.post("/graphql", json={})).json() == {"data": {}}
    assert route.call_count == 2
    assert clock.monotonic() >= 3


@respx.mock
async def test_operation_budget_spaces_calls(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("https://api.example.test/p").mock(return_value=httpx.Response(200))
    limits = Limits(push_inventory=OperationLimits(max_batch=1, rate=5, burst=5))
    clock = VirtualClock()
    async with client(clock, CallStats(), limits=limits) as c:
        for _ in range(15):
            await c.post("/p", extensions=op("push_inventory"))
    # 5 at once from the burst, then 10 more at 5/s
    assert clock.monotonic() == pytest.approx(2.0)


async def test_a_deferrable_call_gives_way_to_a_waiting_one() -> None:
    clock = VirtualClock()
    budgets = RateBudgets(Limits(push_inventory=OperationLimits(max_batch=1, rate=1, burst=1)), clock)
    await budgets.acquire("push_inventory")  # the burst is spent: the next token comes at t=1
    order: list[tuple[str, float]] = []

    async def call(name: str, deferrable: bool) -> None:
        await budgets.acquire("push_inventory", deferrable=deferrable)
        order.append((name, clock.monotonic()))

    # the status poll asks first, the push second: the push still goes first
    await asyncio.gather(call("poll", True), call("push", False))
    assert [name for name, _ in order] == ["push", "poll"]
    assert order[0][1] == pytest.approx(1.0)
    assert order[1][1] == pytest.approx(2.0)


async def test_ready_waits_for_the_budget_without_spending_it() -> None:
    clock = VirtualClock()
    budgets = RateBudgets(Limits(push_inventory=OperationLimits(max_batch=1, rate=2, burst=1)), clock)
    await budgets.acquire("push_inventory")
    assert await budgets.ready("push_inventory") == pytest.approx(0.5)
    assert await budgets.ready("push_inventory") == 0.0, "ready() took no token"
    assert await budgets.acquire("push_inventory") == 0.0


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("silent")])
@respx.mock
async def test_an_unreachable_host_fails_after_two_attempts(
    respx_mock: respx.MockRouter, failure: Exception
) -> None:
    route = respx_mock.get("https://api.example.test/x").mock(side_effect=failure)
    clock = VirtualClock()
    async with client(clock, CallStats()) as c:
        with pytest.raises(
            RetryableError, match=r"gave up after 2 attempts.*cannot connect to api\.example\.test"
        ):
            await c.get("/x")
    assert route.call_count == 2, "nobody answers there: a one-shot command fails in a second, not a minute"
    assert clock.monotonic() == pytest.approx(0.5)
