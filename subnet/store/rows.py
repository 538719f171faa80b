"""Rows of the run store: its SQL schema, and records to and from table rows.

Kept apart from ``subnet/store.py`` (the store's transactions and queries) so each module has
one job: this one knows the byte-exact row formats, that one when and how rows are written.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from subnetsim.subnet.errors import StoreError
from subnetsim.subnet.records import (
    BlockRecord,
    EpochRecord,
    EventRecord,
    ExtrinsicRecord,
    canonical_json,
    epoch_from_data,
    epoch_to_data,
)

SCHEMA_VERSION = 2  # 2: run heads, writer claims, data-only checkpoints
INT64_RANGE = (-(2**63), 2**63 - 1)

SCHEMA_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY, scenario_name TEXT NOT NULL, config_json TEXT NOT NULL,
    seed INTEGER NOT NULL, code_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished')),
    head_number INTEGER, head_hash TEXT);
CREATE TABLE writers (
    run_id INTEGER PRIMARY KEY REFERENCES runs, pid INTEGER NOT NULL, host TEXT NOT NULL,
    started TEXT);
CREATE TABLE blocks (
    run_id INTEGER NOT NULL REFERENCES runs, number INTEGER NOT NULL, time REAL NOT NULL,
    parent_hash TEXT NOT NULL, extrinsics_hash TEXT NOT NULL, state_root TEXT NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (run_id, number)) WITHOUT ROWID;
CREATE TABLE extrinsics (
    run_id INTEGER NOT NULL, block INTEGER NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,
    hotkey TEXT NOT NULL, payload_json TEXT NOT NULL,
    accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)), error TEXT,
    PRIMARY KEY (run_id, block, idx), FOREIGN KEY (run_id, block) REFERENCES blocks);
CREATE TABLE events (
    run_id INTEGER NOT NULL, block INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    data_json TEXT NOT NULL,
    PRIMARY KEY (run_id, block, seq), FOREIGN KEY (run_id, block) REFERENCES blocks);
CREATE INDEX events_by_kind ON events (run_id, kind, block, seq);
CREATE TABLE epochs (
    run_id INTEGER NOT NULL, epoch_index INTEGER NOT NULL, block INTEGER NOT NULL,
    inputs_json TEXT NOT NULL, params_json TEXT NOT NULL, outputs_json TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch_index), FOREIGN KEY (run_id, block) REFERENCES blocks);
CREATE INDEX epochs_by_block ON epochs (run_id, block);
CREATE TABLE checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs, block INTEGER NOT NULL, state BLOB NOT NULL,
    PRIMARY KEY (run_id, block));
CREATE TABLE commands (
    run_id INTEGER NOT NULL REFERENCES runs, seq INTEGER NOT NULL, sim_time REAL NOT NULL,
    command_json TEXT NOT NULL, PRIMARY KEY (run_id, seq));
"""


def connect(path: Path, create: bool) -> sqlite3.Connection:
    # mode=rw makes SQLite itself refuse a missing file: no exists()-then-open race.
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0)
    except sqlite3.OperationalError as exc:
        reason = "no such file" if not create and not path.exists() else str(exc)
        raise StoreError(f"{path}: cannot open run store ({reason})") from exc
    conn.row_factory = sqlite3.Row
    conn.text_factory = _text
    return conn


