"""Fixtures: a private $HOME, golden vectors, real `tfhook serve` processes, and the
Terraform demo module with its servers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import simcloud as simcloud_helpers
from support import terraform as terraform_helpers
from support.pg import Postgres, why_not
from support.servers import Served, load_vectors, start_server
from support.terraform import SlowCloud, TfServer, copy_demo, elb_plan, init_and_apply


def pytest_addoption(parser: pytest.Parser) -> None:
    # `make test` runs the generic-mode tests a second time on asyncio's own loop (#25).
    parser.addoption("--event-loop", choices=("auto", "asyncio", "uvloop"), default=None,
                     help="the --event-loop of the servers the serve fixture starts")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `slow` first (in their order, the rest after in theirs): each waits
    for seconds (a heartbeat, an outage, a timeout), and started first, their waits overlap the
    others' work on the other workers instead of ending the run on one worker alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def dont_write_to_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                 ) -> Iterator[None]:
    """Point $HOME and $TMPDIR at temp dirs (as pre-commit's conftest does for $HOME);
    subprocesses inherit them."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    # tfhook reads TFHOOK_* settings (a history URL, notification URLs...), and hooks list
    # theirs: none of the developer's or the Makefile's (TFHOOK_TOOLS) reaches a test.
    for name in [name for name in os.environ if name.startswith("TFHOOK_")]:
        monkeypatch.delenv(name)
    # Each test's servers keep their plan files in a $TMPDIR of their own: a server sweeps the
    # plan directories killed tfhooks left, and must not sweep (and log) another test's. It is
    # short, under /tmp: sockets made in it (the demo's, a provider's plugin socket) must fit
    # the 107 bytes a socket path may have.
    tmp = Path(tempfile.mkdtemp(prefix="tfh-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(tmp))
    yield
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def vectors() -> list[dict[str, Any]]:
    return load_vectors()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The --state-dir of a test's servers (history.sqlite3 goes there)."""
    return tmp_path / "state"


@pytest.fixture
def serve(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Served]]:
    """Start `tfhook serve` subprocesses; each is stopped (SIGTERM) at teardown.

    Call as `serve("--executable-path", str(hook), addr=..., target=..., cwd=...)`;
    addr defaults to a unix socket in tmp_path.
    """
    started: list[Served] = []
    loop = request.config.getoption("--event-loop")

    def _serve(
        *args: str,
        addr: str | None = None,
        target: str | None = None,
        cwd: Path = tmp_path,
        env: dict[str, str] | None = None,
    ) -> Served:
        if addr is None:
            addr = f"unix:{tmp_path / f's{len(started)}.sock'}"
        if loop is not None:
            args = (*args, "--event-loop", loop)
        served = start_server(args, cwd=cwd, addr=addr, target=target, env=env)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.close()


# -- Terraform mode ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo module, initialised and applied once (its import done); copied per test."""
    tf_dir = copy_demo(tmp_path_factory.mktemp("template") / "demo")
    init_and_apply(tf_dir)
    return tf_dir


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the applied demo module; the ELB plan starts at 100."""
    tf_dir = tmp_path / "demo"
    shutil.copytree(demo_template, tf_dir, symlinks=True)
    assert elb_plan(tf_dir) == 100
    return tf_dir


@pytest.fixture
def cloud() -> Iterator[SlowCloud]:
    slow = SlowCloud()
    yield slow
    slow.close()


@pytest.fixture
def tf_serve(tmp_path: Path) -> Iterator[Callable[..., TfServer]]:
    """Start Terraform-mode servers, `tf_serve(tf_dir, *args, engine=..., env=...)` (cwd
    tmp_path); each is stopped (SIGTERM) at teardown."""
    started: list[TfServer] = []

    def _serve(tf_dir: Path, *args: str, **kwargs: Any) -> TfServer:
        server = terraform_helpers.start_server(tf_dir, tmp_path, *args, **kwargs)
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.close()


# -- the simulated cloud (tests/support/simcloud.py says what it is) ------------------------


@pytest.fixture(scope="session")
def simcloud_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Terraform CLI configuration that loads the simcloud provider (dev_overrides)."""
    where = simcloud_helpers.provider_dir()
    if where is None:
        message = "the simcloud provider is not installed: run `make simcloud`"
        if os.environ.get("CI"):
            pytest.fail(message)  # `make test` installs it: under CI its absence is a defect
        pytest.skip(message)
    return simcloud_helpers.write_cli_config(tmp_path_factory.mktemp("simcloud") / "cli.tfrc",
                                             where)


@pytest.fixture(scope="session")
def simcloud_template(simcloud_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default simcloud module, applied once; copied per test."""
    tf_dir = tmp_path_factory.mktemp("simcloud-template") / "cloud"
    simcloud_helpers.SimCloud.create(tf_dir, simcloud_cli).close()
    return tf_dir


@pytest.fixture
def simcloud(simcloud_template: Path, simcloud_cli: Path, tmp_path: Path
             ) -> Iterator[simcloud_helpers.SimCloud]:
    """A private, applied copy of the default module: ELB plan 100 (ignored), two servers."""
    tf_dir = tmp_path / "cloud"
    shutil.copytree(simcloud_template, tf_dir)
    cloud = simcloud_helpers.SimCloud.at(tf_dir, simcloud_cli)
    yield cloud
    cloud.close()


@pytest.fixture
def make_simcloud(simcloud_cli: Path, tmp_path: Path
                  ) -> Iterator[Callable[..., simcloud_helpers.SimCloud]]:
    """`make_simcloud(main_tf=..., apply=True, name="cloud", reattach=True)`: a module of
    one's own; its provider process is stopped at teardown."""
    made: list[simcloud_helpers.SimCloud] = []

    def _make(main_tf: str = simcloud_helpers.main_tf(), apply: bool = True,
              name: str = "cloud", reattach: bool = True) -> simcloud_helpers.SimCloud:
        cloud = simcloud_helpers.SimCloud.create(tmp_path / name, simcloud_cli, main_tf, apply,
                                                 reattach)
        made.append(cloud)
        return cloud

    yield _make
    for cloud in made:
        cloud.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL for a test module (skipped, with the reason, when none can run)."""
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    server = Postgres.start()
    yield server
    server.stop()
