"""Configuration: defaults, then the file, then the environment; one clear line per mistake."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

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
        ("[server]\nport = -1\n", {}, "server.port: must not be negative"),
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
