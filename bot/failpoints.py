"""Failpoints: named places where a test can have the process killed, to prove crash safety.

Set REFBIN_FAILPOINTS to a comma-separated list of names (e.g. `upload.renamed`) and the process
kills itself with SIGKILL on reaching one: no cleanup, no flush, exactly like a power cut.
Read once at import; with the variable unset, `reach` is a set lookup on an empty set.
"""

from __future__ import annotations

import os
import signal

ARMED = frozenset(filter(None, os.environ.get("REFBIN_FAILPOINTS", "").split(",")))


def reach(name: str) -> None:
    """Kill the process here if the failpoint `name` is armed."""
    if name in ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
