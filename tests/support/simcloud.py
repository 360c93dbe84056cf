"""A simulated cloud for the Terraform tests: the `simcloud` provider (examples/simcloud/).

Only the cloud API is simulated: a JSON file the provider reads and writes, which a test
changes behind Terraform's back as the autoscaler changes a real cloud. Terraform (the
embedded engine or the one on PATH), its state and tfhook are real.

The provider runs from its own venv (`make simcloud` makes .venv-simcloud; `make test` does it
first), because its framework (`tf`) pins protobuf below 6. No registry, no `terraform init`:
by default each cloud has a provider process of its own that Terraform reattaches to
(TF_REATTACH_PROVIDERS; TF_CLI_CONFIG_FILE names an empty CLI configuration); with
`reattach=False`, Terraform starts the provider itself on every run through a `dev_overrides`
CLI configuration (TF_CLI_CONFIG_FILE), as it would a real plugin, and warns that overrides
are in effect (a diagnostic in every run: tfhook's DONE shows it). Reattached, an
`apply -refresh-only` took 0.29 s instead of 2.63 s (embedded engine, medians, loaded
machine). A reattached provider is the fixture's child, not Terraform's: a test of what
dies with Terraform (its provider plugins included) wants `reattach=False`.

Interface (kept stable for the Terraform tests):

- `provider_dir() -> Path | None`: the directory holding `terraform-provider-simcloud`
  ($TFHOOK_SIMCLOUD_DIR, else .venv-simcloud/bin), None when it is not installed.
- `main_tf(*, plan=100, elb_ignore=("plan",), servers=2, server_ignore=("core", "memory"))`:
  the module text: `simcloud_server.web[N]` (core 1, memory 2) and `simcloud_elb.main`
  (plan `plan`, servers = the web servers' ids). `elb_ignore=()` pins the plan: the next apply
  would revert an autoscaler's change. `plan=None` leaves the plan to the cloud.
- Fixtures in conftest.py: `simcloud` (the default module, applied: ELB 113300000001 plan
  100, ignored; servers 113300000101 and 113300000102, core and memory ignored) and
  `make_simcloud(main_tf=..., apply=True, name="cloud", reattach=True)`; both stop their
  provider processes at teardown, and skip when the provider is not installed (fail under
  CI=true). `simcloud_cli`: the session's dev_overrides CLI configuration.
- Without fixtures: `SimCloud.create(dir, cli_config, main_tf=..., apply=True, reattach=True)`,
  `SimCloud.at(dir, cli_config, reattach=True)` (an existing directory), then `close()`;
  `write_cli_config(path, provider_dir())`.
- `SimCloud` fields: `dir` (the Terraform directory), `api` (the cloud's JSON file,
  dir/cloud.json), `env` (the environment for `tfhook serve` and Terraform: tf_env() plus
  TF_CLI_CONFIG_FILE, and TF_REATTACH_PROVIDERS when reattached; pass it on as
  `tf_serve(cloud.dir, env=cloud.env)`), `provider` (the reattached process, or None).
- Terraform: `terraform(*args, check=True, engine="embedded")` runs `tfhook terraform -chdir=dir
  ARGS`; `apply()`; `plan_json(*args, engine=...)` -> the `-json` messages of `plan ARGS`.
- The cloud (behind Terraform's back): `get(kind, id)`, `change(kind, id, **fields)`,
  `delete(kind, id)`; kinds are "elb" and "server"; `ELB_ID`, `SERVER_IDS` (the web servers'
  ids; which of them is web[0] depends on the order Terraform created them in: ask
  `id_of("simcloud_server.web[1]")`).
- The state: `state()` (parsed), `state_bytes()`, `attributes(address)` -> the attributes
  the state holds for one resource instance (e.g. "simcloud_elb.main"), None when absent.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.servers import HANG_GUARD, ROOT
from support.terraform import tf_env, tfhook_terraform

sys.path.insert(0, str(ROOT / "examples" / "simcloud"))
from simcloud import api  # the JSON API the provider uses (standard library only)

VENV_BIN = ROOT / ".venv-simcloud" / "bin"
EXECUTABLE = "terraform-provider-simcloud"
SOURCE = "tfhook/simcloud"
ELB_ID = "113300000001"
SERVER_IDS = ("113300000101", "113300000102")


def provider_dir() -> Path | None:
    """Where `terraform-provider-simcloud` is installed; None when it is not."""
    where = Path(os.environ.get("TFHOOK_SIMCLOUD_DIR") or VENV_BIN)
    return where if os.access(where / EXECUTABLE, os.X_OK) else None


def write_cli_config(path: Path, where: Path) -> Path:
    """A Terraform CLI configuration that loads the provider from `where`, no registry."""
    path.write_text(
        "provider_installation {\n  dev_overrides {\n"
        f'    "{SOURCE}" = "{where}"\n  }}\n  direct {{}}\n}}\n', encoding="utf-8")
    return path


def _ignore(names: Sequence[str]) -> str:
    return f"  lifecycle {{\n    ignore_changes = [{', '.join(names)}]\n  }}\n" if names else ""


def main_tf(*, plan: int | None = 100, elb_ignore: Sequence[str] = ("plan",), servers: int = 2,
            server_ignore: Sequence[str] = ("core", "memory")) -> str:
    """The module: `servers` web servers behind `simcloud_elb.main`."""
    plan_line = f"  plan    = {plan}\n" if plan is not None else ""
    return (
        'terraform {\n  required_providers {\n    simcloud = { source = "' + SOURCE + '" }\n'
        "  }\n}\n\n"
        'provider "simcloud" {\n  api = "${abspath(path.module)}/cloud.json"\n}\n\n'
        f'resource "simcloud_server" "web" {{\n  count  = {servers}\n'
        '  name   = "web${count.index}"\n  core   = 1\n  memory = 2\n'
        f"{_ignore(server_ignore)}}}\n\n"
        'resource "simcloud_elb" "main" {\n  name    = "demo-elb"\n' + plan_line +
        f"  servers = simcloud_server.web[*].id\n{_ignore(elb_ignore)}}}\n"
    )


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even by SIGKILL (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Provider:
    """A provider process kept running for one cloud; Terraform reattaches to it.

    Terraform starts a provider three or four times per command (about 0.2 s each here);
    reattached (TF_REATTACH_PROVIDERS), it starts none. One process per cloud, since
    ConfigureProvider names the cloud's file for the whole process.
    """

    def __init__(self, where: Path) -> None:
        self.sock_dir = Path(tempfile.mkdtemp(prefix="simcloud-"))  # short: a socket path
        self.proc = subprocess.Popen(  # is at most 107 bytes
            [str(where / EXECUTABLE), "--reattach", str(self.sock_dir / "provider.sock")],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
        assert self.proc.stdout is not None
        ready = select.select([self.proc.stdout], [], [], HANG_GUARD)[0]
        self.reattach = self.proc.stdout.readline().strip() if ready else ""
        if not self.reattach.startswith("{"):
            self.close()
            raise AssertionError(f"the simcloud provider did not start: {self.reattach!r}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=HANG_GUARD)
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.sock_dir, ignore_errors=True)


@dataclass(frozen=True)
class SimCloud:
    """A Terraform directory on the simulated cloud, and the means to change that cloud."""

    dir: Path
    env: dict[str, str]
    provider: Provider | None = None

    @classmethod
    def at(cls, tf_dir: Path, cli_config: Path, reattach: bool = True) -> SimCloud:
        """An existing directory (a copy of an applied one, say); `close()` it when done.

        `reattach`: Terraform reattaches to a provider process of this cloud's own (fast);
        else Terraform starts the provider itself, through dev_overrides, on every run.
        """
        where = provider_dir()
        if where is None:
            raise AssertionError("the simcloud provider is not installed: run `make simcloud`")
        if not reattach:
            return cls(tf_dir, tf_env(TF_CLI_CONFIG_FILE=str(cli_config)))
        plain = cli_config.with_name("plain.tfrc")  # no dev_overrides: no warning about them
        if not plain.exists():
            plain.write_text("# no settings: this machine's ~/.terraformrc stays out\n")
        provider = Provider(where)
        return cls(tf_dir, tf_env(TF_CLI_CONFIG_FILE=str(plain),
                                  TF_REATTACH_PROVIDERS=provider.reattach), provider)

    @classmethod
    def create(cls, tf_dir: Path, cli_config: Path, main_tf: str = main_tf(),
               apply: bool = True, reattach: bool = True) -> SimCloud:
        """Write `main_tf` into `tf_dir` and, with `apply`, create its objects in the cloud."""
        tf_dir.mkdir(parents=True, exist_ok=True)
        (tf_dir / "main.tf").write_text(main_tf, encoding="utf-8")
        cloud = cls.at(tf_dir, cli_config, reattach)
        if apply:
            try:
                cloud.apply()
            except BaseException:
                cloud.close()
                raise
        return cloud

    def close(self) -> None:
        """Stop this cloud's provider process (if it has one)."""
        if self.provider is not None:
            self.provider.close()

    @property
    def api(self) -> Path:
        return self.dir / "cloud.json"

    # -- Terraform ---------------------------------------------------------------------

    def terraform(self, *args: str, check: bool = True, engine: str = "embedded"
                  ) -> subprocess.CompletedProcess[str]:
        """`tfhook terraform -chdir=DIR ARGS` with `engine` (embedded, or a path)."""
        return tfhook_terraform(f"-chdir={self.dir}", *args, cwd=self.dir.parent, check=check,
                                env={**self.env, "TFHOOK_TERRAFORM": engine})

    def apply(self) -> None:
        self.terraform("apply", "-auto-approve", "-input=false", "-no-color")

    def plan_json(self, *args: str, engine: str = "embedded") -> list[dict[str, Any]]:
        """The `-json` messages of `plan ARGS` (exit code 0 or 2)."""
        done = self.terraform("plan", "-json", "-input=false", *args, check=False, engine=engine)
        if done.returncode not in (0, 2):
            raise AssertionError(f"plan {args} failed:\n{done.stdout}\n{done.stderr}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    # -- the cloud, behind Terraform's back ---------------------------------------------

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        return api.get(self.api, kind, object_id)

    def change(self, kind: str, object_id: str, **fields: Any) -> None:
        """What an autoscaler does: e.g. `change("elb", ELB_ID, plan=400)`."""
        api.put(self.api, kind, object_id, **fields)

    def delete(self, kind: str, object_id: str) -> None:
        """The cloud loses an object (or, with wrong credentials, seems to)."""
        if not api.delete(self.api, kind, object_id):
            raise KeyError(f"the simulated cloud has no {kind} {object_id}")

    # -- the state ---------------------------------------------------------------------

    def state_bytes(self) -> bytes:
        return (self.dir / "terraform.tfstate").read_bytes()

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_bytes())  # type: ignore[no-any-return]

    def id_of(self, address: str) -> str:
        """The cloud id the state holds for `address`."""
        found = self.attributes(address)
        if found is None:
            raise KeyError(f"{address} is not in the state")
        return str(found["id"])

    def attributes(self, address: str) -> dict[str, Any] | None:
        """The state's attributes of one instance (`simcloud_server.web[1]`), None if absent."""
        for resource in self.state().get("resources", []):
            base = f"{resource['type']}.{resource['name']}"
            for instance in resource.get("instances", []):
                key = instance.get("index_key")
                suffix = "" if key is None else f"[{json.dumps(key)}]"
                if base + suffix == address:
                    return instance["attributes"]  # type: ignore[no-any-return]
        return None