def _text(raw: bytes) -> str:
    """A TEXT value; a damaged or hand-edited one that is not UTF-8 is a StoreError."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError("run store: a text value is not UTF-8 (the file is damaged or"
                         " was edited)") from None


def prepare_schema(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    """Check (or create) the schema, then set the pragmas."""
    if not table_names(conn) and create:
        conn.execute("PRAGMA journal_mode = WAL")  # only outside a transaction
        conn.execute("BEGIN IMMEDIATE")
        if not table_names(conn):  # another process may have created it since we looked
            for statement in SCHEMA_SQL.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    tables = table_names(conn)
    if not tables:
        raise StoreError(f"{path}: empty file, not a subnetsim run store")
    if "meta" not in tables:
        raise StoreError(f"{path}: a SQLite database but not a subnetsim run store")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        found = "none" if row is None else row[0]
        raise StoreError(f"{path}: run store schema version {found}; this subnetsim reads"
                         f" version {SCHEMA_VERSION}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_size_limit = 67108864")  # shrink the WAL after big checkpoints


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def not_int64(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


# -- row codecs --------------------------------------------------------------------------------

def dumps_json(value: Any, where: str) -> str:
    try:
        return canonical_json(value)
    except (TypeError, ValueError) as exc:  # not JSON data (numpy scalar, NaN, set, ...)
        raise StoreError(f"{where}: not plain JSON data ({exc})") from exc


def loads_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{where}: stored JSON is corrupt ({exc})") from exc


def require_json(name: str, text: object) -> None:
    if not isinstance(text, str):
        raise StoreError(f"{name}: expected a JSON string, got {type(text).__name__}")
    loads_json(text, name)


def check_same_block(record_block: int, number: int, what: str, where: str) -> None:
    if record_block != number:
        raise StoreError(f"{where}: {what} belongs to block {record_block}")


def extrinsic_row(run_id: int, number: int, position: int, extrinsic: ExtrinsicRecord,
                   where: str) -> tuple[Any, ...]:
    check_same_block(extrinsic.block, number, f"extrinsic {position}", where)
    if extrinsic.index != position:
        raise StoreError(f"{where}: extrinsic at position {position} has index {extrinsic.index}")
    payload = dumps_json(extrinsic.payload, f"{where} extrinsic {position} payload")
    return (run_id, number, position, extrinsic.kind, extrinsic.hotkey, payload,
            int(bool(extrinsic.accepted)), extrinsic.error)


def event_row(run_id: int, number: int, seq: int, event: EventRecord,
               where: str) -> tuple[Any, ...]:
    check_same_block(event.block, number, f"event {seq} ({event.kind})", where)
    return (run_id, number, seq, event.kind, dumps_json(event.data, f"{where} event {seq} data"))


def epoch_row(run_id: int, number: int, epoch: EpochRecord, where: str) -> tuple[Any, ...]:
    check_same_block(epoch.block, number, f"epoch {epoch.index}", where)
    data = epoch_to_data(epoch)
    return (run_id, epoch.index, number,
            *(dumps_json(data[name], f"{where} epoch {epoch.index} {name}")
              for name in ("inputs", "params", "outputs")))


def block_from_row(row: sqlite3.Row) -> BlockRecord:
    return BlockRecord(number=row["number"], time=row["time"], parent_hash=row["parent_hash"],
                       extrinsics_hash=row["extrinsics_hash"], state_root=row["state_root"],
                       hash=row["hash"])


def extrinsic_from_row(row: sqlite3.Row) -> ExtrinsicRecord:
    where = f"run {row['run_id']} block {row['block']} extrinsic {row['idx']}"
    if row["accepted"] not in (0, 1):  # CHECK enforces it; a hand-edited file may not
        raise StoreError(f"{where}: accepted = {row['accepted']!r}, expected 0 or 1")
    return ExtrinsicRecord(block=row["block"], index=row["idx"], kind=row["kind"],
                           hotkey=row["hotkey"], payload=loads_json(row["payload_json"], where),
                           accepted=bool(row["accepted"]), error=row["error"])


def event_from_row(row: sqlite3.Row) -> EventRecord:
    where = f"run {row['run_id']} block {row['block']} event {row['seq']}"
    data = loads_json(row["data_json"], where)
    return EventRecord(block=row["block"], kind=row["kind"], data=data)


def epoch_from_row(row: sqlite3.Row) -> EpochRecord:
    where = f"run {row['run_id']} epoch {row['epoch_index']}"
    data = {"index": row["epoch_index"],
            "inputs": loads_json(row["inputs_json"], where + " inputs"),
            "params": loads_json(row["params_json"], where + " params"),
            "outputs": loads_json(row["outputs_json"], where + " outputs")}
    try:
        return epoch_from_data(row["block"], data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise StoreError(f"{where}: malformed epoch record ({error!r})") from None
