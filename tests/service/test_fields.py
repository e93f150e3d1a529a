"""The one table of which fields a new item takes (bot.service.fields), and the front doors that
read it: the web's form reader and the command line's `add`."""

from __future__ import annotations

import pytest

from bot.cli.main import build_parser
from bot.errors import Invalid
from bot.service.fields import (
    DESCRIBING,
    ITEM_FIELDS,
    KIND_FIELDS,
    OPTION_FIELDS,
    check_applicable,
    check_known,
    kind_of,
)
from bot.web.item_form import FORM_FIELDS, JSON_FIELDS


def test_each_describing_field_names_the_kinds_it_applies_to() -> None:
    assert DESCRIBING == {
        "alias": ("link",),
        "language": ("paste",),
        "filename": ("paste", "file"),
    }


@pytest.mark.parametrize(
    ("kind", "field", "message"),
    [
        ("paste", "alias", "alias applies to links only, not to a paste."),
        ("file", "alias", "alias applies to links only, not to a file."),
        ("file", "language", "language applies to pastes only, not to a file."),
        ("link", "language", "language applies to pastes only, not to a link."),
        ("link", "filename", "filename applies to pastes and files only, not to a link."),
    ],
)
def test_a_field_of_another_kind_is_refused_naming_it(kind: str, field: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_applicable(kind, ["expires", field], spell=str)  # type: ignore[arg-type]
    assert refused.value.message == message


def test_the_fields_of_a_kind_and_the_options_apply() -> None:
    for kind, fields in KIND_FIELDS.items():
        check_applicable(kind, [*fields, *OPTION_FIELDS])


def test_what_is_added_is_decided_by_its_one_main_field() -> None:
    assert kind_of({"url", "alias"}) == "link"
    assert kind_of({"text", "filename"}) == "paste"
    assert kind_of({"file", "filename"}) == "file"
    assert kind_of({"expires"}) is None
    with pytest.raises(Invalid, match="Send url or file, not both"):
        kind_of({"url", "file"})


def test_unknown_fields_are_named_with_the_one_most_likely_meant() -> None:
    with pytest.raises(Invalid) as one:
        check_known(["text", "expire"], ITEM_FIELDS)
    assert one.value.message == "Unknown field 'expire' (did you mean 'expires'?)."
    with pytest.raises(Invalid) as long:
        check_known(["x" * 5000], ITEM_FIELDS)
    assert long.value.message == f"Unknown field '{'x' * 40}…'."
    with pytest.raises(Invalid) as many:
        check_known([f"f{n}" for n in range(9)], ITEM_FIELDS)
    assert many.value.message == "Unknown fields 'f0', 'f1', 'f2', 'f3', 'f4' and 4 more."


def test_the_form_reader_takes_the_fields_of_the_table() -> None:
    assert ITEM_FIELDS - {"file"} == JSON_FIELDS
    assert JSON_FIELDS < FORM_FIELDS  # and a form's visibility flags and ShareX's input
    assert FORM_FIELDS - JSON_FIELDS == {"private", "unlisted", "input"}


def test_refbin_add_has_an_option_for_each_field_of_the_table() -> None:
    add = build_parser().parse_args(["add", "-"])
    for name in [*DESCRIBING, *OPTION_FIELDS]:
        if name != "visibility":  # --private and --unlisted
            assert hasattr(add, name), name
    assert hasattr(add, "private") and hasattr(add, "unlisted")
