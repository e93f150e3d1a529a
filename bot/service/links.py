"""Links people shorten: parsed, checked and normalised before they are hashed or stored."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from bot.errors import Blocked, Invalid

MAX_LINK_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
# What browsers strip from either end of a typed URL: C0 controls and space.
_EDGE = "".join(chr(c) for c in range(0x21))
_INSIDE_FORBIDDEN = re.compile(r"[\s\x00-\x20\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# A host whose last label is a number is an IPv4 address to a browser (WHATWG URL), in any of
# the old spellings: 2130706433, 0x7f.1, 0177.0.0.1 all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
ITSELF = "Links to this refbin itself cannot be shortened."
# The names a machine has for itself: RFC 6761 reserves localhost (and its subdomains); the others
# are in Debian's and Red Hat's /etc/hosts; a connection to an unspecified address reaches the
# machine itself. A visitor's browser takes each of them to the visitor's own machine.
_UNSPECIFIED = frozenset({"0.0.0.0", "::"})  # noqa: S104 - names to refuse, not to bind
_THIS_MACHINE = _UNSPECIFIED | {
    "127.0.0.1",
    "::1",
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
}


def normalise_link(raw: str) -> str:
    """The canonical form of an http(s) link; Invalid, with the reason, for anything else.

    Scheme and host are lower-cased (the host IDNA-encoded), a default port is dropped and an
    empty path becomes `/`; the rest is kept as given.
    """
    text = raw.strip(_EDGE)
    if not text:
        raise Invalid("The link is empty.")
    if len(text) > MAX_LINK_LENGTH:
        raise Invalid(f"The link is longer than {MAX_LINK_LENGTH} characters.")
    if _INSIDE_FORBIDDEN.search(text):
        raise Invalid("The link contains spaces or control characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"The link is malformed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        if not scheme:
            raise Invalid("The link needs a scheme: http:// or https://.")
        raise Invalid("Only http and https links can be shortened.")
    if parts.username is not None or parts.password is not None:
        raise Invalid("Links with a user name or password in them are not accepted.")
    host = parts.hostname
    if not host:
        raise Invalid("The link has no host.")
    host = _encode_host(host)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    normal = urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
    if len(normal) > MAX_LINK_LENGTH:
        raise Invalid(f"The link is longer than {MAX_LINK_LENGTH} characters.")
    return normal


def link_host(url: str) -> str:
    """The host of an already normalised link."""
    return urlsplit(url).hostname or ""


def check_link_allowed(url: str, own_hosts: Iterable[str], blocked_domains: Iterable[str]) -> None:
    """Refuse links back to refbin itself (redirect loops) and links to blocked domains.

    `url` is normalised; `own_hosts` are the hosts refbin is reached at, in any spelling.
    """
    host = link_host(url)
    if is_own_host(host, own_hosts):
        raise Invalid(ITSELF)
    for domain in blocked_domains:
        if host == domain or host.endswith("." + domain):
            raise Blocked(f"Links to {domain} are blocked on this instance.")


def is_own_host(host: str, own_hosts: Iterable[str]) -> bool:
    """Whether `host` (of a normalised link) is one of `own_hosts` in another spelling.

    Every spelling of an address is one address (`2130706433`, `127.1` and `[::ffff:127.0.0.1]`
    are 127.0.0.1). The machine's own names for itself (`localhost`, 127.0.0.1, `[::1]`, and the
    unspecified 0.0.0.0 and `[::]`, which a connection takes to the machine itself) are one host:
    when refbin is reached at one of them, every one of them is refbin. Reached at an unspecified
    address, refbin listens on all of them, so every loopback address (127.0.0.0/8) is refbin too.
    """
    own = {_identity(h) for h in own_hosts if h}
    if not own:
        return False
    this = _identity(host)
    if this in own:
        return True
    if _is_this_machine(this) and any(_is_this_machine(h) for h in own):
        return True
    return _is_loopback(this) and any(h in _UNSPECIFIED for h in own)


def _identity(host: str) -> str:
    """One spelling of a host: a name IDNA-encoded in lower case without its trailing dot, an
    IPv4 address dotted, an IPv6 address compressed (an IPv4-mapped one as the IPv4 address)."""
    host = host.strip("[]")
    try:
        host = _encode_host(host)
    except Invalid:
        return host.lower()
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else str(address)


def _is_this_machine(host: str) -> bool:
    """Whether `host` (an `_identity`) is one of the names a machine has for itself."""
    return host in _THIS_MACHINE or host.endswith(".localhost")


def _is_loopback(host: str) -> bool:
    """Whether `host` (an `_identity`) is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _encode_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not host:
        raise Invalid("The link has no host.")
    if host.isascii():
        if not re.fullmatch(r"[a-z0-9._:\-\[\]]+", host):
            raise Invalid("The link's host has characters a host name cannot have.")
        if ":" not in host and _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
            return _dotted_ipv4(host)  # (an IPv6 literal such as ::ffff:1.2.3.4 is left be)
        return host
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid("The link's host is not a valid international domain name.") from None
    if not re.fullmatch(r"[a-z0-9.\-]+", encoded):
        raise Invalid("The link's host has characters a host name cannot have.")
    if _NUMERIC_LABEL.fullmatch(encoded.rsplit(".", 1)[-1]):
        return _dotted_ipv4(encoded)  # full-width digits are digits after IDNA
    return encoded


def _dotted_ipv4(host: str) -> str:
    """The one spelling of an IPv4 address a browser would read in `host`, so that a link
    back to this refbin (or to a blocked address) is known whatever its spelling."""
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        raise Invalid("The link's host is not a valid IPv4 address.") from None
