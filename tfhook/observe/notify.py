"""The notifications observer (#23): a lifecycle per route and directory, not a stream.

A route (or its Terraform directory) that starts failing is told once (`failing`, or
`refused` when the guard refused removals), again only when it recovers (`recovered`, with
how long it failed); retries in between are silent. A held run is told once (`held`, not
also `refused`); a revert warning or a drift once per attribute and value. The state lives
in this instance: each instance tells about its own runs. Messages are queued for
`notify_send.Sender`, never sent on the call's path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tfhook.core.hooks import ExecutableAction, Hook
from tfhook.core.model import Action, Event, Outcome, Update
from tfhook.core.notices import DEFAULT_ON
from tfhook.core.observer import Observer, Run
from tfhook.observe import redact
from tfhook.observe.notify_send import Message, Sender

SEEN_MAX = 256  # revert and drift lines remembered per route, so as not to repeat them
DETAIL_MAX = 2000  # characters of an error a message carries (its end)
_TYPES = {"failing": "failure", "refused": "failure", "held": "warning", "revert": "warning",
          "drift": "info", "recovered": "success"}


@dataclass(eq=False)
class _Life:
    """Where one route's (and directory's) lifecycle is."""

    failing_since: float | None = None
    held: int | None = None  # the run whose held plan was told, until it is decided
    seen: dict[str, None] = field(default_factory=dict)  # revert and drift lines told

    def new(self, lines: Iterable[str]) -> list[str]:
        fresh = [line for line in dict.fromkeys(lines) if line not in self.seen]
        self.seen.update(dict.fromkeys(fresh))
        while len(self.seen) > SEEN_MAX:
            del self.seen[next(iter(self.seen))]
        return fresh


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell: its kind (core.notices.KINDS), where, and what happened."""

    kind: str
    route: str
    directory: str  # "" for an executable's route
    what: str  # one line
    detail: str = ""
    run: int | None = None
    event: Event | None = None  # the call that met it, if one did
    scrub: bool = False  # the detail may quote the request (a hook's output)


