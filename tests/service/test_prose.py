"""Prose: the `lang` values that are human languages, guessing one, and spell-checking in English
and German (and a little French) with the dictionaries that install with the package: known
misspellings found where they are, code-like tokens never marked, bounded work on big texts."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import pytest

from bot.errors import Invalid
from bot.service.prose import (
    MAX_MISSPELLINGS,
    MAX_SUGGESTED,
    PROSE_LANGUAGES,
    check_spelling,
    guess_prose_language,
    is_prose,
    prose_language,
)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-GB", "en"),
        ("de_DE", "de"),
        (" fr ", "fr"),
        ("German", "de"),
        ("Deutsch", "de"),
        ("español", "es"),
        ("farsi", "fa"),
        ("python", None),
        ("text", None),
        ("markdown", None),
        ("", None),
        (None, None),
        ("xx", None),
    ],
)
def test_prose_language_names(name: str | None, code: str | None) -> None:
    assert prose_language(name) == code
    assert is_prose(name) is (code is not None)


def test_every_prose_language_has_a_dictionary_in_the_package() -> None:
    from spellchecker import SpellChecker

    assert set(PROSE_LANGUAGES) <= set(SpellChecker.languages())
    folder = resources.files("spellchecker") / "resources"
    for code in PROSE_LANGUAGES:
        assert (folder / f"{code}.json.gz").is_file(), code


NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise RuntimeError("network used")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from bot.service.prose import check_spelling, guess_prose_language
assert guess_prose_language("Wir treffen uns morgen um acht Uhr am Bahnhof.") == "de"
assert [m.word for m in check_spelling("A smple note.", "en")] == ["smple"]
print("ok")
"""


def test_dictionaries_and_the_guessing_model_need_no_network() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


ENGLISH = """\
# Release notes

This is a smple note with a few mistaks in it.
We recieve the packages on Monday; it's John's job, and it wasn't definately late.
"""


def test_english_misspellings_are_found_with_place_and_suggestions() -> None:
    found = check_spelling(ENGLISH, "en")
    assert [(m.word, m.line, m.column) for m in found] == [
        ("smple", 3, 11),
        ("mistaks", 3, 33),
        ("recieve", 4, 4),
        ("definately", 4, 67),
    ]
    lines = ENGLISH.splitlines()
    for m in found:
        assert lines[m.line - 1][m.column - 1 :].startswith(m.word)
    fixes = {m.word: m.suggestions for m in found}
    assert "simple" in fixes["smple"]
    assert "receive" in fixes["recieve"]
    assert fixes["definately"] == ("definitely",)


GERMAN = """\
Ich habe das Paket gestern abgeschikt, und die Häuser sind groß.
Der Fehller liegt nicht bei uns; bitte prüfe die Rechnung bis morgen.
"""


def test_german_misspellings_are_found_with_place_and_suggestions() -> None:
    found = check_spelling(GERMAN, "de")
    assert [(m.word, m.line, m.column) for m in found] == [
        ("abgeschikt", 1, 28),
        ("Fehller", 2, 5),
    ]
    assert found[0].suggestions == ("abgeschickt",)
    assert found[1].suggestions[0] == "Fehler"  # capitalised like the word it replaces


def test_french_elisions_are_words() -> None:
    assert check_spelling("L'été est très beau, et l'hiver est froid.", "fr") == []


CODE_LIKE = """\
Call `recieve_data()` or `tehParser` before you deploy.
Visit https://smple.example.org/mistaks?speling=1 or www.mistaks.example today.
Write to mistaks@example.org about the recieve_buffer and the tehParser helper.
The file config.py, the path /usr/lib/speling and C:\\Windows\\smple are fine, e.g. here.
Version 3rd of the 1990s build, flag --no-speling, HTTP and NASA, x=speling, a<b.
```python
def recieve(teh_speling): return mistaks
```
That is all.
"""


def test_code_like_tokens_are_never_marked() -> None:
    assert check_spelling(CODE_LIKE, "en") == []


def test_code_like_tokens_are_skipped_in_german_too() -> None:
    text = "Bitte prüfe `fehller_wert` und https://beispiel.de/Fehller bis morgen.\n"
    assert check_spelling(text, "de") == []


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(Invalid):
        check_spelling("text", "python")


def test_a_big_text_is_checked_within_bounds() -> None:
    # 200,000 distinct nonsense words: far past every limit.
    words = [
        f"zq{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676 % 26)}x"
        for i in range(200_000)
    ]
    text = "\n".join(" ".join(words[i : i + 10]) for i in range(0, len(words), 10))
    started = time.perf_counter()
    found = check_spelling(text, "en")
    assert time.perf_counter() - started < 30
    assert len(found) == MAX_MISSPELLINGS
    assert all(m.suggestions == () for m in found[MAX_SUGGESTED:])


def test_repeated_misspellings_cost_one_suggestion_each() -> None:
    text = "teh " * 20_000
    started = time.perf_counter()
    found = check_spelling(text, "en")
    assert time.perf_counter() - started < 10
    assert len(found) == MAX_MISSPELLINGS
    assert {m.suggestions for m in found} == {found[0].suggestions}
    assert "the" in found[0].suggestions


def test_checks_run_side_by_side_in_threads() -> None:
    expected = {"en": check_spelling(ENGLISH, "en"), "de": check_spelling(GERMAN, "de")}
    jobs = [("en", ENGLISH), ("de", GERMAN)] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (job[0], check_spelling(job[1], job[0])), jobs))
    for lang, found in results:
        assert found == expected[lang]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Meeting notes: we agreed to ship the release on Friday after the review.", "en"),
        ("Ich habe das Paket gestern abgeschickt. Bitte prüfe die Rechnung bis morgen.", "de"),
        ("Je suis désolé, je serai en retard ce soir. La réunion est reportée à jeudi.", "fr"),
        ("Mañana vamos a la playa con los niños. No entiendo por qué no funciona.", "es"),
        ("Obrigado pela ajuda, funcionou perfeitamente. Vou chegar atrasado hoje.", "pt"),
        ("Я приду завтра утром, и мы обсудим план работы на следующую неделю.", "ru"),
        (ENGLISH + "\n```python\nimport os\nprint(os.environ['HOME'])\n```\n", "en"),
    ],
)
def test_guessing_the_language_of_prose(text: str, code: str) -> None:
    assert guess_prose_language(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "",
        "def main():\n    return compute_value(x_1, y_2) + other_thing[3]\n",
        "https://example.org/a/b/c?d=e user@example.org /usr/lib/x",
        "こんにちは、世界。今日はいい天気ですね。",  # Japanese: no dictionary to check it with
    ],
)
def test_no_guess_for_code_short_texts_or_languages_without_a_dictionary(text: str) -> None:
    assert guess_prose_language(text) is None


def test_guessing_reads_a_bounded_sample() -> None:
    text = "The weather is fine today and we will go for a walk. " * 20_000  # ~1 MiB
    started = time.perf_counter()
    assert guess_prose_language(text) == "en"
    assert time.perf_counter() - started < 1


def test_no_prose_code_is_a_pygments_language() -> None:
    """So a `lang` value is prose or code, never both."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    for code in PROSE_LANGUAGES:
        with pytest.raises(ClassNotFound):
            get_lexer_by_name(code)
