"""Generic mode: run an arbitrary hook executable exactly like the reference handler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tfhook import process
from tfhook.config import Settings
from tfhook.errors import ActionFailed
from tfhook.hooks import ExecutableAction, Hook
from tfhook.model import Action, Status, Update
from tfhook.runners import Background

# Linux refuses one argument of MAX_ARG_STRLEN (131072) bytes or more, NUL included.
ARGV_LIMIT = 131071
# What argv[1] holds when the request is too large for it: the usual "read stdin" mark.
STDIN_MARK = "-"


def request_argument(request_json: bytes) -> str:
    """argv[1] for a request: the JSON itself, or `-` when Linux would refuse it."""
    if len(request_json) > ARGV_LIMIT:
        return STDIN_MARK
    return request_json.decode("utf-8")


class ExecutableRunner:
    """Runs one hook's executable with the request as argv[1] and on stdin, no shell."""

    def __init__(self, hook: Hook, settings: Settings) -> None:
        assert isinstance(hook.action, ExecutableAction)
        self.hook = hook
        self.settings = settings
        self.path = str(hook.action.path)

    async def start(self, background: Background) -> None:
        return None

    async def close(self) -> None:
        return None

    async def run(self, action: Action) -> AsyncIterator[Update]:
        settings = self.settings
        request = await action.event.request_json.get_async()
        spec = process.Spec(
            argv=[self.path, request_argument(request)],
            name=self.path,
            stdin=request,
            env=settings.env,
            timeout=self.hook.timeout,
            kill_after=self.hook.kill_after,
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
            tail = exit_.stderr_tail()
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
