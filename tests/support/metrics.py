"""Scraping a real server's /metrics: turn the exporter on, read every sample."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from support.servers import HANG_GUARD, free_port

Sample = tuple[str, dict[str, str], float]


def exporter(tmp_path: Path) -> tuple[str, int]:
    """A handler config (`--config`) that turns the exporter on; (its path, its port)."""
    port = free_port()
    path = tmp_path / "handler.yaml"
    path.write_text(f'exporter_config: {{enabled: true, address: "127.0.0.1:{port}"}}\n')
    return str(path), port


def samples(port: int) -> list[Sample]:
    """Every sample the exporter shows: (name, labels, value)."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=HANG_GUARD) as response:
        text = response.read().decode()
    found = []
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is not None:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            found.append((match.group(1), labels, float(match.group(3))))
    return found
