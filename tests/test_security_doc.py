"""docs/SECURITY.md cannot drift: every test it cites as proof exists, and every claim cites one.

The tests are found the way pytest finds them (`--collect-only` in a subprocess), so a renamed
or deleted test, or a module that no longer imports, fails here with the references it broke.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "SECURITY.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")


def references(text: str) -> set[tuple[str, str]]:
    return set(REFERENCE.findall(text))


def collected(files: set[str]) -> set[tuple[str, str]]:
    """(file, test function) for every test pytest collects from `files`."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *sorted(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    found = set()
    for line in run.stdout.splitlines():
        path, sep, name = line.partition("::")
        if sep:
            found.add((path, name.split("[", 1)[0]))
    assert found, run.stdout[-2000:] + run.stderr[-2000:]
    return found


def test_the_reference_pattern_reads_plain_and_parametrised_names() -> None:
    text = "`tests/test_a.py::test_b` and `tests/test_c.py::test_d[x-1]`, not tests/x.py::test_y"
    assert references(text) == {("tests/test_a.py", "test_b"), ("tests/test_c.py", "test_d")}


def test_every_test_the_threat_model_cites_exists() -> None:
    cited = references(DOC.read_text())
    assert len(cited) >= 80, len(cited)
    files = {path for path, _ in cited}
    missing_files = sorted(path for path in files if not (ROOT / path).is_file())
    assert missing_files == []
    missing = sorted(cited - collected(files))
    assert missing == [], "docs/SECURITY.md cites tests that do not exist: " + ", ".join(
        f"{path}::{name}" for path, name in missing
    )


def test_every_claim_of_the_threat_model_cites_a_test() -> None:
    """Each bullet under "Who attacks" ends with the tests that prove it."""
    text = DOC.read_text()
    attacks = text.split("## Who attacks", 1)[1].split("\n## ", 1)[0]
    bullets = re.split(r"\n- ", attacks)[1:]
    assert len(bullets) >= 40
    for bullet in bullets:
        assert references(bullet), bullet[:200]
