"""The call and run history: a SQLite (WAL) record under the state directory."""

from __future__ import annotations

from tfhook.history.recorder import DB_NAME, History
from tfhook.history.records import CallEnd, CallStart, Recorder, Ref, RunEnd, RunStart

__all__ = ["DB_NAME", "CallEnd", "CallStart", "History", "Recorder", "Ref", "RunEnd", "RunStart"]
