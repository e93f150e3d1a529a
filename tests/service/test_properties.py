"""Properties: the link normaliser and the id codec never crash and are stable."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import RefbinError
from bot.service.ids import ALPHABET, MAX_LENGTH, base62, keyed_candidates, random_candidates
from bot.service.links import normalise_link

URLISH = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda scheme, host, rest: f"{scheme}://{host}{rest}",
        st.sampled_from(["http", "https", "HTTP", "hTtPs", "javascript", "ftp", "", " http"]),
        st.text(alphabet=string.ascii_letters + string.digits + ".-:@[]", max_size=40),
        st.text(max_size=80),
    ),
)


@settings(max_examples=400, deadline=None)
@given(URLISH)
def test_normaliser_never_crashes_and_is_idempotent(raw: str) -> None:
    try:
        normal = normalise_link(raw)
    except RefbinError:
        return  # a refusal with a message is a fine answer
    assert normal.startswith(("http://", "https://"))
    assert normalise_link(normal) == normal
    assert len(normal) <= 2048


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_base62_is_a_bijection_on_numbers(data: bytes) -> None:
    encoded = base62(data)
    assert set(encoded) <= set(ALPHABET)
    decoded = 0
    for char in encoded:
        decoded = decoded * 62 + ALPHABET.index(char)
    assert decoded == int.from_bytes(data, "big")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(min_size=1, max_size=64),
    st.sampled_from(["url", "text", "image", "file"]),
    st.integers(min_value=1, max_value=2**62),
    st.binary(min_size=32, max_size=32),
)
def test_keyed_ids_are_stable_prefixes_of_each_other(secret, kind, owner, digest) -> None:
    first = list(keyed_candidates(secret, kind, owner, digest))
    assert first == list(keyed_candidates(secret, kind, owner, digest))
    assert len(first[0]) == 7 and len(first[-1]) == MAX_LENGTH
    for shorter, longer in zip(first, first[1:], strict=False):
        assert longer.startswith(shorter) and len(longer) == len(shorter) + 1
    assert all(set(c) <= set(ALPHABET) for c in first)


def test_random_ids_differ() -> None:
    ids = {next(random_candidates()) for _ in range(1000)}
    assert len(ids) == 1000
