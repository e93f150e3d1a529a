"""The command line end to end, in subprocesses, against a real database."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import id_of, png_bytes


def refbin(
    *args: str, env: dict[str, str], stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
    }


def test_add_info_rm_for_each_kind(cli_env, tmp_path) -> None:
    link = refbin("add", "https://example.com/cli", "--expires", "7d", env=cli_env)
    assert link.returncode == 0, link.stderr
    url, token_line = link.stdout.decode().splitlines()
    assert url.startswith("http://127.0.0.1:8080/")
    assert token_line.startswith("delete token: ")

    info = refbin("info", id_of(url), env=cli_env)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["kind"] == "url"
    assert data["target"] == "https://example.com/cli"
    assert data["expires_at"] is not None
    assert data["views"] == 0

    paste = refbin("add", "-", "--language", "python", env=cli_env, stdin=b"print('x')\n")
    assert paste.returncode == 0, paste.stderr
    paste_info = json.loads(
        refbin("info", id_of(paste.stdout.decode().splitlines()[0]), env=cli_env).stdout
    )
    assert (paste_info["kind"], paste_info["language"], paste_info["line_count"]) == (
        "text",
        "python",
        1,
    )

    image = tmp_path / "pic.png"
    image.write_bytes(png_bytes(40, 30))
    added = refbin("add", str(image), "--private", env=cli_env)
    assert added.returncode == 0, added.stderr
    image_id = id_of(added.stdout.decode().splitlines()[0])
    assert len(image_id) >= 22
    image_info = json.loads(refbin("info", image_id, env=cli_env).stdout)
    assert (image_info["kind"], image_info["width"], image_info["height"]) == ("image", 40, 30)
    assert image_info["size"] == image.stat().st_size

    removed = refbin("rm", image_id, env=cli_env)
    assert removed.returncode == 0, removed.stderr
    gone = refbin("info", image_id, env=cli_env)
    assert gone.returncode == 1
    assert gone.stderr.decode().strip() == "refbin: No such item."


def test_errors_are_one_line_with_status_1_and_usage_2(cli_env, tmp_path) -> None:
    bad_link = refbin("add", "javascript:alert(1)", env=cli_env)
    assert bad_link.returncode == 1
    assert bad_link.stderr.decode().count("\n") == 1
    assert "http and https" in bad_link.stderr.decode()

    missing = refbin("add", str(tmp_path / "nope.txt"), env=cli_env)
    assert missing.returncode == 1
    assert "no such file" in missing.stderr.decode()

    usage = refbin("add", "-", "--expires", "soon", env=cli_env)
    assert usage.returncode == 2

    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = "eighty"\n')
    bad_config = refbin("--config", str(config), "sweep", env=cli_env)
    assert bad_config.returncode == 1
    assert bad_config.stderr.decode().strip() == (
        f"refbin: configuration error: {config}: server.port: expected an integer, got 'eighty'"
    )


def test_sweep_and_migrate_and_tokens(cli_env) -> None:
    sweep = refbin("sweep", env=cli_env)
    assert sweep.returncode == 0, sweep.stderr
    assert set(json.loads(sweep.stdout)) == {"expired", "blobs_removed", "temp_files_removed"}
    assert refbin("migrate", env=cli_env).returncode == 0
    reindex = refbin("reindex", env=cli_env)
    assert reindex.returncode == 0, reindex.stderr
    assert reindex.stdout.decode().startswith("indexed ")
    token = refbin("token", "create", "ci-user", env=cli_env)
    assert token.returncode == 0 and len(token.stdout.strip()) >= 32
    assert refbin("token", "revoke", "ci-user", env=cli_env).returncode == 0
    assert refbin("token", "revoke", "ci-user", env=cli_env).returncode == 1


TOKEN_LINE = re.compile(r"^(\S.*?)\s{2,}(\d{4}-\d\d-\d\d \d\d:\d\d UTC)\s{2,}(.+)$")


def test_a_live_name_is_taken_once_and_free_again_once_revoked(cli_env) -> None:
    assert refbin("token", "create", "alice", env=cli_env).returncode == 0

    again = refbin("token", "create", "alice", env=cli_env)

    assert again.returncode == 1
    assert again.stdout == b""
    assert again.stderr.decode() == (
        "refbin: A token named 'alice' exists; revoke it first or choose another name.\n"
    )
    assert refbin("token", "revoke", "alice", env=cli_env).stdout == b"revoked 1 token(s)\n"
    assert refbin("token", "create", " alice ", env=cli_env).returncode == 0


def test_list_shows_names_and_dates_and_never_a_token(cli_env) -> None:
    empty = refbin("token", "list", env=cli_env)
    assert (empty.returncode, empty.stdout) == (0, b"")
    assert b"no live tokens" in empty.stderr
    made = {
        name: refbin("token", "create", name, env=cli_env).stdout.decode().strip()
        for name in ("bob", "alice", "ci user")
    }
    refbin("token", "revoke", "bob", env=cli_env)

    listed = refbin("token", "list", env=cli_env)

    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.decode().splitlines()
    assert header.split() == ["NAME", "CREATED", "LAST", "USED"]
    rows = [TOKEN_LINE.match(line) for line in lines]
    assert all(rows), lines
    assert [(row[1].strip(), row[3]) for row in rows] == [("alice", "never"), ("ci user", "never")]
    for token in made.values():
        assert token and token not in listed.stdout.decode()


def test_embedded_postgres_starts_and_stops_with_the_command() -> None:
    folder = Path(tempfile.mkdtemp(prefix="refbin-cli-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFBIN_")}
        env["REFBIN_DATABASE_DATA_DIR"] = str(folder / "data")
        added = refbin("add", "https://example.com/embedded", env=env)
        assert added.returncode == 0, added.stderr
        info = refbin("info", id_of(added.stdout.decode().splitlines()[0]), env=env)
        assert json.loads(info.stdout)["target"] == "https://example.com/embedded"
        assert (folder / "data" / "pg" / "PG_VERSION").is_file()
        assert not (folder / "data" / "pg" / "postmaster.pid").exists()  # stopped on exit
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_config_works_before_or_after_the_command(cli_env, tmp_path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 99999\n")
    expected = f"refbin: configuration error: {config}: server.port: must be 1 to 65535, got 99999"
    for args in (
        ("--config", str(config), "sweep"),
        ("sweep", "--config", str(config)),
        ("token", "create", "--config", str(config), "someone"),
        ("storage", "copy", "--to", "s3", "--config", str(config)),
    ):
        ran = refbin(*args, env=cli_env)
        assert (ran.returncode, ran.stderr.decode().strip()) == (1, expected), args


def test_unknown_variables_and_ports_out_of_range_stop_start_up(cli_env) -> None:
    misspelt = refbin("serve", env={**cli_env, "REFBIN_SERVER_PROT": "9000"})
    assert misspelt.returncode == 1
    assert misspelt.stderr.decode() == (
        "refbin: configuration error: environment: unknown variable REFBIN_SERVER_PROT "
        "(did you mean REFBIN_SERVER_PORT?)\n"
    )
    too_far = refbin("serve", env={**cli_env, "REFBIN_SERVER_PORT": "99999"})
    assert too_far.returncode == 1
    assert too_far.stderr.decode() == (
        "refbin: configuration error: environment: REFBIN_SERVER_PORT: "
        "must be 1 to 65535, got 99999\n"
    )
    assert b"serving" not in too_far.stdout


def test_add_refuses_folders_and_options_that_do_not_apply(cli_env, tmp_path) -> None:
    folder = refbin("add", str(tmp_path), env=cli_env)
    assert folder.returncode == 1
    assert folder.stderr.decode() == (
        f"refbin: {tmp_path}: is a folder; add a file, a http(s) link, or - for stdin\n"
    )
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(4, 4))
    for args, message in [
        ((str(photo), "--alias", "pic"), "--alias applies to links only, not to a file"),
        (("-", "--alias", "pic"), "--alias applies to links only, not to a paste"),
        ((str(photo), "--language", "c"), "--language applies to pastes only, not to a file"),
        (
            ("https://example.com/", "--filename", "x"),
            "--filename applies to pastes and files only, not to a link",
        ),
    ]:
        refused = refbin("add", *args, env=cli_env, stdin=b"text")
        assert (refused.returncode, refused.stderr.decode()) == (2, f"refbin add: {message}\n")
    added = refbin("add", str(photo), "--filename", "shown.png", env=cli_env)
    assert added.returncode == 0, added.stderr


def test_the_operator_removing_a_missing_item_hears_only_that_it_is_missing(cli_env) -> None:
    for content_id in ("Abc1234", "not an id"):
        missing = refbin("rm", content_id, env=cli_env)
        assert (missing.returncode, missing.stderr.decode()) == (1, "refbin: No such item.\n")


def test_version_and_help_for_every_argument() -> None:
    from bot.cli.main import build_parser

    version = refbin("--version", env=dict(os.environ))
    assert version.stdout.decode() == f"refbin {importlib.metadata.version('refbin')}\n"

    def parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, choice.dest  # the summary in the command list
                for sub in action.choices.values():
                    yield from parsers(sub)

    seen = 0
    for parser in parsers(build_parser()):
        assert parser.description or parser.prog == "refbin", parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog} {action.dest}"
                seen += 1
        assert any(action.dest == "config" for action in parser._actions), parser.prog
    assert seen > 40
    usage = refbin("add", "--help", env=dict(os.environ)).stdout.decode()
    assert "a http(s) link, a file path, or - for a paste on stdin" in usage
    assert "--config PATH" in usage


def test_a_new_instance_made_without_a_config_is_announced_once() -> None:
    folder = Path(tempfile.mkdtemp(prefix="refbin-cli-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REFBIN_")}
        first = refbin("add", "https://example.com/here", env=env, cwd=folder)
        assert first.returncode == 0, first.stderr
        assert first.stderr.decode() == (
            "refbin: no config.toml here; using a new instance in ./data "
            "(--config PATH for another)\n"
        )
        assert (folder / "data" / "pg" / "PG_VERSION").is_file()
        again = refbin("info", id_of(first.stdout.decode().splitlines()[0]), env=env, cwd=folder)
        assert again.returncode == 0, again.stderr
        assert again.stderr == b""
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_make_run_installs_only_what_running_needs_and_quietly(tmp_path) -> None:
    """`make -n` (print, do not run) against stand-in venvs: which extras each target installs."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]

    def plan(target: str, venv: Path) -> str:
        ran = subprocess.run(
            [make, "-n", "--no-print-directory", "-C", str(root), target, f"VENV={venv}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return ran.stdout

    venv = tmp_path / "venv"
    venv.mkdir()
    fresh_run = plan("run", venv).splitlines()
    assert fresh_run[0] == f'echo "setting up refbin in {venv} (first run only)…"'
    install = [line for line in fresh_run if " install -e " in line]
    assert len(install) == 1 and " -qq " in install[0]
    assert install[0].endswith("install -e '.[fast]'")  # no test or dev extras
    assert fresh_run[-1] == f"{venv}/bin/refbin serve"

    (venv / ".installed-run").touch()  # after `make run`: the tests still need their extras
    after_run = plan("test", venv)
    assert "install -e '.[test,dev,fast]'" in after_run

    (venv / ".installed-test").touch()  # after `make test`: running needs nothing more
    assert " -m pip " not in plan("run", venv)
    assert " -m pip " not in plan("test", venv)


def test_add_refuses_a_paste_with_a_token_unless_allowed(cli_env) -> None:
    token = "ghp_R3kq8ZpV7mX2cL9wT4yN6bH1dF5gJ0sQaE2u"
    text = f"# deploy\nGITHUB_TOKEN={token}\n".encode()

    refused = refbin("add", "-", env=cli_env, stdin=text)

    assert refused.returncode == 1
    assert refused.stdout == b""
    assert refused.stderr.decode() == (
        "refbin: Nothing was stored: this holds a GitHub token on line 2. If it is a live "
        "credential, revoke it now. To store it anyway, add --allow-secrets.\n"
    )
    allowed = refbin("add", "-", "--allow-secrets", env=cli_env, stdin=text)
    assert allowed.returncode == 0, allowed.stderr
    info = json.loads(
        refbin("info", id_of(allowed.stdout.decode().splitlines()[0]), env=cli_env).stdout
    )
    assert info["kind"] == "text"
