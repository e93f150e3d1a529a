"""Which fields a new item takes, by what is added: the one table every front door reads (the
web's form reader for `POST /` and the API, the command line's `add`), so that a field that
does not apply is refused, naming it, in the same words everywhere."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from typing import Literal

from bot.errors import Invalid

AddKind = Literal["link", "paste", "file"]

# What each kind of addition is made of: the field that holds it first, then what describes it.
KIND_FIELDS: dict[AddKind, tuple[str, ...]] = {
    "link": ("url", "alias"),
    "paste": ("text", "language", "filename"),
    "file": ("file", "filename"),
}
# Options every kind takes.
OPTION_FIELDS: tuple[str, ...] = (
    "expires",
    "max_views",
    "visibility",
    "password",
    "allow_secrets",  # store a paste that holds a credential (otherwise refused: SecretFound)
)

MAIN_FIELDS: dict[str, AddKind] = {fields[0]: kind for kind, fields in KIND_FIELDS.items()}
# The fields that describe an addition (alias, language, filename), each with its kinds.
DESCRIBING: dict[str, tuple[AddKind, ...]] = {
    name: tuple(kind for kind, fields in KIND_FIELDS.items() if name in fields)
    for fields in KIND_FIELDS.values()
    for name in fields[1:]
}
ITEM_FIELDS: frozenset[str] = frozenset(
    name for fields in KIND_FIELDS.values() for name in fields
) | frozenset(OPTION_FIELDS)

Spell = Callable[[str], str]
SHOWN_NAME = 40  # characters of an unknown field's name repeated back
SHOWN_NAMES = 5  # unknown fields named in one refusal


def kind_of(names: Collection[str]) -> AddKind | None:
    """What the given fields add: the kind whose main field (url, text, file) is among them;
    None when none is; Invalid naming two of them when more than one is."""
    mains = [name for name in MAIN_FIELDS if name in names]
    if len(mains) > 1:
        raise Invalid(f"Send {mains[0]} or {mains[1]}, not both: one item per request.")
    return MAIN_FIELDS[mains[0]] if mains else None


def check_applicable(kind: AddKind, names: Iterable[str], *, spell: Spell = str) -> None:
    """Invalid naming the first field among `names` that describes another kind only (an alias
    for a paste, a language for a file); `spell` writes a field's name as its front door does."""
    for name in names:
        kinds = DESCRIBING.get(name, (kind,))
        if kind not in kinds:
            named = " and ".join(f"{other}s" for other in kinds)
            raise Invalid(f"{spell(name)} applies to {named} only, not to a {kind}.")


def check_known(names: Iterable[str], known: Collection[str]) -> None:
    """Invalid naming the fields that are not in `known`, with the likeliest meant one."""
    unknown = sorted(set(names) - set(known))
    if not unknown:
        return
    if len(unknown) > 1:
        shown = ", ".join(_shown(name) for name in unknown[:SHOWN_NAMES])
        more = f" and {len(unknown) - SHOWN_NAMES} more" if len(unknown) > SHOWN_NAMES else ""
        raise Invalid(f"Unknown fields {shown}{more}.")
    guess = difflib.get_close_matches(unknown[0], sorted(known), n=1)
    meant = f" (did you mean {guess[0]!r}?)" if guess else ""
    raise Invalid(f"Unknown field {_shown(unknown[0])}{meant}.")


def _shown(name: str) -> str:
    """A client's field name as a refusal repeats it: quoted, and cut if it is long."""
    return repr(name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "…")
