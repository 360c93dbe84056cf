"""Generic mode: run an arbitrary hook executable exactly like the reference handler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tfhook import controls
from tfhook.core import gojson
from tfhook.core.hooks import ExecutableAction, Hook
from tfhook.core.model import Action, Event, Phase, Result, Status, Update
from tfhook.errors import ActionFailed
from tfhook.hook import Instruction, name_of
from tfhook.observe import redact
from tfhook.process import spawn as process
from tfhook.runners import RunnerContext

# Linux refuses one argument of MAX_ARG_STRLEN (131072) bytes or more, NUL included.
ARGV_LIMIT = 131071
# What argv[1] holds when the request is too large for it: the usual "read stdin" mark.
STDIN_MARK = "-"
ENV_VALUE_LIMIT = 4096  # characters of a name passed in the environment


def request_argument(request_json: bytes, payload_argv: str = "redacted") -> str:
    """argv[1] for a request: the JSON itself (`full`), the JSON without its secrets
    (`redacted`), or `-` (`none`, or when Linux would refuse the argument).

    Any local user reads a running process's argv (`ps`), so `full` shows passwords and
    SSH keys while the hook runs; standard input always has the whole request.
    """
    # argv cannot hold a NUL (exec refuses it, Go's as ours): such a request goes on stdin
    # only, as one too large does. Go's JSON writes every control character escaped, so
    # only a bug elsewhere could put one there.
    if payload_argv == "none" or len(request_json) > ARGV_LIMIT or b"\0" in request_json:
        return STDIN_MARK
    if payload_argv == "redacted":
        # Go's escapes: with no secret in it, the redacted request is the request byte-exact.
        text = gojson.go_escaped(redact.redact_json(request_json))
        return STDIN_MARK if len(text.encode("utf-8")) > ARGV_LIMIT else text
    return request_json.decode("utf-8")


def hook_environment(event: Event, route: str) -> dict[str, str]:
    """What a hook learns from its environment, on top of what it inherits: the call's
    phase, job, resource and result or instruction (names), and the route it runs for."""
    env = {
        "TFHOOK_PHASE": event.phase.value,
        "TFHOOK_JOB_ID": env_value(event.scaling_job_id),
        "TFHOOK_RESOURCE_NAME": env_value(event.resource_name),
        "TFHOOK_RESOURCE_TYPE": event.resource_type,
        "TFHOOK_ROUTE": route,
    }
    if event.phase is Phase.POST_HANDLE:
        env["TFHOOK_RESULT"] = name_of(_enum(Result, event.result))
    else:
        env["TFHOOK_INSTRUCTION"] = name_of(_enum(Instruction, event.instruction))
    return env


def env_value(text: str) -> str:
    """A request's string as an environment value: cut at ENV_VALUE_LIMIT characters (Linux
    refuses one variable over 128 KiB; stdin has it whole), control characters and DEL
    written as `\\xNN` (a NUL cannot be in the environment at all)."""
    return controls.escape_c0(text[:ENV_VALUE_LIMIT])


def _enum(cls: type[Result] | type[Instruction], code: int) -> int:
    return cls(code) if code in cls._value2member_map_ else code


class ExecutableRunner:
    """Runs one hook's executable with the request as argv[1] and on stdin, no shell."""

    what, shown = "hook", ""  # how a warned failure is named (runners.warn)

    def __init__(self, hook: Hook, context: RunnerContext) -> None:
        assert isinstance(hook.action, ExecutableAction)
        self.hook = hook
        self.action: ExecutableAction = hook.action
        self.settings = context.settings
        self.path = str(hook.action.path)
        # One bound for every executable hook, kept across reloads (--max-concurrency).
        # Terraform runs need none: they are one at a time per directory already.
        self.slots = context.slots

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def warned(self) -> str:
        return ""

    async def run(self, action: Action) -> AsyncIterator[Update]:
        if self.slots.full():
            yield Update(Status.ACCEPTED, self.slots.why_waiting())
        async with self.slots.slot():
            async for update in self._run(action):
                yield update

    async def _run(self, action: Action) -> AsyncIterator[Update]:
        settings = self.settings
        request = await action.event.request_json.get_async()
        argument = request_argument(request, self.action.payload_argv)
        spec = process.Spec(
            argv=[self.path, argument],
            name=self.path,
            stdin=request,
            env={**settings.env, **hook_environment(action.event, self.hook.name)},
            limits=self.hook.limits,
        )
        output = bytearray()
        dropped = 0
        async with process.Child(spec) as child:
            async for chunk in child.chunks():
                room = settings.max_log_bytes - len(output)
                output += chunk[: max(room, 0)]
                dropped += max(len(chunk) - max(room, 0), 0)
            exit_ = await child.wait()
        if exit_.returncode != 0:
            message = f'command "{self.path}" returned non zero status: {exit_.describe()}'
            # The Core logs this message: scrub it as logs and history are scrubbed, before
            # it is cut (a secret cut in two is not recognised).
            secrets = redact.request_secrets(request)
            tail = exit_.stderr_tail(scrub=lambda text: redact.scrub(
                text, secrets, cut=exit_.stderr_cut))
            raise ActionFailed(f"{message}\nstderr:\n{tail}" if tail else message)
        text = output.decode("utf-8", "replace")
        if len(text.encode("utf-8")) > settings.max_log_bytes:
            # Each invalid byte became a 3-byte U+FFFD: cut again, or the answer can pass
            # the Core's 4 MiB message limit.
            keep = _fitting_prefix(bytes(output), settings.max_log_bytes)
            dropped += len(output) - keep
            text = output[:keep].decode("utf-8", "replace")
        if dropped:
            text += f"\n[tfhook: output truncated, {dropped} more bytes dropped]"
        yield Update(Status.DONE, text)


def _fitting_prefix(output: bytes, limit: int) -> int:
    """The longest prefix of output whose repaired UTF-8 text takes at most limit bytes."""
    low, high = 0, len(output)
    while low < high:
        middle = (low + high + 1) // 2
        if len(output[:middle].decode("utf-8", "replace").encode("utf-8")) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
