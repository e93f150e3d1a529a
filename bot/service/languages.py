"""Which language a paste is in: an explicit hint, then its filename, then Pygments' guess."""

from __future__ import annotations

import re
from functools import lru_cache

from pygments.lexers import get_lexer_by_name, get_lexer_for_filename, guess_lexer
from pygments.util import ClassNotFound

from bot.errors import Invalid

PLAIN = "text"
GUESS_SAMPLE = 16 * 1024  # guessing reads only this much: it is slow on big inputs


@lru_cache(maxsize=512)
def canonical_language(name: str) -> str:
    """The canonical alias of a Pygments language name; Invalid for an unknown one."""
    try:
        lexer = get_lexer_by_name(name.strip().lower())
    except ClassNotFound:
        raise Invalid(f"Unknown language {name[:40]!r}.") from None
    return lexer.aliases[0] if lexer.aliases else PLAIN


def language_from_filename(filename: str) -> str | None:
    """The language a filename implies, or None."""
    try:
        lexer = get_lexer_for_filename(filename)
    except ClassNotFound:
        return None
    return lexer.aliases[0] if lexer.aliases else None


def detect_language(text: str, hint: str | None = None, filename: str | None = None) -> str:
    """Blocking for large texts (the guess): call it in an executor."""
    if hint:
        return canonical_language(hint)
    if filename:
        found = language_from_filename(filename)
        if found:
            return found
    return guess_language(text[:GUESS_SAMPLE])


# Pygments' own guess alone is poor on short snippets (plain Python often comes out as an
# obscure macro language), so a few telling line patterns of common languages vote first.
_TELLS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (language, re.compile(pattern, re.MULTILINE))
    for language, pattern in (
        (
            "python",
            r"^\s*(def \w+\(.*\)\s*(->.*)?:|class \w+(\(.*\))?:|from [\w.]+ import |import \w+$|elif .*:$)",
        ),
        ("javascript", r"^\s*(const|let|var) \w+ = |=> \{|function \w*\(|console\.log\(|require\("),
        (
            "typescript",
            r"^\s*(interface \w+ \{|type \w+ = |export (interface|type) )|: (string|number|boolean)[;,)]",
        ),
        ("rust", r"^\s*(fn \w+|pub fn |impl\b|use \w+::|let mut |#\[derive)"),
        ("go", r"^\s*(package \w+$|func (\(\w+ \*?\w+\) )?\w+\(|import \(|\w+ := )"),
        ("java", r"^\s*(public (static )?(class|void|final)|System\.out\.print|import java\.)"),
        ("c", r"^\s*#include <\w+\.h>|^\s*int main\(|printf\("),
        ("cpp", r"^\s*#include <\w+>$|std::|^\s*template ?<|cout <<"),
        ("csharp", r"^\s*using System|namespace \w+|Console\.Write"),
        ("bash", r"^#!/(usr/)?bin/(env )?(ba)?sh|^\s*(echo|export|fi|done|esac)\b|\$\{\w+\}"),
        ("sql", r"(?i)^\s*(select .+ from|insert into|create table|update \w+ set|delete from)\b"),
        ("html", r"(?i)<(!doctype html|html|div|body|span|p)[ >]"),
        ("css", r"^\s*[.#]?[\w-]+\s*\{\s*$|^\s*[\w-]+: [^;]+;\s*$"),
        ("json", r"^\s*[{\[]\s*$|^\s*\"[\w-]+\": "),
        ("yaml", r"^\w[\w-]*:( |$)|^\s*- \w+: "),
        ("toml", r"^\[[\w.-]+\]$|^\w+ = (\"|\d|\[|true|false)"),
        ("php", r"<\?php|\$\w+ = |->\w+\("),
        ("ruby", r"^\s*(def \w+[^:]*$|end$|require '|puts )"),
        ("lua", r"^\s*(local \w+ = |function \w+\(.*\)$|end$)"),
        ("kotlin", r"^\s*(fun \w+\(|val \w+ = |data class )"),
        ("diff", r"^(---|\+\+\+) \S|^@@ -\d+"),
        ("markdown", r"^#{1,6} \w|^```|^\s*[-*] \[[ x]\] "),
    )
)


def guess_language(sample: str) -> str:
    """The best-supported guess for a snippet, or plain text when nothing is convincing."""
    votes = {language: len(tell.findall(sample)) for language, tell in _TELLS}
    ranked = sorted(votes.values(), reverse=True)
    if ranked[0] > 0 and ranked[0] > ranked[1]:
        return max(votes, key=lambda language: votes[language])
    try:
        lexer = guess_lexer(sample)
    except ClassNotFound:
        return PLAIN
    confident = lexer.analyse_text(sample) >= 0.5
    return lexer.aliases[0] if confident and lexer.aliases else PLAIN


def count_lines(text: str) -> int:
    """Lines as an editor shows them: a final newline does not start another line."""
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)
