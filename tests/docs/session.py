"""A page's commands run as a reader would run them, in a scratch folder of their own.

The scratch folder stands for the reader's working directory:
- `infra` is a copy of `examples/terraform/demo`, initialised and applied (a Terraform
  directory the reader already has); `hook.sh` is `examples/hooks/show-request`;
- a ```yaml block whose first line is `# NAME` is the file NAME (`# handler.yaml`), with the
  exporter's `127.0.0.1:9100` moved to a free port (another program may hold 9100);
- an absolute unix socket (`unix:/run/tfhook/tfhook.sock`) becomes the same file name in the
  scratch folder (`unix:tfhook.sock`): /run is the system's;
- each page keeps its history in its own state directory (`$XDG_STATE_HOME`).

A `tfhook serve` line starts a real server in the background (stopping the page's previous
one) and waits until its health check says SERVING; the lines after it (`check`, `send`,
`history`, ...) run against it and must exit 0.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shell import ROOT
from support.servers import HANG_GUARD, Served, free_port, launch, run_tfhook, tfhook_command

HOOK = ROOT / "examples" / "hooks" / "show-request"
DEFAULT_ADDR = "unix:autoscaler-handlers-local-exec.sock"  # serve's, send's and check's
EXPORTER = "127.0.0.1:9100"
_ABS_UNIX = re.compile(r"unix:(?://)?/\S*/([^/\s]+)")
_NAMED_YAML = re.compile(r"^```yaml\n# (\S+)\n(.*?)^```", re.S | re.M)


def local(command: str) -> str:
    """The command as the test runs it: absolute unix sockets moved into the scratch folder."""
    return _ABS_UNIX.sub(r"unix:\1", command)


def named_files(page: Path) -> dict[str, str]:
    """The page's ```yaml blocks that name their file in their first line."""
    return {name: f"# {name}\n{body}" for name, body in _NAMED_YAML.findall(page.read_text())}


def scratch(where: Path, infra: Path, page: Path) -> Path:
    """A fresh folder for one page: `infra`, `hook.sh` and the files the page names."""
    where.mkdir(parents=True)
    shutil.copytree(infra, where / "infra", symlinks=True)
    shutil.copy(HOOK, where / "hook.sh")
    for name, text in named_files(page).items():
        (where / name).write_text(text.replace(EXPORTER, f"127.0.0.1:{free_port()}"))
    return where


def target(argv: list[str], cwd: Path) -> str:
    """What a client in any directory dials to reach `tfhook serve ARGV` started in cwd."""
    addr = argv[argv.index("--addr") + 1] if "--addr" in argv else DEFAULT_ADDR
    if addr.startswith("unix:") and not addr.startswith(("unix:/", "unix-abstract:")):
        return f"unix:{cwd / addr.removeprefix('unix:')}"
    return addr


@dataclass
class Page:
    """One page's commands, in order, against the server its last `serve` line started."""

    cwd: Path
    server: Served | None = None
    outputs: list[str] = field(default_factory=list)

    def run(self, command: str) -> None:
        words = shlex.split(local(command))
        if words[0] == "python3":  # the demo's own script, with the tests' Python
            subprocess.run([sys.executable, *words[1:]], cwd=self.cwd, check=True,
                           capture_output=True, timeout=HANG_GUARD)
            return
        argv = words[1:]
        if argv[0] == "serve":
            self.stop()
            self.server = launch(Served, tfhook_command(*argv), cwd=self.cwd,
                                 target=target(argv, self.cwd), env=None, timeout=HANG_GUARD)
            return
        result = run_tfhook(argv, cwd=self.cwd)
        assert result.returncode == 0, (command, result.stdout, result.stderr, self.log())
        self.outputs.append(result.stdout)

    def log(self) -> str:
        return self.server.log() if self.server else ""

    def stop(self) -> None:
        if self.server:
            self.server.close()
            self.server = None


@contextlib.contextmanager
def page_session(cwd: Path) -> Iterator[Page]:
    """A page's session; its server is stopped at the end, whatever happened."""
    page = Page(cwd)
    try:
        yield page
    finally:
        page.stop()