class Notifier(Observer):
    """Turns runs and routes' ends into notices, and queues them on `sender`."""

    def __init__(self, sender: Sender, server_urls: tuple[str, ...],
                 hooks: Callable[[], Iterable[Hook]], instance: str) -> None:
        self.sender = sender
        self.server_urls = server_urls
        self.hooks = hooks  # the routes in force (a reload changes them)
        self.instance = instance
        self._lives: dict[tuple[str, str], _Life] = {}
        self._last: dict[str, Event] = {}  # each route's latest call
        self._warned: set[int] = set()  # routes (actions) whose failure was answered DONE

    def _life(self, route: str, directory: str) -> _Life:
        return self._lives.setdefault((route, directory), _Life())

    def route_start(self, action: Action) -> None:
        if action.hook is not None and isinstance(action.trigger, Event):
            self._last[action.hook] = action.trigger

    def route_update(self, action: Action, update: Update) -> None:
        if update.warned:  # a failure answered DONE (a warned failure)
            self._warned.add(id(action))

    def route_end(self, outcome: Outcome) -> None:
        """A call's executable route ended (Terraform routes are told by their runs)."""
        action = outcome.action
        warned = id(action) in self._warned
        self._warned.discard(id(action))
        hook = self._hook(action.hook)
        if hook is None or not isinstance(hook.action, ExecutableAction) \
                or not isinstance(action.trigger, Event) \
                or outcome.error_kind in ("CancelledError", "GeneratorExit"):
            return
        if outcome.error is None and not warned:
            self._recovered(hook.name, "", None, action.trigger)
            return
        self._failed(Notice("failing", hook.name, "", f"hook {hook.action.path} is failing",
                            outcome.error or outcome.log, None, action.trigger, scrub=True),
                     time.time() - outcome.duration)

    def run_end(self, run: Run) -> None:
        life = self._life(run.route, run.directory)
        where = f"terraform refresh in {run.directory}"
        if run.outcome == "held":
            if life.held != run.id:
                life.held = run.id
                self._tell(Notice("held", run.route, run.directory, f"{where}: plan held for "
                                  "an operator", run.error or "", run.id, self._event(run)))
        elif run.outcome == "done":
            self._recovered(run.route, run.directory, run.id, self._event(run))
            reverts = life.new(line.partition(" on the next apply")[0] for line in run.reverts)
            if reverts:
                self._tell(Notice("revert", run.route, run.directory, "the next terraform apply "
                                  f"in {run.directory} would change back what was refreshed",
                                  "\n".join(reverts), run.id, self._event(run)))
            drifted = life.new(f"drift: {line}" for line in run.drifted)
            if drifted:
                self._tell(Notice("drift", run.route, run.directory, f"{where}: drift found",
                                  "\n".join(drifted), run.id, self._event(run)))
        elif run.outcome == "failed" and not run.holding:
            # A run stopped by the plan its directory holds is no failure: `held` said it.
            kind = "refused" if run.refused else "failing"
            self._failed(Notice(kind, run.route, run.directory, f"{where} is {kind}",
                                run.error or "", run.id, self._event(run)), run.started)

    def run_changed(self, run: Run) -> None:
        life = self._life(run.route, run.directory)
        if life.held == run.id:  # decided: a new held plan is told again
            life.held = None

    def _event(self, run: Run) -> Event | None:
        return self._last.get(run.route) if "event" in run.triggers else None

    def _hook(self, name: str | None) -> Hook | None:
        return next((hook for hook in self.hooks() if hook.name == name), None)

    def _failed(self, notice: Notice, since: float) -> None:
        life = self._life(notice.route, notice.directory)
        if life.failing_since is None:  # retries, and failures after the first, are silent
            life.failing_since = since
            self._tell(notice)

    def _recovered(self, route: str, directory: str, run: int | None,
                   event: Event | None) -> None:
        life = self._life(route, directory)
        if life.failing_since is None:
            return
        failed_for, life.failing_since = time.time() - life.failing_since, None
        where = f"terraform refresh in {directory}" if directory else "the hook"
        self._tell(Notice("recovered", route, directory, f"{where} recovered after failing "
                          f"for {_duration(failed_for)}", "", run, event))

    def _tell(self, notice: Notice) -> None:
        hook = self._hook(notice.route)
        urls = [*(hook.notify.urls if hook is not None and hook.notify is not None
                  and notice.kind in hook.notify.on else ()),
                *(self.server_urls if notice.kind in DEFAULT_ON else ())]
        if urls:
            self.sender.put(Message(tuple(dict.fromkeys(urls)), _title(notice, self.instance),
                                    lambda: body(notice, self.instance),
                                    _TYPES[notice.kind]))


def _title(notice: Notice, instance: str) -> str:
    return f"tfhook {notice.kind}: route {notice.route} on {instance.split(' ')[0]}"


def body(notice: Notice, instance: str) -> str:
    """The message: what happened, the error, where, which job, and how to see more."""
    detail = notice.detail[-DETAIL_MAX:]
    event = notice.event
    if notice.scrub and event is not None and detail:  # the same scrubbing as the logs
        detail = redact.scrub(detail, redact.request_secrets(event.request_json.get()))
    shown = event.describe() if event is not None else {}
    resource = " ".join(str(shown[key]) for key in ("type", "resource") if shown.get(key))
    lines = [notice.what, *([detail] if detail else []), f"instance: {instance}",
             f"route: {notice.route}" + (f", directory: {notice.directory}"
                                         if notice.directory else ""),
             f"job: {shown.get('job') or '-'}, resource: {resource or '-'}"]
    if notice.run is not None:
        lines.append(f"see more: tfhook history show run-{notice.run}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m" if hours else f"{minute}m{second:02d}s" if minute \
        else f"{second}s"
