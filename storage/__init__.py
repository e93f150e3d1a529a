"""Blob stores: content-addressed bytes behind one small interface."""

from __future__ import annotations

from storage.base import BlobStore, BlobTooLarge, StagedBlob, StorageFull
from storage.local import LocalBlobStore
from storage.staging import Stager

__all__ = ["BlobStore", "BlobTooLarge", "LocalBlobStore", "StagedBlob", "Stager", "StorageFull"]
