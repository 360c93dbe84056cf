"""`tfhook notify test` (#23): a sample to a routes file's URLs or a file of URLs, shown
masked; exit 1 when a URL did not take it."""

from __future__ import annotations

from pathlib import Path

from support.receiver import Receiver
from support.servers import run_tfhook, write_script


def test_notify_test_sends_a_sample_and_says_which_url_failed(tmp_path: Path) -> None:
    good, bad = Receiver(), Receiver(status=500)
    try:
        hook = write_script(tmp_path / "hook.sh", "exit 0\n")
        routes = tmp_path / "tfhook.yaml"
        routes.write_text("routes:\n  - name: web\n    executable: {path: hook.sh}\n"
                          f"    notify: ['{good.url('route')}']\n")
        urls = tmp_path / "urls"
        urls.write_text(f"{bad.url('file')}\n")
        sent = run_tfhook(["notify", "test", "--routes", str(routes)], tmp_path)
        failed = run_tfhook(["notify", "test", "--notify-file", str(urls)], tmp_path)
        none = run_tfhook(["notify", "test"], tmp_path)
    finally:
        good.close()
        bad.close()
    assert hook.exists()
    assert (sent.returncode, sent.stdout) == (
        0, f"json://127.0.0.1:{good.port}/***: sent\n"), sent.stderr
    assert good.messages[0][0] == "/route"
    assert good.messages[0][1]["title"].startswith("tfhook test notification from ")
    assert failed.returncode == 1 and f"json://127.0.0.1:{bad.port}/***: FAILED" in failed.stdout
    assert "/file" not in failed.stdout + failed.stderr  # the path (where tokens are) masked
    assert none.returncode == 2 and "no notification URL" in none.stderr


def test_a_url_given_to_notify_file_is_refused_masked(tmp_path: Path) -> None:
    url = "json://user:Tok3nInArgv@127.0.0.1:8081/Tok3nPath"
    hook = write_script(tmp_path / "hook.sh", "exit 0\n")
    for args in (["serve", "--executable-path", str(hook), "--notify-file", url],
                 ["notify", "test", "--notify-file", url]):
        done = run_tfhook(args, tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        # (serve may name another problem too: a long tmp path makes the default socket's)
        [line] = [line for line in done.stderr.splitlines() if "is a URL" in line]
        assert line.startswith("tfhook: error: ") and line.endswith(
            "json://***@127.0.0.1:8081/*** is a URL, not a file: write the URLs into a file, "
            "one a line (every local user sees a command line)"), line
        assert "Tok3n" not in done.stderr
