"""The budget requests in conversion share: first come, first served; a cancelled waiter
takes nothing and holds up no one."""

from __future__ import annotations

import asyncio

from tfhook.server.budget import Budget


async def _hold(budget: Budget, name: str, cost: int, log: list[str],
                release: asyncio.Event) -> None:
    async with budget.hold(cost):
        log.append(f"{name} in ({budget.used})")
        await release.wait()
    log.append(f"{name} out")


def test_a_request_waits_until_its_cost_fits_first_come_first_served() -> None:
    async def run() -> list[str]:
        budget, log = Budget(100), []
        gates = {name: asyncio.Event() for name in "abcd"}
        tasks = [asyncio.ensure_future(_hold(budget, name, cost, log, gates[name]))
                 for name, cost in (("a", 60), ("b", 50), ("c", 10), ("d", 40))]
        await asyncio.sleep(0)
        log.append("-")  # a holds 60: b (50) waits, and c and d wait behind b
        gates["a"].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append("-")
        for gate in gates.values():
            gate.set()
        await asyncio.gather(*tasks)
        assert budget.used == 0
        return log

    # When a leaves, b, then c and d behind it, fit together (50 + 10 + 40).
    assert asyncio.run(run())[:6] == ["a in (60)", "-", "a out", "b in (100)", "c in (100)",
                                      "d in (100)"]


def test_a_cancelled_waiter_takes_nothing_and_lets_the_next_one_in() -> None:
    async def run() -> list[str]:
        budget, log = Budget(100), []
        first, never, third = asyncio.Event(), asyncio.Event(), asyncio.Event()
        holder = asyncio.ensure_future(_hold(budget, "a", 70, log, first))
        await asyncio.sleep(0)
        big = asyncio.ensure_future(_hold(budget, "b", 100, log, never))
        small = asyncio.ensure_future(_hold(budget, "c", 30, log, third))
        await asyncio.sleep(0)
        big.cancel()  # c waited behind b; with b gone it fits beside a
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        log.append(f"used {budget.used}")
        first.set()
        third.set()
        await asyncio.gather(holder, small)
        assert big.cancelled() and budget.used == 0
        return log

    assert asyncio.run(run()) == ["a in (70)", "c in (100)", "used 100", "a out", "c out"]


def test_a_cost_over_the_total_is_held_as_the_total() -> None:
    async def run() -> int:
        budget = Budget(100)
        async with budget.hold(250):
            return budget.used

    assert asyncio.run(run()) == 100
