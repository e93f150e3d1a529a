"""Settings: defaults, then the TOML file, then REFBIN_<SECTION>_<KEY> environment variables.

Loaded by `load_settings` and passed down; never read at import time.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.units import parse_duration, parse_size
from storage.s3_settings import S3Settings

ENV_PREFIX = "REFBIN"
# REFBIN_* variables that are not settings, yet not mistakes either: refbin reads the first
# three itself (the config file's path, the log level, the failpoints of the crash tests), and
# docs/api.md has API clients export REFBIN_TOKEN in the same shell. Any other unknown REFBIN_*
# variable stops start-up, as an unknown key in the file does.
PROCESS_VARIABLES = frozenset(
    {"REFBIN_CONFIG", "REFBIN_LOG_LEVEL", "REFBIN_FAILPOINTS", "REFBIN_TOKEN"}
)
MAX_BIGINT = 2**63 - 1


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
    parts.port  # noqa: B018 - reading it refuses a port past 65535 (ValueError)
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


def _snowflakes(what: str) -> Callable[[object], tuple[int, ...]]:
    """A parser of a list of Discord ids (`what`: "user", "server")."""

    def parse(value: object) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list of Discord {what} ids")
        ids = []
        for item in value:
            text = "" if isinstance(item, bool) else str(item).strip()
            if not text.isdigit() or not 0 < int(text) <= MAX_BIGINT:
                raise ValueError(f"expected Discord {what} ids (numbers), got {item!r}")
            ids.append(int(text))
        return tuple(ids)

    return parse


_discord_ids = _snowflakes("user")


def _client_id(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("expected the application's id (a number)")
    text = str(value).strip()
    if text and not (text.isdigit() and int(text) <= MAX_BIGINT):
        raise ValueError(f"expected the application's id (a number), got {value!r}")
    return text


def _session_idle(value: object) -> timedelta:
    idle = _duration(value)
    # A session that never lapses, or lapses before a page is read, is not one anyone wants.
    if idle is None or idle < timedelta(minutes=5):
        raise ValueError("expected a duration of at least 5m, such as 30d")
    return idle


def _parse(parser: Callable[[object], object]) -> dict[str, Any]:
    return {"parse": parser}


def _bounds(low: int, high: int = MAX_BIGINT) -> dict[str, Any]:
    """An integer setting's range (the default is 0 to PostgreSQL's bigint)."""
    return {"min": low, "max": high}


# Fields of classes that live below bot/ (storage's S3Settings) name their unit in metadata.
_UNIT_PARSERS: dict[str, Callable[[object], object]] = {"size": _size, "duration": _duration}


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    # Port 0 would listen wherever the system chose, while short links said :0.
    port: int = field(default=8080, metadata=_bounds(1, 65535))
    public_url: str = field(default="", metadata=_parse(_url))  # default: http://host:port
    content_url: str = field(default="", metadata=_parse(_url))  # a separate origin for raw bytes
    trusted_proxies: tuple[str, ...] = field(default=(), metadata=_parse(_networks))
    anonymous_uploads: bool = True
    # Seconds an upload may stall before it is dropped with 408; 0 would refuse every form.
    read_timeout: int = field(default=30, metadata=_bounds(1))
    # Bytes a second an upload must average once its first read_timeout seconds are spent, so
    # a trickle of a byte every few seconds is not held for ever; 0: only read_timeout applies.
    min_upload_rate: int = field(default=1024, metadata=_parse(_size))
    # Discord user ids of the operators: they see /admin once signed in.
    admins: tuple[int, ...] = field(default=(), metadata=_parse(_discord_ids))
    # A web session ends after this long unused (every use renews it).
    session_idle: timedelta = field(default=timedelta(days=30), metadata=_parse(_session_idle))
    # Seconds a request's line and headers may take to arrive in full (slow loris), counted from
    # the connection for its first request and from the first byte for each later one.
    header_timeout: int = field(default=20, metadata=_bounds(1))

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
    pool_max: int = field(default=10, metadata=_bounds(1))

    def __post_init__(self) -> None:
        if self.pool_min > self.pool_max:
            raise ValueError(
                f"database.pool_min ({self.pool_min}) must not exceed "
                f"database.pool_max ({self.pool_max})"
            )


@dataclass(frozen=True)
class StorageSettings:
    backend: str = field(default="local", metadata={"choices": ("local", "s3")})
    path: Path = Path("")  # default: <data_dir>/blobs
    s3: S3Settings = S3Settings()

    def __post_init__(self) -> None:
        if self.backend == "s3" and not self.s3.bucket:
            raise ValueError("storage.backend is s3, so storage.s3.bucket must be set")


@dataclass(frozen=True)
class DiscordSettings:
    token: str = ""
    dev_guild: int = 0  # a Discord id: at most PostgreSQL's bigint, like every size
    reminders: bool = True
    auto_paste: bool = False  # needs the privileged Message Content intent
    shard_count: int = 0  # 0: one gateway connection; N: AutoShardedBot with N shards
    # Sign-in with Discord (OAuth2): the application's id and secret; no id, no sign-in.
    client_id: str = field(default="", metadata=_parse(_client_id))
    client_secret: str = ""
    # Where the authorize page and the token and user calls go (a stand-in, in tests).
    oauth_url: str = field(default="https://discord.com", metadata=_parse(_url))
    # Servers the bot may be in; it leaves any other. Empty: every server that invites it.
    allowed_guilds: tuple[int, ...] = field(default=(), metadata=_parse(_snowflakes("server")))
    dms: bool = False  # whether slash commands work in direct messages with the bot

    def __post_init__(self) -> None:
        if self.client_id and not self.oauth_url:
            raise ValueError("discord.client_id is set, so discord.oauth_url must not be empty")

    @property
    def signin(self) -> bool:
        """Whether people can sign in with Discord on the web."""
        return bool(self.client_id)

    def allows_guild(self, guild_id: int) -> bool:
        """Whether the bot may stay in, and answer in, this server."""
        return not self.allowed_guilds or guild_id in self.allowed_guilds


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
        except IsADirectoryError:
            raise ConfigError(f"{path}: is a folder, not a TOML file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    values = _file_values(data, source, ())
    from_environment = _environment_values(environ)
    values.update(from_environment)
    # Checks between keys (a pool's bounds, the s3 backend's bucket) see the file and the
    # environment together, so they run once, after both.
    try:
        settings = _assemble(Settings, values, ())
    except (ValueError, TypeError) as exc:
        origins = [source] if path is not None else []
        origins += ["environment"] if from_environment else []
        raise ConfigError(f"{' + '.join(origins) or source}: {exc}") from None
    return dataclasses.replace(settings, source=source)


Key = tuple[str, ...]


@dataclass(frozen=True)
class _Setting:
    """One leaf setting: where it sits, its type, and the field that declares its rules."""

    key: Key
    hint: Any
    spec: dataclasses.Field[Any]

    @property
    def dotted(self) -> str:
        return ".".join(self.key)

    @property
    def env_name(self) -> str:
        return "_".join((ENV_PREFIX, *self.key)).upper()


def _file_values(data: Mapping[str, Any], source: str, prefix: Key) -> dict[Key, Any]:
    """The converted leaf values a TOML table gives, by key; unknown keys are refused."""
    values: dict[Key, Any] = {}
    for name, raw in data.items():
        key = (*prefix, name)
        dotted = ".".join(key)
        if key not in _SETTINGS and key not in _TABLES:
            raise ConfigError(f"{source}: unknown key {dotted!r}")
        if key in _TABLES:
            if not isinstance(raw, dict):
                raise ConfigError(f"{source}: {dotted}: expected a table")
            values.update(_file_values(raw, source, key))
        else:
            values[key] = _convert(_SETTINGS[key], raw, f"{source}: {dotted}")
    return values


def _environment_values(environ: Mapping[str, str]) -> dict[Key, Any]:
    """The converted values of REFBIN_<SECTION>_<KEY> variables; unknown REFBIN_* are refused."""
    unknown = sorted(
        name
        for name in environ
        if name.startswith(f"{ENV_PREFIX}_")
        and name not in _BY_ENV_NAME
        and name not in PROCESS_VARIABLES
    )
    if unknown:
        raise ConfigError(f"environment: unknown {_naming(unknown)}")
    values: dict[Key, Any] = {}
    for env_name, setting in _BY_ENV_NAME.items():
        if env_name in environ:
            raw = _from_text(setting, environ[env_name], env_name)
            values[setting.key] = _convert(setting, raw, f"environment: {env_name}")
    return values


def _naming(unknown: list[str]) -> str:
    """`variable REFBIN_X (did you mean REFBIN_Y?)`, or `variables REFBIN_X, REFBIN_Z`."""
    if len(unknown) > 1:
        return "variables " + ", ".join(unknown)
    guess = difflib.get_close_matches(unknown[0], [*_BY_ENV_NAME, *PROCESS_VARIABLES], n=1)
    return f"variable {unknown[0]}" + (f" (did you mean {guess[0]}?)" if guess else "")


def _from_text(setting: _Setting, text: str, env_name: str) -> Any:
    """An environment variable's text as the value a TOML file would hold."""
    if setting.hint is bool:
        lowered = text.strip().lower()
        if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigError(f"environment: {env_name}: expected true or false")
        return lowered in ("1", "true", "yes", "on")
    if setting.hint is int and _parser(setting) is None:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"environment: {env_name}: expected an integer") from None
    if setting.hint in (tuple[str, ...], tuple[int, ...]):
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _convert(setting: _Setting, raw: Any, where: str) -> Any:
    """A raw TOML value as the setting's type, checked; ConfigError naming `where` otherwise."""
    try:
        parser = _parser(setting)
        if parser is not None:
            return parser(raw)
        value = _coerce(setting.hint, raw)
        if isinstance(value, int) and not isinstance(value, bool):
            low = setting.spec.metadata.get("min", 0)
            high = setting.spec.metadata.get("max", MAX_BIGINT)
            if not low <= value <= high:
                if low == 0 and value < 0:
                    raise ValueError(f"must not be negative, got {value}")
                raise ValueError(f"must be {low} to {high}, got {value}")
        choices = setting.spec.metadata.get("choices")
        if choices and value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _parser(setting: _Setting) -> Callable[[object], object] | None:
    metadata = setting.spec.metadata
    return metadata.get("parse") or _UNIT_PARSERS.get(metadata.get("unit", ""))


