"""Configuration: defaults, then the file, then the environment; one clear line per mistake."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from storage.s3_settings import S3Settings

ROOT = Path(__file__).resolve().parents[2]


def leaf_keys(cls: type, prefix: str = "") -> set[str]:
    keys = set()
    for spec in dataclasses.fields(cls):
        if spec.name == "source":
            continue
        if dataclasses.is_dataclass(spec.default):
            keys |= leaf_keys(type(spec.default), f"{prefix}{spec.name}.")
        else:
            keys.add(f"{prefix}{spec.name}")
    return keys


def test_example_lists_every_key_with_its_default(tmp_path: Path) -> None:
    text = (ROOT / "config.example.toml").read_text()
    uncommented = "\n".join(re.sub(r"^# ([a-z_]+ = )", r"\1", line) for line in text.splitlines())
    path = tmp_path / "full.toml"
    path.write_text(uncommented)
    from_example = load_settings(path, environ={})
    defaults = load_settings(None, environ={})
    assert dataclasses.replace(from_example, source="") == dataclasses.replace(defaults, source="")
    section = ""
    shown = set()
    for line in uncommented.splitlines():
        if line.startswith("["):
            section = line.strip("[]") + "."
        elif match := re.match(r"^([a-z_]+) = ", line):
            shown.add(f"{section if section else ''}{match.group(1)}")
    assert shown == leaf_keys(Settings)


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9000\n[limits]\nupload = "5MiB"\ndefault_expiry = "7d"\n')
    settings = load_settings(
        path,
        environ={
            "REFBIN_SERVER_PORT": "9100",
            "REFBIN_STORAGE_S3_BUCKET": "bin",
            "REFBIN_DISCORD_DEV_GUILD": "42",
            "REFBIN_LIMITS_BLOCKED_DOMAINS": "Evil.example, bad.example",
            "REFBIN_SERVER_ANONYMOUS_UPLOADS": "false",
        },
    )
    assert settings.server.port == 9100
    assert settings.limits.upload == 5 * 1024 * 1024
    assert settings.limits.default_expiry == timedelta(days=7)
    assert settings.storage.s3.bucket == "bin"
    assert settings.discord.dev_guild == 42
    assert settings.limits.blocked_domains == ("evil.example", "bad.example")
    assert settings.server.anonymous_uploads is False
    assert settings.server.base_url == "http://127.0.0.1:9100"


@pytest.mark.parametrize(
    ("toml", "environ", "message"),
    [
        ("[server]\nprot = 1\n", {}, "unknown key 'server.prot'"),
        ("[nosuch]\n", {}, "unknown key 'nosuch'"),
        ('[server]\nport = "80"\n', {}, "server.port: expected an integer"),
        ("[limits]\nrate_create = -1\n", {}, "limits.rate_create: must not be negative"),
        ('[server]\npublic_url = "ftp://x"\n', {}, "server.public_url: expected an http(s) URL"),
        ('[storage]\nbackend = "floppy"\n', {}, "storage.backend: expected one of local, s3"),
        ('[limits]\nupload = "lots"\n', {}, "limits.upload: not a size"),
        ('[limits]\ndefault_expiry = "7x"\n', {}, "limits.default_expiry: not a duration"),
        ('[server]\ntrusted_proxies = ["nope"]\n', {}, "server.trusted_proxies"),
        ("[server\n", {}, "not valid TOML"),
        ("", {"REFBIN_SERVER_PORT": "x"}, "environment: REFBIN_SERVER_PORT: expected an integer"),
        ("", {"REFBIN_SERVER_ANONYMOUS_UPLOADS": "maybe"}, "expected true or false"),
    ],
)
def test_mistakes_name_the_source_and_key(tmp_path: Path, toml, environ, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    if not environ:
        assert text.startswith(str(path))


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_an_unknown_refbin_variable_stops_start_up_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={"REFBIN_SERVER_PROT": "9000"})
    assert str(caught.value) == (
        "environment: unknown variable REFBIN_SERVER_PROT (did you mean REFBIN_SERVER_PORT?)"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(None, environ={"REFBIN_PORT": "1", "REFBIN_STORAGE_S3_BUKET": "b"})
    assert str(caught.value) == (
        "environment: unknown variables REFBIN_PORT, REFBIN_STORAGE_S3_BUKET"
    )


def test_variables_refbin_reads_that_are_not_settings_are_allowed() -> None:
    settings = load_settings(
        None,
        environ={
            "REFBIN_CONFIG": "elsewhere.toml",  # the CLI's, read before load_settings
            "REFBIN_LOG_LEVEL": "DEBUG",
            "REFBIN_FAILPOINTS": "upload.renamed",
            "REFBIN_TOKEN": "an API client's token (docs/api.md)",
            "REFBIN": "http://127.0.0.1:8080",  # docs/api.md's base URL: not REFBIN_*
            "PATH": "/usr/bin",
        },
    )
    assert settings.server.port == 8080


@pytest.mark.parametrize(
    ("toml", "environ", "message"),
    [
        ("[server]\nport = 99999\n", {}, "server.port: must be 1 to 65535, got 99999"),
        ("[server]\nport = 0\n", {}, "server.port: must be 1 to 65535, got 0"),
        ("[server]\nport = -1\n", {}, "server.port: must be 1 to 65535, got -1"),
        ("", {"REFBIN_SERVER_PORT": "99999"}, "REFBIN_SERVER_PORT: must be 1 to 65535"),
        ('[server]\npublic_url = "http://bin.example:99999"\n', {}, "Port out of range"),
        ("[server]\nread_timeout = 0\n", {}, "server.read_timeout: must be 1 to"),
        ("[server]\nheader_timeout = 0\n", {}, "server.header_timeout: must be 1 to"),
        ("[database]\npool_max = 0\n", {}, "database.pool_max: must be 1 to"),
        (
            "[database]\npool_min = 5\n",
            {"REFBIN_DATABASE_POOL_MAX": "2"},
            "+ environment: database.pool_min (5) must not exceed database.pool_max (2)",
        ),
        ("", {"REFBIN_DISCORD_DEV_GUILD": str(2**63)}, "REFBIN_DISCORD_DEV_GUILD: must be 0 to"),
        ('[limits]\nupload = "99999999999TiB"\n', {}, "limits.upload: size too large"),
        ("", {"REFBIN_LIMITS_QUOTA": "9" * 400}, "REFBIN_LIMITS_QUOTA: size too large"),
        (
            '[limits]\nmax_expiry = "99999999999999999d"\n',
            {},
            "limits.max_expiry: duration too long",
        ),
    ],
)
def test_numbers_outside_what_refbin_can_honour_are_refused(
    tmp_path: Path, toml, environ, message
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_s3_section_is_the_stores_own_settings(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[storage]\nbackend = "s3"\n'
        '[storage.s3]\nendpoint_url = ""\npart_size = "8MiB"\npresign_seconds = 60\n'
    )
    settings = load_settings(
        path,
        environ={
            "REFBIN_STORAGE_S3_BUCKET": "bin",  # the file's backend needs the environment's bucket
            "REFBIN_STORAGE_S3_ACCESS_KEY_ID": "AKIA",
            "REFBIN_STORAGE_S3_SECRET_ACCESS_KEY": "hunter2",
        },
    )
    assert type(settings.storage.s3) is S3Settings  # what open_store hands the store, as is
    assert settings.storage.s3 == S3Settings(
        bucket="bin",
        endpoint_url=None,  # "" in a file: none, botocore's default endpoint
        access_key_id="AKIA",
        secret_access_key="hunter2",
        part_size=8 * 1024 * 1024,
        presign_seconds=60,
    )
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("toml", "environ", "message"),
    [
        ('[storage]\nbackend = "s3"\n', {}, "storage.s3.bucket must be set"),
        ("", {"REFBIN_STORAGE_BACKEND": "s3"}, "environment: storage.backend is s3, so"),
        ('[storage.s3]\npart_size = "1MiB"\n', {}, "storage.s3.part_size must be 5 MiB"),
        ("", {"REFBIN_STORAGE_S3_ACCESS_KEY_ID": "AKIA"}, "secret_access_key, or neither"),
        ("[storage.s3]\npresign_seconds = 0\n", {}, "storage.s3.presign_seconds must be 1"),
    ],
)
def test_s3_mistakes_are_one_line(tmp_path: Path, toml, environ, message) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
