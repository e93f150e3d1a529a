"""The domain errors the content service raises; web and Discord each map them once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RefbinError(Exception):
    """Base of every error a user can cause. `code` is stable; the message is for people."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(RefbinError):
    """The input is not acceptable (a bad link, an empty paste, a bad option)."""

    code = "invalid"


class Unprocessable(Invalid):
    """The input is well-formed but cannot be used (a corrupt image, a decompression bomb)."""

    code = "unprocessable"


class Finding(Protocol):
    """A credential found in a text (bot/service/secrets.py's Secret)."""

    def describe(self) -> str: ...


class SecretFound(Unprocessable):
    """A paste holds a credential (a token, a key, a password): refused unless asked to store it.

    The message names each kind and line, never the secret; `secrets` are the findings
    (bot/service/secrets.py's Secret) and `override` tells how this front door stores it anyway.
    """

    code = "secret_found"

    def __init__(self, secrets: Sequence[Finding], override: str = "") -> None:
        self.secrets = tuple(secrets)
        found = ", ".join(s.describe() for s in self.secrets[:3])
        more = f" and {len(self.secrets) - 3} more" if len(self.secrets) > 3 else ""
        message = (
            f"Nothing was stored: this holds {found}{more}. If it is a live credential, "
            "revoke it now."
        )
        super().__init__(f"{message} {override}".rstrip())
        self.override = override

    def with_override(self, override: str) -> SecretFound:
        """The same refusal, saying how the caller's front door stores it anyway."""
        return SecretFound(self.secrets, override)


class NotFound(RefbinError):
    """No such item, or not one the caller may see: both answer the same, so nothing leaks."""

    code = "not_found"

    def __init__(self, message: str = "No such item.") -> None:
        super().__init__(message)


class Gone(RefbinError):
    """The item existed but expired, was used up or was removed."""

    code = "gone"

    def __init__(self, message: str = "This item has expired.") -> None:
        super().__init__(message)


class Forbidden(RefbinError):
    """The caller may not do this."""

    code = "forbidden"


class Conflict(RefbinError):
    """The name is taken (an alias)."""

    code = "conflict"


class TooLarge(RefbinError):
    """The content is over the configured size limit or the caller's quota."""

    code = "too_large"


class Unauthenticated(RefbinError):
    """The caller's credentials are wrong (a bad or revoked API token), or needed and missing."""

    code = "unauthorized"


class PasswordRequired(RefbinError):
    """The item has a password and none, or a wrong one, was given."""

    code = "password_required"

    def __init__(self, message: str = "This item is protected by a password.") -> None:
        super().__init__(message)


class RateLimited(RefbinError):
    """Too many requests; `retry_after` says when to try again, in seconds."""

    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many requests; try again in {max(1, round(retry_after))} s.")
        self.retry_after = retry_after


class TimedOut(RefbinError):
    """The client sent its request too slowly (HTTP 408)."""

    code = "timeout"


class Blocked(RefbinError):
    """The item or its target is blocked on this instance (HTTP 451)."""

    code = "blocked"


class Unavailable(RefbinError):
    """A backing service (the database, the storage) is down or full; retry later."""

    code = "unavailable"


class StorageFull(Unavailable):
    """The storage has no room left (HTTP 507)."""

    code = "storage_full"
