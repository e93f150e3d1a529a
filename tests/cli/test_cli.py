"""The command line end to end, in subprocesses, against a real database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import id_of, png_bytes


def refbin(
    *args: str, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
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
    token = refbin("token", "create", "ci-user", env=cli_env)
    assert token.returncode == 0 and len(token.stdout.strip()) >= 32
    assert refbin("token", "revoke", "ci-user", env=cli_env).returncode == 0
    assert refbin("token", "revoke", "ci-user", env=cli_env).returncode == 1


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
