"""Secret detection: each kind found where it is, look-alikes and documentation placeholders let
through, nothing of a secret's value in what is returned, and linear time on hostile input.

The credentials here are made up, assembled from pieces so that no scanner mistakes this file
for a leak."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import pytest

from bot.service.secrets import KINDS, LABELS, MAX_FINDINGS, Secret, find_secrets

RANDOM = "Zq8Lm3Xv0Tb6Nc1Wk9Rf4Hs7Jd2Gp5YaQe2Bn8Vt1Mc6Lx0Kp3Rj9Wh4Sg7Df5"  # made up


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


DISCORD_TOKEN = (
    b64(b"112233445566778899") + "." + b64((1_700_000_000).to_bytes(4, "big")) + "." + RANDOM[:30]
)
JWT = (
    b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    + "."
    + b64(json.dumps({"sub": "1234567890", "role": "service_role"}).encode())
    + "."
    + RANDOM[:32]
)
TRUE_POSITIVES: list[tuple[str, str]] = [
    ("discord_bot_token", f"DISCORD_TOKEN = '{DISCORD_TOKEN}'"),
    ("discord_bot_token", f"bot.run({DISCORD_TOKEN})"),
    (
        "discord_webhook",
        "curl https://discord.com/api/webhooks/123456789012345678/" + (RANDOM * 2)[:68],
    ),
    (
        "discord_webhook",
        "https://canary.discordapp.com/api/v10/webhooks/1234567890123456/" + (RANDOM * 2)[:64],
    ),
    ("aws_access_key_id", "aws_access_key_id = AKIA" + "Q2WX3EC4RV5TB6YN"),
    ("aws_access_key_id", "ASIA" + "Q2WX3EC4RV5TB6YN"),
    (
        "aws_secret_access_key",
        "aws_secret_access_key = " + ("wJa1rXUtnFEMI/K7MDENG/bPxRfiCY" + RANDOM)[:40],
    ),
    (
        "aws_secret_access_key",
        '"SecretAccessKey": "' + ("Ab12/Cd34+Ef56Gh78Ij90Kl12Mn34Op56Qr78St" + RANDOM)[:40] + '"',
    ),
    ("github_token", "token: ghp_" + (RANDOM + "AbCd")[:36]),
    ("github_token", "gho_" + (RANDOM + "AbCd")[:36]),
    ("github_token", "github_pat_11ABCDEFG0" + (RANDOM * 3)[:72]),
    ("gitlab_token", "glpat-" + RANDOM[:20]),
    ("slack_token", "SLACK=xoxb-123456789012-1234567890123-" + RANDOM[:24]),
    ("slack_webhook", "https://hooks.slack.com/services/T01ABCDEF/B01ABCDEF/" + RANDOM[:24]),
    ("stripe_secret_key", "stripe.api_key = 'sk_live_" + RANDOM[:24] + "'"),
    ("stripe_secret_key", "rk_test_" + RANDOM[:24]),
    ("google_api_key", "key=AIza" + (RANDOM + "abc")[:35]),
    ("openai_api_key", "OPENAI_API_KEY=sk-proj-" + (RANDOM * 2)[:48]),
    ("openai_api_key", "sk-" + (RANDOM * 2)[:48]),
    ("anthropic_api_key", "sk-ant-api03-" + (RANDOM * 4)[:95]),
    ("npm_token", "//registry.npmjs.org/:_authToken=npm_" + (RANDOM + "ab")[:36]),
    ("pypi_token", "password = pypi-AgEIcHlwaS5vcmc" + (RANDOM * 3)[:60]),
    ("sendgrid_api_key", "SG." + RANDOM[:22] + "." + (RANDOM * 2)[:43]),
    ("telegram_bot_token", "bot 123456789:AA" + (RANDOM + "x")[:33]),
    (
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA"
        + RANDOM
        + "\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "private_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    ),
    (
        "private_key",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
        + RANDOM
        + '"}',
    ),
    (
        "private_key",
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n"
        "MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49",
    ),
    ("url_password", "DATABASE_URL=postgres://refbin:s3cr3t-Pa55@db.internal:5432/refbin"),
    ("url_password", "git clone https://alice:hunter22@git.example.org/repo.git"),
    ("password_assignment", "DB_PASSWORD=Tr0ub4dor&3"),
    ("password_assignment", '    "password": "correct horse"'.replace(" horse", "horsebattery")),
    ("password_assignment", "  client_secret: 9f8e7d6c5b4a"),
    ("password_assignment", "SECRET_KEY = 'django-insecure-0a1b2c3d'"),
    ("password_assignment", "export API_KEY=k3y-for-the-service"),
    ("jwt", "Authorization: Bearer " + JWT),
]


@pytest.mark.parametrize(("kind", "text"), TRUE_POSITIVES, ids=[k for k, _ in TRUE_POSITIVES])
def test_each_kind_is_found(kind: str, text: str) -> None:
    found = find_secrets("first line\n" + text + "\n")
    assert [secret.kind for secret in found] == [kind], found
    assert found[0].line == 2


def test_every_kind_has_a_true_positive_and_a_label() -> None:
    assert {kind for kind, _ in TRUE_POSITIVES} == KINDS
    assert set(LABELS) == KINDS


FALSE_POSITIVES: list[tuple[str, str]] = [
    ("sha256", hashlib.sha256(b"x").hexdigest()),
    ("git sha", "commit " + hashlib.sha1(b"x").hexdigest()),
    ("uuid", str(uuid.UUID(int=0x1234567890ABCDEF1234567890ABCDEF))),
    ("base64 blob", base64.b64encode(bytes(range(256))).decode()),
    ("aws docs example", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
    (
        "aws docs secret",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("openai placeholder", "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("your key", "sk-your-api-key-goes-here-and-nothing-else-at-all"),
    ("github placeholder", "ghp_" + "x" * 36),
    ("method chain", "await message.channel.send(content)"),
    ("dotted words", "self.assertEqualLongNameThing.somethingElse.anotherVeryLongAttribute"),
    (
        "discord-shaped, not an id",
        "abcdefghijklmnopqrstuvwxyz.abcdef.abcdefghijklmnopqrstuvwxyz123",
    ),
    ("jwt-shaped, not json", "eyJhbGciOiJub3RqcV9zb24.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + RANDOM),
    ("password from a call", "password = get_password()"),
    ("password from env", 'password = os.environ["DB_PASSWORD"]'),
    ("password variable", "password = settings.password"),
    ("password template", "password: ${DB_PASSWORD}"),
    ("password ansible", "password: '{{ vault_password }}'"),
    ("password placeholder", "PASSWORD=changeme"),
    ("password prompt", "password: required"),
    ("password hash field", "password_hash = '$2b$12$abcdefghijklmnopqrstuv'"),
    ("url without password", "https://alice@git.example.org/repo.git"),
    ("url with env password", "postgres://user:${PGPASSWORD}@localhost/db"),
    ("url with placeholder", "redis://default:password@localhost:6379"),
    ("url with port only", "http://localhost:8080/path"),
    ("bare pem header in code", 'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):'),
    (
        "public key",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + RANDOM,
    ),
    ("stripe publishable", "pk_live_" + RANDOM[:24]),
    ("prose", "My password is long and nobody will guess it, said the admin."),
    ("ipv6 url", "http://[::1]:8080/"),
]


@pytest.mark.parametrize(("name", "text"), FALSE_POSITIVES, ids=[n for n, _ in FALSE_POSITIVES])
def test_look_alikes_and_placeholders_pass(name: str, text: str) -> None:
    assert find_secrets(text) == []


def test_line_and_column_are_one_based_in_characters() -> None:
    text = "héllo\n\n  ünïcode ghp_" + (RANDOM + "AbCd")[:36] + "\n"
    [secret] = find_secrets(text)
    assert (secret.line, secret.column) == (3, 11)
    assert text.splitlines()[secret.line - 1][secret.column - 1 :].startswith("ghp_")


def test_findings_come_in_order_of_position_once_each() -> None:
    key = "sk_live_" + RANDOM[:24]
    text = f"A=ghp_{(RANDOM + 'AbCd')[:36]}\nSTRIPE_SECRET_KEY={key}\n{key}\n"
    found = find_secrets(text)
    assert [(s.kind, s.line) for s in found] == [
        ("github_token", 1),
        ("stripe_secret_key", 2),
        ("stripe_secret_key", 3),
    ]


@pytest.mark.parametrize(("kind", "text"), TRUE_POSITIVES, ids=[k for k, _ in TRUE_POSITIVES])
def test_nothing_secret_is_returned(kind: str, text: str) -> None:
    [secret] = find_secrets(text)
    shown = repr(secret) + secret.describe()
    for piece in (RANDOM[:12], RANDOM[8:20], "s3cr3t", "hunter22", "Tr0ub4dor", "9f8e7d6c"):
        assert piece not in shown, shown
    assert len(secret.hint) <= 80


def test_hints_name_public_parts_only() -> None:
    [discord] = find_secrets(DISCORD_TOKEN)
    assert discord.hint == DISCORD_TOKEN[:4] + "…"
    [aws] = find_secrets(
        "aws_secret_access_key = " + ("Ab12/Cd34+Ef56Gh78Ij90Kl12Mn34" + RANDOM)[:40]
    )
    assert aws.hint == "…"
    [url] = find_secrets("postgres://refbin:s3cr3t-Pa55@db:5432/x")
    assert url.hint == "postgres://…:…@…"
    [pem] = find_secrets(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
    )
    assert pem.hint == "-----BEGIN OPENSSH PRIVATE KEY-----"


def test_describe_reads_as_a_sentence_part() -> None:
    assert Secret("aws_access_key_id", 3, 1, "AKIA…").describe() == "an AWS access key ID on line 3"
    assert Secret("github_token", 1, 5, "ghp_…").describe() == "a GitHub token on line 1"


def test_a_text_full_of_secrets_reports_a_bounded_number() -> None:
    text = "".join(f"sk_live_{RANDOM[:20]}{i:04d}\n" for i in range(5000))
    found = find_secrets(text)
    assert len(found) == MAX_FINDINGS
    assert [s.line for s in found] == list(range(1, MAX_FINDINGS + 1))


ADVERSARIAL = {
    "one long run": "a" * (1 << 20),
    "almost discord tokens": ("a" * 25 + "." + "a" * 6 + ".") * (1 << 15),
    "colons": "a:" * (1 << 19),
    "schemes": "ab://" * (1 << 18),
    "userinfo without end": "http://" + "a:" * (1 << 19),
    "at signs": "a:b@" * (1 << 18),
    "jwt starts": "eyJ" * (1 << 18),
    "jwt parts": ("eyJ" + "a" * 20 + ".") * (1 << 15),
    "pem headers": "-----BEGIN PRIVATE KEY-----\n" * (1 << 15),
    "empty assignments": "password=\n" * (1 << 17),
    "endless assignment": "password = " + "a" * (1 << 20),
    "key prefixes": "secret_key:" * (1 << 17),
    "telegram-ish": "1234567890:" * (1 << 17),
    "sk prefixes": "sk-" * (1 << 18),
    "slack prefixes": "xoxb-" * (1 << 18),
    "base64 megabyte": base64.b64encode(bytes(range(256)) * 3000).decode(),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_hostile_input_is_scanned_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    find_secrets(text)
    # About 0.5 s here for a MiB; a pattern that backtracked would take minutes to hours.
    assert time.perf_counter() - started < 10
