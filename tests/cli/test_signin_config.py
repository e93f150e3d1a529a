"""The sign-in settings: discord.client_id, client_secret and oauth_url, server.admins and
server.session_idle, from the file and the environment, and their mistakes as one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_sign_in_is_off_until_a_client_id_is_set(tmp_path: Path) -> None:
    defaults = load_settings(None, environ={})
    path = tmp_path / "c.toml"
    path.write_text(
        '[server]\nadmins = [80351110224678912, "80351110224678913"]\nsession_idle = "12h"\n'
        '[discord]\nclient_id = "424242424242424242"\nclient_secret = "s"\n'
        'oauth_url = "http://127.0.0.1:9999/"\n'
    )

    configured = load_settings(path, environ={})

    assert not defaults.discord.signin and defaults.discord.oauth_url == "https://discord.com"
    assert defaults.server.admins == () and defaults.server.session_idle == timedelta(days=30)
    assert configured.discord.signin and configured.discord.client_id == "424242424242424242"
    assert configured.discord.oauth_url == "http://127.0.0.1:9999"
    assert configured.server.admins == (80351110224678912, 80351110224678913)
    assert configured.server.session_idle == timedelta(hours=12)


def test_the_environment_sets_them_too() -> None:
    settings = load_settings(
        None,
        environ={
            "REFBIN_SERVER_ADMINS": "80351110224678912, 80351110224678913",
            "REFBIN_SERVER_SESSION_IDLE": "7d",
            "REFBIN_DISCORD_CLIENT_ID": "424242424242424242",
            "REFBIN_DISCORD_CLIENT_SECRET": "s",
        },
    )

    assert settings.server.admins == (80351110224678912, 80351110224678913)
    assert settings.server.session_idle == timedelta(days=7)
    assert settings.discord.signin and settings.discord.client_secret == "s"


@pytest.mark.parametrize(
    ("toml", "environ", "message"),
    [
        ('[server]\nadmins = ["alice"]\n', {}, "server.admins: expected Discord user ids"),
        ("[server]\nadmins = [true]\n", {}, "server.admins: expected Discord user ids"),
        ("[server]\nadmins = 5\n", {}, "server.admins: expected a list of Discord user ids"),
        ("", {"REFBIN_SERVER_ADMINS": "1,x"}, "REFBIN_SERVER_ADMINS: expected Discord user ids"),
        ('[server]\nsession_idle = "never"\n', {}, "server.session_idle: expected a duration"),
        ('[server]\nsession_idle = "1m"\n', {}, "at least 5m"),
        ('[discord]\nclient_id = "my-app"\n', {}, "discord.client_id: expected the application"),
        ('[discord]\noauth_url = "discord.com"\n', {}, "discord.oauth_url: expected an http(s)"),
        (
            '[discord]\nclient_id = "1"\noauth_url = ""\n',
            {},
            "discord.oauth_url must not be empty",
        ),
    ],
)
def test_mistakes_are_one_line(
    tmp_path: Path, toml: str, environ: dict[str, str], message: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
