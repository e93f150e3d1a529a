"""The content service: the one place that decides anything about links, pastes and files.

`ContentService` (front.py) is what every front end calls; its work lives in the modules beside
it: recording.py (options, ids, the insert), uploads.py (staging, quota, the blob store),
reading.py, listing.py (an owner's pages), owning.py (an owner's changes), removing.py,
owners.py, guilds.py, reminders.py and blobs.py, and for the web's signed-in people sessions.py
and accounts.py, on the shared core.py.
"""

from __future__ import annotations

from bot.service.front import ContentService
from bot.service.ids import ALIAS_PATTERN, ID_PATTERN, RESERVED
from bot.service.policy import MAX_PASSWORD, MAX_VIEWS_LIMIT
from bot.service.uploads import IMAGE_TYPES, MAX_FILENAME, clean_filename

__all__ = [
    "ALIAS_PATTERN",
    "ID_PATTERN",
    "IMAGE_TYPES",
    "MAX_FILENAME",
    "MAX_PASSWORD",
    "MAX_VIEWS_LIMIT",
    "RESERVED",
    "ContentService",
    "clean_filename",
]
