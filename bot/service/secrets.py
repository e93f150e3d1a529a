"""Credentials in a text about to be published: which kind, on which line, never the value itself.

An own, maintained set of patterns rather than detect-secrets (its last release is from 2024 and
it scans files, not strings): each pattern is anchored on a literal prefix or a word boundary and
has only bounded repeats, so a scan is linear in the text whatever it holds. Candidates that a
pattern alone would over-match (Discord tokens, JWTs, URL passwords, `password=` lines) are then
checked by what they decode to or look like, and documentation placeholders (AWS's
`AKIAIOSFODNN7EXAMPLE`, `sk-xxxx…`, `${PASSWORD}`) are let through: refusing a tutorial helps
nobody. What a finding carries is the kind, the place and a redacted hint, safe to log and show.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_FINDINGS = 50  # a text with more is refused for the first ones; listing all helps nobody
HINT_CHARS = 4  # how much of a value a hint shows: a recognisable prefix, never the secret part


@dataclass(frozen=True)
class Secret:
    """A credential found in a text: its kind, 1-based line and column, and a redacted hint."""

    kind: str
    line: int
    column: int
    hint: str

    @property
    def label(self) -> str:
        """What people call this kind of credential."""
        return LABELS[self.kind]

    def describe(self) -> str:
        """One sentence for a refusal: "a GitHub token on line 3"."""
        return f"{article(self.label)} {self.label} on line {self.line}"


LABELS: dict[str, str] = {
    "discord_bot_token": "Discord bot token",
    "discord_webhook": "Discord webhook URL",
    "aws_access_key_id": "AWS access key ID",
    "aws_secret_access_key": "AWS secret access key",
    "github_token": "GitHub token",
    "gitlab_token": "GitLab token",
    "slack_token": "Slack token",
    "slack_webhook": "Slack webhook URL",
    "stripe_secret_key": "Stripe secret key",
    "google_api_key": "Google API key",
    "openai_api_key": "OpenAI API key",
    "anthropic_api_key": "Anthropic API key",
    "npm_token": "npm token",
    "pypi_token": "PyPI token",
    "sendgrid_api_key": "SendGrid API key",
    "telegram_bot_token": "Telegram bot token",
    "private_key": "private key",
    "url_password": "password in a URL",
    "password_assignment": "password or secret setting",
    "jwt": "JSON Web Token",
}


def article(label: str) -> str:
    return "an" if label[:1].lower() in "aeio" else "a"


def find_secrets(text: str) -> list[Secret]:
    """The credentials in `text`, in order of position, at most MAX_FINDINGS (pure; linear)."""
    lines = _LineIndex(text)
    found: dict[int, Secret] = {}  # by offset: two patterns on one place report it once
    for kind, pattern, group, accept in _DETECTORS:
        for match in pattern.finditer(text):
            value = match.group(group)
            if not accept(value, match):
                continue
            start = match.start(group)
            if start in found:
                continue
            line, column = lines.position(start)
            found[start] = Secret(kind, line, column, redact(kind, value))
            if len(found) >= MAX_FINDINGS * 4:
                break
    return [found[offset] for offset in sorted(found)][:MAX_FINDINGS]


def redact(kind: str, value: str) -> str:
    """A hint that tells the owner which value is meant without giving any of its secret part."""
    if kind == "private_key":
        return value[: value.index("-----", 5) + 5]
    if kind == "url_password":
        return value.split("://", 1)[0] + "://…:…@…"
    if kind in ("discord_webhook", "slack_webhook"):
        return value.rsplit("/", 1)[0] + "/…"  # the ids before the last part are not secret
    return value[: _PUBLIC_PREFIX.get(kind, HINT_CHARS)] + "…"


# How many leading characters of a value are public (a prefix, an id), where fewer than
# HINT_CHARS are: nothing of a bare secret is shown.
_PUBLIC_PREFIX = {
    "aws_secret_access_key": 0,
    "password_assignment": 0,
    "sendgrid_api_key": 3,
    "openai_api_key": 3,
}


class _LineIndex:
    """Offsets to 1-based (line, column) in O(log lines) each."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


# --- checks on candidates -------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"(?i)example|sample|dummy|placeholder|changeme|redacted|your[_-]?|xxxx|\*\*\*|<|>|\.\.\.|…"
)


def _is_placeholder(value: str) -> bool:
    """Documentation values: EXAMPLE keys, xxxx runs, <your-token>, and strings of few letters."""
    if _PLACEHOLDER.search(value):
        return True
    body = re.sub(r"^[a-z]+[_-]", "", value, flags=re.IGNORECASE)  # sk-, ghp_, xoxb- …
    return len(set(body.lower())) <= 4


def _looks_random(value: str) -> bool:
    """Mixed classes of characters, as a generated key has and an English word does not."""
    kinds = (str.islower, str.isupper, str.isdigit)
    classes = sum(any(kind(c) for c in value) for kind in kinds)
    return classes >= 2 and len(set(value)) >= 10