def _coerce(hint: Any, raw: Any) -> Any:
    if hint is bool:
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, got {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {raw!r}")
        return raw
    if hint == str | None:  # TOML has no null: "" is None
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {raw!r}")
        return raw or None
    if hint is Path:
        if not isinstance(raw, str):
            raise ValueError(f"expected a path string, got {raw!r}")
        return Path(raw).expanduser()
    raise TypeError(f"unsupported setting type {hint}")


def _assemble(cls: type, values: Mapping[Key, Any], prefix: Key) -> Any:
    """An instance of `cls` from the values under `prefix`, its defaults for the rest."""
    given: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        key = (*prefix, spec.name)
        if key in _TABLES:
            given[spec.name] = _assemble(_TABLES[key], values, key)
        elif key in values:
            given[spec.name] = values[key]
    return cls(**given)


def _index(cls: type, prefix: Key) -> None:
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        if spec.name == "source":
            continue
        key = (*prefix, spec.name)
        if dataclasses.is_dataclass(hints[spec.name]):
            _TABLES[key] = hints[spec.name]
            _index(hints[spec.name], key)
        else:
            _SETTINGS[key] = _Setting(key=key, hint=hints[spec.name], spec=spec)


_TABLES: dict[Key, type] = {}
_SETTINGS: dict[Key, _Setting] = {}
_index(Settings, ())
_BY_ENV_NAME = {setting.env_name: setting for setting in _SETTINGS.values()}
