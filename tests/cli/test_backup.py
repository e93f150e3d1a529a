"""The maintenance commands end to end, in subprocesses, against a real database:
`refbin check` exits 0 on a healthy instance and 1, naming the blob, on a damaged one."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.local import LocalBlobStore
from tests.helpers import id_of


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
    env = {name: value for name, value in os.environ.items() if not name.startswith("REFBIN_")}
    return env | {
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
    }


def test_check_passes_a_healthy_instance_and_fails_a_corrupted_blob(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    body = b"checked by the command line\n" * 100
    added = refbin("add", "-", env=cli_env, stdin=body)
    assert added.returncode == 0, added.stderr
    healthy = refbin("check", env=cli_env)
    store = LocalBlobStore(tmp_path / "data" / "blobs")
    sha = hashlib.sha256(body).hexdigest()
    store.path_for(sha).write_bytes(body.replace(b"checked", b"CHECKED"))
    damaged = refbin("check", env=cli_env)

    assert healthy.returncode == 0, healthy.stderr
    assert "blobs checked:          1" in healthy.stdout.decode()
    assert "OK: nothing is wrong" in healthy.stdout.decode()
    assert damaged.returncode == 1
    out = damaged.stdout.decode()
    assert "wrong sha256:           1" in out
    assert f"wrong sha256 {sha}" in out and id_of(added.stdout.decode().split()[0]) in out