def _b64decode(part: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def _discord_token(value: str, match: re.Match[str]) -> bool:
    """The first part is a snowflake (a user id in ASCII digits), as python-discord checks."""
    user_id, timestamp, hmac = value.split(".")
    decoded = _b64decode(user_id)
    if decoded is None or not decoded.isascii() or not decoded.isdigit():
        return False
    if not 15 <= len(decoded) <= 21:
        return False
    return _b64decode(timestamp) is not None and len(set(hmac.lower())) > 3


def _jwt(value: str, match: re.Match[str]) -> bool:
    """A header that decodes to a JSON object naming an algorithm."""
    decoded = _b64decode(value.split(".", 1)[0])
    try:
        header = json.loads(decoded or b"")
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header and not _is_placeholder(value)


def _url_password(value: str, match: re.Match[str]) -> bool:
    password = match.group("password")
    return (
        not _is_placeholder(password)
        and not password.startswith(("$", "%", "{", "["))
        and (password.lower() not in _PLACEHOLDER_WORDS)
    )


_PLACEHOLDER_WORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "user", "username", "token", "test", "foo"}
)


def _assignment(value: str, match: re.Match[str]) -> bool:
    """A literal, not an expression: quoted, or unquoted with a digit or symbol in it."""
    if _is_placeholder(value) or value.lower() in _PLACEHOLDER_WORDS or value.lower() in _WORDS:
        return False
    if match.group("quote"):
        return True
    return any(not c.isalpha() and c not in "_." for c in value) or _looks_random(value)


_WORDS = frozenset({"true", "false", "none", "null", "nil", "required", "optional", "string"})


def _not_placeholder(value: str, match: re.Match[str]) -> bool:
    return not _is_placeholder(value)


def _random_key(value: str, match: re.Match[str]) -> bool:
    return not _is_placeholder(value) and _looks_random(value)


def _always(value: str, match: re.Match[str]) -> bool:
    return True


# --- the patterns ---------------------------------------------------------------------------
# The specific kinds come first: where two patterns find the same value, the first names it.
# Every repeat is bounded and every pattern starts with a literal or a look-behind that fails at
# once inside a run of token characters, so no input makes one backtrack more than a few dozen
# steps per position.

_B = r"(?<![A-Za-z0-9_-])"  # starts where a token cannot have started earlier
_E = r"(?![A-Za-z0-9_-])"  # and ends where it cannot go on

Check = Callable[[str, "re.Match[str]"], bool]


def _detectors() -> Iterator[tuple[str, re.Pattern[str], str | int, Check]]:
    def p(kind: str, pattern: str, check: Check = _not_placeholder, group: str | int = 0) -> None:
        table.append((kind, re.compile(pattern), group, check))

    table: list[tuple[str, re.Pattern[str], str | int, Check]] = []
    p(
        "discord_bot_token",
        _B + r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}" + _E,
        _discord_token,
    )
    p(
        "discord_webhook",
        r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v\d{1,2})?/webhooks/"
        r"\d{15,21}/[A-Za-z0-9_-]{60,80}" + _E,
    )
    p("aws_access_key_id", r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")
    p(
        "aws_secret_access_key",
        r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s{0,5}[:=]\s{0,5}[\"']?"
        r"(?P<key>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        _random_key,
        "key",
    )
    p("github_token", _B + r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})" + _E)
    p("gitlab_token", _B + r"gl(?:pat|dt|rt|ptt|soat|cbt)-[A-Za-z0-9_.-]{20,80}" + _E)
    p("slack_token", _B + r"(?:xox[abposr]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{20,250})" + _E)
    p(
        "slack_webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,120}",
    )
    p("stripe_secret_key", _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,250}" + _E)
    p("google_api_key", _B + r"AIza[A-Za-z0-9_-]{35}" + _E)
    p("anthropic_api_key", _B + r"sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{80,120}" + _E)
    p(
        "openai_api_key",
        _B + r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{32,200}" + _E,
        _random_key,
    )
    p("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E)
    p("pypi_token", _B + r"pypi-AgE[A-Za-z0-9_-]{50,400}" + _E)
    p("sendgrid_api_key", _B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _E)
    p("telegram_bot_token", r"(?<![\w:])\d{8,10}:AA[A-Za-z0-9_-]{33}" + _E)
    p(
        "private_key",
        # The header, then (real newlines, or \n escapes as in a JSON service account) a line of
        # key material: a bare header in code that looks for one is no key.
        r"-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:\s|\\n){1,4}(?:[A-Za-z-]{1,20}: [^\n]{0,100}(?:\s|\\n){1,4}){0,3}[A-Za-z0-9+/=]{40}",
        _always,
    )
    p(
        "jwt",
        _B + r"eyJ[A-Za-z0-9_-]{10,2000}\.eyJ[A-Za-z0-9_-]{10,8000}\.[A-Za-z0-9_-]{16,2000}" + _E,
        _jwt,
    )
    p(
        "url_password",
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@\"'<>]{1,64}:"
        r"(?P<password>[^\s/@\"'<>]{1,128})@[A-Za-z0-9\[]",
        _url_password,
    )
    p(
        "password_assignment",
        # A whole `key = value` line (config, .env, YAML, JSON): a value that is the rest of the
        # line is a literal, where code would have an expression.
        r"(?mi)^[ \t]{0,40}(?:export[ \t]{1,5})?[\"']?[\w.-]{0,40}?"
        r"(?:password|passwd|secret|api_?key|access_?token|auth_?token|client_?secret)(?:_?key)?"
        r"[\"']?[ \t]{0,5}[:=][ \t]{0,5}(?P<quote>[\"']?)(?P<value>[^\s\"'(){}\[\]$<>%`]{6,128})"
        r"(?P=quote)[ \t]{0,5},?[ \t]{0,5}\r?$",
        _assignment,
        "value",
    )
    yield from table


_DETECTORS = tuple(_detectors())
KINDS = frozenset(kind for kind, *_ in _DETECTORS)
