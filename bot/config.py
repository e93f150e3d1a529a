"""Settings: defaults, then the TOML file, then REFBIN_<SECTION>_<KEY> environment variables.

Loaded by `load_settings` and passed down; never read at import time.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.units import parse_duration, parse_size

ENV_PREFIX = "REFBIN"


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the source, the key and the fault."""


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("expected a size such as 100MiB or a number of bytes")
    return parse_size(value)


def _duration(value: object) -> timedelta | None:
    if value in ("", "never", None):
        return None
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30m, 1h, 7d")
    return parse_duration(value)


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a URL string")
    if value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL with a host, got {value!r}")
    return value.rstrip("/")


def _networks(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of addresses or networks")
    for item in value:
        ipaddress.ip_network(item, strict=False)
    return tuple(value)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(v.strip().lower() for v in value)


def _parse(parser: Callable[[object], object]) -> dict[str, Any]:
    return {"parse": parser}


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = field(default="", metadata=_parse(_url))  # default: http://host:port
    content_url: str = field(default="", metadata=_parse(_url))  # a separate origin for raw bytes
    trusted_proxies: tuple[str, ...] = field(default=(), metadata=_parse(_networks))
    anonymous_uploads: bool = True
    read_timeout: int = 30  # seconds an upload may stall before it is dropped with 408

    @property
    def base_url(self) -> str:
        """The public URL short links start with."""
        return self.public_url or f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # empty: the embedded PostgreSQL under data_dir/pg
    read_url: str = ""  # optional read replica for read-only queries
    data_dir: Path = Path("data")
    pool_min: int = 1
    pool_max: int = 10


@dataclass(frozen=True)
class S3Config:
    bucket: str = ""
    region: str = "us-east-1"
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    path_style: bool = False
    prefix: str = "blobs/"
    part_size: int = field(default=16 * 1024 * 1024, metadata=_parse(_size))
    redirect_downloads: bool = False
    presign_seconds: int = 3600


@dataclass(frozen=True)
class StorageSettings:
    backend: str = field(default="local", metadata={"choices": ("local", "s3")})
    path: Path = Path("")  # default: <data_dir>/blobs
    s3: S3Config = S3Config()


@dataclass(frozen=True)
class DiscordSettings:
    token: str = ""
    dev_guild: int = 0
    reminders: bool = True
    auto_paste: bool = False  # needs the privileged Message Content intent
    shard_count: int = 0  # 0: one gateway connection; N: AutoShardedBot with N shards


@dataclass(frozen=True)
class LimitSettings:
    upload: int = field(default=100 * 1024 * 1024, metadata=_parse(_size))
    paste: int = field(default=1024 * 1024, metadata=_parse(_size))
    default_expiry: timedelta | None = field(default=None, metadata=_parse(_duration))
    max_expiry: timedelta | None = field(default=None, metadata=_parse(_duration))
    quota: int = field(default=0, metadata=_parse(_size))  # bytes per owner; 0: no quota
    rate_create: int = 60  # per minute, per client; 0: no limit
    rate_read: int = 0
    rate_delete: int = 30
    blocked_domains: tuple[str, ...] = field(default=(), metadata=_parse(_strings))


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    discord: DiscordSettings = DiscordSettings()
    limits: LimitSettings = LimitSettings()
    secret: str = ""  # keys content ids; empty: made on first start and kept in the database
    source: str = "defaults"

    @property
    def blob_path(self) -> Path:
        """Where the local blob store keeps its files."""
        return (
            self.storage.path
            if str(self.storage.path) not in ("", ".")
            else self.data_dir / "blobs"
        )

    @property
    def data_dir(self) -> Path:
        return self.database.data_dir


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file at `path` (if given), then REFBIN_* variables."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = _build(Settings, data, source, prefix="")
    settings = _apply_environment(settings, environ)
    return dataclasses.replace(settings, source=source)


def _build(cls: type, data: Mapping[str, Any], source: str, prefix: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{source}: unknown key {name!r}")
        values[key] = _convert(known[key], raw, source, name)
    return cls(**values)


def _convert(spec: dataclasses.Field[Any], raw: Any, source: str, name: str) -> Any:
    hint = _hint(spec)
    try:
        if dataclasses.is_dataclass(hint):
            if not isinstance(raw, dict):
                raise ValueError("expected a table")
            return _build(hint, raw, source, prefix=f"{name}.")
        if "parse" in spec.metadata:
            return spec.metadata["parse"](raw)
        value = _coerce(hint, raw)
        choices = spec.metadata.get("choices")
        if choices and value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: {name}: {exc}") from None


def _hint(spec: dataclasses.Field[Any]) -> Any:
    owner_hints = typing.get_type_hints(_FIELD_OWNERS[id(spec)])
    return owner_hints[spec.name]


def _coerce(hint: Any, raw: Any) -> Any:
    if hint is bool:
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, got {raw!r}")
        if raw < 0:
            raise ValueError(f"must not be negative, got {raw}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {raw!r}")
        return raw
    if hint is Path:
        if not isinstance(raw, str):
            raise ValueError(f"expected a path string, got {raw!r}")
        return Path(raw).expanduser()
    if isinstance(hint, types.UnionType):
        raise TypeError(f"no parser for {hint}")
    raise TypeError(f"unsupported setting type {hint}")


def _apply_environment(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """Override settings from REFBIN_SECTION_KEY (and REFBIN_STORAGE_S3_KEY) variables."""
    overrides: dict[str, Any] = {}
    for env_name, (path, spec) in _ENV_NAMES.items():
        if env_name not in environ:
            continue
        raw_text = environ[env_name]
        hint = _hint(spec)
        raw: Any = raw_text
        if hint is bool:
            lowered = raw_text.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ConfigError(f"environment: {env_name}: expected true or false")
            raw = lowered in ("1", "true", "yes", "on")
        elif hint is int and "parse" not in spec.metadata:
            try:
                raw = int(raw_text)
            except ValueError:
                raise ConfigError(f"environment: {env_name}: expected an integer") from None
        elif hint == tuple[str, ...]:
            raw = [item.strip() for item in raw_text.split(",") if item.strip()]
        overrides[path] = _convert(spec, raw, "environment", env_name)
    for path, value in overrides.items():
        settings = _replace_path(settings, path.split("."), value)
    return settings


def _replace_path(obj: Any, path: list[str], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    child = getattr(obj, path[0])
    return dataclasses.replace(obj, **{path[0]: _replace_path(child, path[1:], value)})


def _index(cls: type, path: str, env: str) -> None:
    for spec in dataclasses.fields(cls):
        if spec.name == "source":
            continue
        _FIELD_OWNERS[id(spec)] = cls
        hint = typing.get_type_hints(cls)[spec.name]
        dotted = f"{path}{spec.name}"
        env_name = f"{env}_{spec.name.upper()}"
        if dataclasses.is_dataclass(hint):
            _index(hint, f"{dotted}.", env_name)
        else:
            _ENV_NAMES[env_name] = (dotted, spec)


_FIELD_OWNERS: dict[int, type] = {}
_ENV_NAMES: dict[str, tuple[str, dataclasses.Field[Any]]] = {}
_index(Settings, "", ENV_PREFIX)
