"""The one path every call takes: plan an Action for an Event, execute it, tell the sinks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import structlog

from tfhook.config import Settings
from tfhook.model import Action, Event, Outcome, Phase, Result, Sink, Status, Update
from tfhook.runners import Runner

log = structlog.get_logger("tfhook.pipeline")


def plan(event: Event, settings: Settings) -> Action:
    """Decide what to do with an event; pure, so it is easy to test and to extend.

    Args:
        event: the decoded call.
        settings: the server's settings.

    Returns:
        An Action naming a runner, or a skip with its reason.
    """
    if settings.terraform is not None:
        return _plan_terraform(event, settings)
    if event.phase is not settings.handler_type:
        return Action(
            event,
            None,
            f"{event.phase.rpc}: nothing to do (handler type is {settings.handler_type.value})",
            announce=False,  # the reference answers other phases with an empty stream
        )
    return Action(event, "executable")


def _plan_terraform(event: Event, settings: Settings) -> Action:
    assert settings.terraform is not None
    if event.phase is not Phase.POST_HANDLE:
        return Action(event, None, f"{event.phase.rpc}: Terraform refresh runs after the change")
    triggers = settings.terraform.on_result
    if event.result not in triggers:
        name = _result_name(event.result)
        wanted = ", ".join(r.name for r in sorted(triggers))
        return Action(event, None, f"result {name}: no refresh (refreshing on {wanted})")
    return Action(event, "terraform")


def _result_name(value: int) -> str:
    try:
        return Result(value).name
    except ValueError:  # a number the contract does not declare
        return str(value)


class Pipeline:
    """Executes actions through their runner and reports every step to the sinks."""

    def __init__(
        self, settings: Settings, runners: Mapping[str, Runner], sinks: Sequence[Sink] = ()
    ) -> None:
        self.settings = settings
        self.runners = runners
        self.sinks = tuple(sinks)
        self._calls: set[asyncio.Task[Any]] = set()

    def plan(self, event: Event) -> Action:
        """See `plan`."""
        return plan(event, self.settings)

    async def execute(self, action: Action) -> AsyncIterator[Update]:
        """Run an action, yielding its Updates; errors propagate after the sinks saw them.

        Args:
            action: what `plan` decided.

        Yields:
            The Updates to send, in order.
        """
        started = time.monotonic()
        call = asyncio.current_task()
        if call is not None:
            self._calls.add(call)
        self._tell(lambda sink: sink.started(action))
        final: Status | None = None
        error: BaseException | None = None
        try:
            async for update in self._updates(action):
                final = update.status
                self._tell(lambda sink, u=update: sink.update(action, u))  # type: ignore[misc]
                yield update
        except BaseException as exc:  # also bugs: the sinks must not count them as success
            error = exc
            raise
        finally:
            outcome = Outcome(
                event=action.event,
                action=action,
                final=final if error is None else None,
                error=None if error is None else (str(error) or "cancelled"),
                error_kind=None if error is None else type(error).__name__,
                duration=time.monotonic() - started,
            )
            self._tell(lambda sink: sink.finished(outcome))
            self._calls.discard(call)

    async def wait_idle(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds, for calls still running or unwinding.

        A call cancelled at shutdown is still stopping its process group (stop signal,
        kill_after, SIGKILL); the event loop must not end under it.

        Args:
            timeout: the longest wait in seconds.
        """
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=timeout)

    async def _updates(self, action: Action) -> AsyncIterator[Update]:
        if action.runner is None:
            if action.announce:
                yield Update(Status.IGNORED, action.reason)
            return
        async for update in self.runners[action.runner].run(action):
            yield update

    def _tell(self, call: Callable[[Sink], None]) -> None:
        # Observers never change what the Core is answered: their errors are logged only.
        for sink in self.sinks:
            try:
                call(sink)
            except Exception:
                with contextlib.suppress(Exception):
                    log.exception("sink failed", sink=type(sink).__name__)
