"""The documentation agrees with the code: generated pages, the site's links, and every
`tfhook` command the README and the site show."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from session import page_session, scratch
from shell import ROOT, commands, documents
from support.servers import run_tfhook

from tfhook.docs.pages import differing
from tfhook.scaffold import unit

# What a page says an answer or a log shows, checked when its commands run.
SAYS = {
    "tutorial.md": "elb_plan: 100 → 400",  # the answer to its send
    "monitoring.md": 'event="metrics exporter listening" address=http://127.0.0.1:',  # its log
}
# Every kind of command the docs show, each run by some page.
KINDS = ("tfhook serve --tf-dir", "tfhook serve --executable-path", "tfhook serve --routes",
         "tfhook check", "tfhook send", "tfhook history", "tfhook routes check",
         "tfhook terraform -chdir=infra init", "tfhook init")


def test_reference_pages_match_the_code() -> None:
    assert differing(ROOT / "docs") == [], "run `make reference`"


def test_the_site_builds_strict(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed (make docs installs it)")
    built = subprocess.run([str(mkdocs), "build", "--strict", "--quiet", "-d", str(tmp_path / "site")],
                           cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1",
                                                                           "PATH": "/usr/bin:/bin"})
    assert built.returncode == 0, built.stderr


def _synopsis_flags_exist(command: str) -> None:
    """A synopsis (`[--flag X]`) names only flags its command has, as the app declares them."""
    words = [w for w in command.split()[1:] if re.fullmatch(r"[a-z-]+", w)][:2]
    reference = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for word in reversed(range(len(words) + 1)):
        heading = f"## `tfhook {' '.join(words[:word])}`\n"
        if heading in reference:
            break
    shown = reference.split(heading)[1].split("\n## ")[0]
    flags = set(re.findall(r"--[a-z-]+", command))
    assert {flag for flag in flags if flag not in shown} == set(), command


def _run_page(page: Path, cwd: Path) -> None:
    """Run a page's commands in order (session.py says how)."""
    shown = commands(page)
    if not any(command.startswith("tfhook init .") for command in shown):
        # A page that shows a routes file without writing it: the one init writes.
        run_tfhook(["init", ".", "--kind", "terraform", "--tf-dir", "infra"], cwd=cwd)
    with page_session(cwd) as session:
        for command in shown:
            if _synopsis(command):
                _synopsis_flags_exist(command)
                continue
            session.run(command)
        said = SAYS.get(page.name)
        assert said is None or said in "".join(session.outputs) + session.log(), (page, said)


def _synopsis(command: str) -> bool:
    """A synopsis (`[--flag X]`, `a | b`) is checked, not run."""
    return "[" in command or "|" in command


# A test per page: the pages run side by side on the workers, not one after another.
@pytest.mark.parametrize("page", documents(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_tfhook_command_in_the_docs_runs(page: Path, demo_template: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Short paths: sockets in the scratch folder must fit a socket path's 107 bytes.
    cwd = scratch(Path(os.environ["TMPDIR"]) / "p", demo_template, page)
    monkeypatch.setenv("XDG_STATE_HOME", str(cwd / "state"))  # a history per page
    _run_page(page, cwd)


def test_the_docs_run_every_kind_of_command() -> None:
    """Every kind of command is run by some page (the test above runs each that is no
    synopsis)."""
    ran = [command for page in documents() for command in commands(page)
           if not _synopsis(command)]
    assert [kind for kind in KINDS if not any(c.startswith(kind) for c in ran)] == []


def _directives(unit: str) -> list[str]:
    return [line for line in unit.splitlines() if line.strip() and not line.startswith("#")]


def test_the_systemd_page_shows_the_unit_init_writes(tmp_path: Path) -> None:
    """The unit on the systemd page is the one `tfhook init` writes, line for line."""
    page = (ROOT / "docs" / "how-to" / "systemd.md").read_text()
    shown = page.split("```ini\n# tfhook.service\n")[1].split("```")[0]
    (tmp_path / "infra").mkdir()
    made = run_tfhook(["init", ".", "--kind", "terraform", "--tf-dir", "infra",
                       "--tfhook-path", "/usr/local/bin/tfhook"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    written = (tmp_path / "tfhook.service").read_text().replace(str(tmp_path), "/srv/tfhook")
    # tmp_path is under /tmp, which PrivateTmp would hide: the page's /srv/tfhook gets it.
    assert unit.context(["/usr/local/bin/tfhook"], "/srv/tfhook", "/srv/tfhook/infra"
                        )["private_tmp"]
    assert [line for line in _directives(shown) if line != "PrivateTmp=yes"] == _directives(
        written)


def test_the_readme_links_every_how_to_page_and_stays_short() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted(path.name for path in (ROOT / "docs" / "how-to").glob("*.md"))
    assert [name for name in pages if f"(docs/how-to/{name})" not in readme] == []
    assert len(readme.splitlines()) <= 200
