"""The provider binaries Terraform would run for a directory (#25).

Terraform takes a provider from `dev_overrides` in its CLI configuration (TF_CLI_CONFIG_FILE,
else ~/.terraformrc) when one names it, else from what `terraform init` installed: the lock
file's providers under .terraform/providers/SOURCE/VERSION/OS_ARCH/. The providers a
directory needs are those its lock file lists and those its root module's required_providers
name (a directory that dev_overrides serves is not initialised). Providers of child modules
that only dev_overrides serves are not found: Terraform starts those itself, as without
warm providers.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tfhook.terraform import hclscan

LOCK_FILE = ".terraform.lock.hcl"
_REGISTRY = "registry.terraform.io"
_SOURCE = re.compile(r'\bsource\s*=\s*"([^"]+)"')
_OVERRIDES = re.compile(r"\bdev_overrides\s*\{([^}]*)\}")
_PAIR = re.compile(r'"([^"]+)"\s*=\s*"([^"]+)"')
_COMMENT = re.compile(r"(?m)(#|//).*$")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "i386": "386", "i686": "386", "armv7l": "arm"}


@dataclass(frozen=True, slots=True)
class Binary:
    """One provider: its source address (registry.terraform.io/NS/TYPE) and executable."""

    source: str
    path: Path


def find(where: Path, env: Mapping[str, str]) -> list[Binary]:
    """The providers of `where` Terraform would start, with their executables, by source."""
    overrides = dev_overrides(cli_config(env))
    installed = _locked(where)
    found: list[Binary] = []
    for source in sorted(set(installed) | _required(where)):
        if source in overrides:
            path = _executable(overrides[source], source)
        elif source in installed:
            path = _installed(where, source, installed[source])
        else:
            continue  # built in (terraform.io/builtin/terraform), or not installed yet
        if path is not None:
            found.append(Binary(source, path))
    return found


def normal(source: str) -> str:
    """`tfhook/simcloud` -> `registry.terraform.io/tfhook/simcloud` (Terraform's default host)."""
    parts = source.strip().lower().split("/")
    return "/".join([_REGISTRY, *parts] if len(parts) == 2 else parts)


def cli_config(env: Mapping[str, str]) -> Path | None:
    """The CLI configuration file Terraform reads with `env`."""
    named = env.get("TF_CLI_CONFIG_FILE") or env.get("TERRAFORM_CONFIG")
    if named:
        return Path(named)
    home = env.get("HOME")
    return Path(home, ".terraformrc") if home else None


def dev_overrides(config: Path | None) -> dict[str, Path]:
    """dev_overrides of a CLI configuration (native syntax or JSON): source -> directory."""
    if config is None or not config.is_file():
        return {}
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    if config.suffix == ".json":
        return _json_overrides(text)
    pairs: dict[str, Path] = {}
    for body in _OVERRIDES.findall(_COMMENT.sub("", text)):
        pairs.update((normal(key), Path(value)) for key, value in _PAIR.findall(body))
    return pairs


def _json_overrides(text: str) -> dict[str, Path]:
    try:
        blocks = json.loads(text).get("provider_installation") or []
    except (ValueError, AttributeError):
        return {}
    pairs: dict[str, Path] = {}
    for block in blocks if isinstance(blocks, list) else [blocks]:
        for item in _as_list(block.get("dev_overrides") if isinstance(block, dict) else None):
            pairs.update((normal(k), Path(v)) for k, v in item.items() if isinstance(v, str))
    return pairs


def _as_list(value: object) -> list[dict[str, object]]:
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def lock_text(where: Path) -> bytes | None:
    """The lock file's bytes (None without one): `terraform init` changing it is a restart."""
    try:
        return (where / LOCK_FILE).read_bytes()
    except OSError:
        return None


def _locked(where: Path) -> dict[str, str]:
    """The lock file's providers: source -> version."""
    text = lock_text(where)
    if text is None:
        return {}
    try:
        blocks = hclscan.scan(text.decode("utf-8"), Path(LOCK_FILE)).blocks
    except (hclscan.ScanError, UnicodeDecodeError):
        return {}
    return {normal(b.labels[0]): b.attributes["version"].text.strip('"')
            for b in blocks if b.kind == "provider" and b.labels and "version" in b.attributes}


def _required(where: Path) -> set[str]:
    """The sources the root module's required_providers name."""
    try:
        blocks = hclscan.scan_dir(where)
    except (hclscan.ScanError, OSError, UnicodeDecodeError):
        return set()
    sources: set[str] = set()
    for block in blocks:
        for inner in block.blocks if block.kind == "terraform" else ():
            if inner.kind == "required_providers":
                for attribute in inner.attributes.values():
                    sources.update(normal(s) for s in _SOURCE.findall(attribute.text))
    return sources


def _installed(where: Path, source: str, version: str) -> Path | None:
    machine = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    folder = where / ".terraform" / "providers" / source / version
    return _executable(folder / f"{platform.system().lower()}_{machine}", source)


def _executable(folder: Path, source: str) -> Path | None:
    """terraform-provider-TYPE, or with a version suffix (terraform-provider-TYPE_v1.2.3)."""
    name = "terraform-provider-" + source.rpartition("/")[2]
    candidates = [folder / name, *sorted(folder.glob(f"{name}_*"))]
    return next((p for p in candidates if p.is_file()), None)
