"""Tokens and passwords: tokens carry 192 random bits and are stored as sha256; passwords scrypt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 24  # 192 bits
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_token() -> str:
    """A fresh random token, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> bytes:
    """What is stored of a token: a fast hash is enough for 192 random bits."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_matches(token: str, stored: bytes | None) -> bool:
    """Constant-time check of a token against its stored hash."""
    if stored is None:
        return False
    return hmac.compare_digest(hash_token(token), stored)


def hash_password(password: str) -> str:
    """A slow, salted hash of a password (blocking: run in an executor)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(_password_bytes(password), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against hash_password's output (blocking)."""
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    expected = base64.b64decode(digest_b64)
    digest = hashlib.scrypt(_password_bytes(password), salt=salt, dklen=len(expected), **_SCRYPT)
    return hmac.compare_digest(digest, expected)


def _password_bytes(password: str) -> bytes:
    # An X-Password header that is not UTF-8 arrives with lone surrogates: it must fail to
    # match, not fail to encode. Valid text encodes exactly as before.
    return password.encode("utf-8", "surrogatepass")
