"""SQLite run store: runs, hash-chained blocks, extrinsics, events, epochs, checkpoints.

One file may hold several runs. Writes are buffered per block in memory and committed by
``flush`` (or ``save_checkpoint``, ``truncate_after``, ``set_status``) in one transaction, so a
killed process loses only unflushed blocks and never leaves half a block or a checkpoint without
the blocks it follows.

Pragmas: WAL journal, ``synchronous=NORMAL``, foreign keys on. In WAL mode NORMAL keeps every
commit atomic and the file uncorrupted across a process kill *and* a power loss; what a power loss
may cost is the last few commits, which a resume recomputes from the last checkpoint anyway.
FULL would add an fsync per commit for no gain here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from subnetsim.subnet.errors import StoreError
from subnetsim.subnet.records import (
    BlockRecord,
    EpochRecord,
    EventRecord,
    ExtrinsicRecord,
)
from subnetsim.subnet.store.rows import (
    INT64_RANGE,
    SCHEMA_VERSION,
    block_from_row,
    connect,
    dumps_json,
    epoch_from_row,
    epoch_row,
    event_from_row,
    event_row,
    extrinsic_from_row,
    extrinsic_row,
    loads_json,
    not_int64,
    prepare_schema,
    require_json,
)
from subnetsim.subnet.store.writers import Claim, holder_alive, own_claim

__all__ = ["SCHEMA_VERSION", "RunInfo", "RunStatus", "RunStore"]

RunStatus = Literal["running", "finished"]
_STATUSES = ("running", "finished")

# Children before parents, so foreign keys hold at every statement of a truncation.
_TRUNCATED_TABLES = (("extrinsics", "block"), ("events", "block"), ("epochs", "block"),
                     ("checkpoints", "block"), ("blocks", "number"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """One run's row: what it was started from and whether it finished."""

    run_id: int
    scenario_name: str
    config_json: str
    seed: int
    code_version: str
    status: RunStatus
    head_number: int | None = None  # the head recorded when the run finished
    head_hash: str | None = None


@dataclasses.dataclass(slots=True)
class _Pending:
    """Rows buffered since the last commit, per table, in insertion order."""

    blocks: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    extrinsics: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    events: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    epochs: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)


class RunStore:
    """A run store file; use as a context manager (a clean exit flushes, an exception does not).

    Args:
        path: the SQLite file.
        create: create the file and schema when missing; otherwise a missing file is an error.
        keep_checkpoints: how many latest checkpoints to keep per run (at least 1).

    Raises:
        StoreError: the file is not a SQLite database, not a run store, of another schema
            version, missing (with ``create=False``) or cannot be opened.
    """

    def __init__(self, path: str | Path, *, create: bool = True, keep_checkpoints: int = 2) -> None:
        if not_int64(keep_checkpoints) or keep_checkpoints < 1:
            raise StoreError(f"keep_checkpoints = {keep_checkpoints!r}: must be an integer >= 1")
        self.path = Path(path)
        self._keep = keep_checkpoints
        self._pending = _Pending()
        self._last_number: dict[int, int] = {}  # run_id -> newest appended block number
        self._claimed: set[int] = set()  # runs this object is the writer of
        self._conn = connect(self.path, create)
        try:
            prepare_schema(self._conn, self.path, create)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            reason = ("not a SQLite database" if exc.sqlite_errorname == "SQLITE_NOTADB"
                      else f"cannot open run store ({exc})")
            raise StoreError(f"{self.path}: {reason}") from exc
        except UnicodeDecodeError:  # SQLite's own message about a damaged schema is not UTF-8
            self._conn.close()
            raise StoreError(f"{self.path}: cannot open run store (damaged schema)") from None
        except StoreError:
            self._conn.close()
            raise

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, keep_checkpoints: int = 2) -> RunStore:
        """Open (or create) a run store; see the class docstring."""
        return cls(path, create=create, keep_checkpoints=keep_checkpoints)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self.close(flush=exc_type is None)

    def close(self, *, flush: bool = True) -> None:
        """Close the file, flushing buffered blocks first unless ``flush`` is False."""
        try:
            if flush:
                self.flush()
        finally:
            try:
                self._release_claims()
            finally:
                self._conn.close()

    def create_run(self, *, scenario_name: str, config_json: str, seed: int,
                   code_version: str) -> int:
        """Record a new run (status ``running``) and return its id; ids grow in creation order."""
        require_json("config_json", config_json)
        if not_int64(seed) or not INT64_RANGE[0] <= seed <= INT64_RANGE[1]:
            raise StoreError(f"seed = {seed!r}: must be an integer in the signed 64-bit range")
        if not isinstance(scenario_name, str) or not isinstance(code_version, str):
            raise StoreError("scenario_name and code_version must be strings")
        with self._transaction():
            cursor = self._conn.execute(
                "INSERT INTO runs (scenario_name, config_json, seed, code_version, status)"
                " VALUES (?, ?, ?, ?, 'running')", (scenario_name, config_json, seed, code_version))
            assert cursor.lastrowid is not None
            self._conn.execute("INSERT INTO writers VALUES (?, ?, ?, ?)",
                               (cursor.lastrowid, *own_claim()))
        self._claimed.add(cursor.lastrowid)
        return cursor.lastrowid

    def claim_writer(self, run_id: int) -> None:
        """Become the run's only writer; StoreError naming the holder if a live process is.

        A claim left by a process that is gone (killed) is taken over."""
        self.run(run_id)
        if run_id in self._claimed:
            return
        with self._transaction():
            row = self._conn.execute("SELECT pid, host, started FROM writers WHERE run_id = ?",
                                     (run_id,)).fetchone()
            holder: Claim | None = None if row is None else (row[0], row[1], row[2])
            if holder is not None and holder_alive(holder):
                raise StoreError(f"{self.path}: run {run_id} is being written by pid {holder[0]}"
                                 f" on host {holder[1]}; wait for it to end (or stop it)")
            self._conn.execute("INSERT OR REPLACE INTO writers VALUES (?, ?, ?, ?)",
                               (run_id, *own_claim()))
        self._claimed.add(run_id)

    def _release_claims(self) -> None:
        pid = own_claim()[0]
        for run_id in sorted(self._claimed):
            with contextlib.suppress(sqlite3.Error, StoreError), self._transaction():
                self._conn.execute("DELETE FROM writers WHERE run_id = ? AND pid = ?",
                                   (run_id, pid))
        self._claimed.clear()

    def _require_writer(self, run_id: int) -> None:
        if run_id not in self._claimed:
            self.claim_writer(run_id)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[RunStore]:
        """Read inside one transaction: every query sees the same committed state, however a
        live writer moves on meanwhile (WAL readers never block it)."""
        self._conn.execute("BEGIN")
        try:
            self._conn.execute("SELECT COUNT(*) FROM meta").fetchone()  # pins the snapshot
            yield self
        finally:
            self._conn.execute("COMMIT")

    def finish_run(self, run_id: int) -> None:
        """Commit buffered blocks, set the run ``finished`` and record its head."""
        self._require_writer(run_id)
        with self._transaction(with_pending=True):
            head = self._conn.execute("SELECT number, hash FROM blocks WHERE run_id = ? ORDER BY"
                                      " number DESC LIMIT 1", (run_id,)).fetchone()
            number, hash_ = (None, None) if head is None else (head[0], head[1])
            self._conn.execute("UPDATE runs SET status = 'finished', head_number = ?,"
                               " head_hash = ? WHERE run_id = ?", (number, hash_, run_id))

    def runs(self) -> list[RunInfo]:
        """All runs, oldest first."""
        rows = self._conn.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
        return [RunInfo(**dict(row)) for row in rows]

    def run(self, run_id: int) -> RunInfo:
        """One run's row; StoreError if there is no such run."""
        if not_int64(run_id) or not INT64_RANGE[0] <= run_id <= INT64_RANGE[1]:
            raise StoreError(f"{self.path}: no run {run_id!r}")
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: no run {run_id!r}")
        return RunInfo(**dict(row))

    def latest_run_id(self) -> int:
        """The most recently created run's id; StoreError if the store holds no run."""
        row = self._conn.execute("SELECT MAX(run_id) FROM runs").fetchone()
        if row[0] is None:
            raise StoreError(f"{self.path}: the store holds no run")
        return int(row[0])

    def set_status(self, run_id: int, status: RunStatus) -> None:
        """Set a run's status, committing buffered blocks in the same transaction first;
        ``finished`` records the head too (``finish_run``)."""
        if status not in _STATUSES:
            raise StoreError(f"status = {status!r}: must be one of {', '.join(_STATUSES)}")
        if status == "finished":
            self.finish_run(run_id)
            return
        self._require_writer(run_id)
        with self._transaction(with_pending=True):
            self._conn.execute("UPDATE runs SET status = ?, head_number = NULL, head_hash = NULL"
                               " WHERE run_id = ?", (status, run_id))

    @property
    def pending_blocks(self) -> int:
        """How many appended blocks are buffered, waiting for a flush."""
        return len(self._pending.blocks)

    def append_block(self, run_id: int, block: BlockRecord, extrinsics: Sequence[ExtrinsicRecord],
                     events: Sequence[EventRecord] = (), epoch: EpochRecord | None = None) -> None:
        """Buffer one block with its extrinsics, events and epoch; nothing is visible until flush.

        Raises:
            StoreError: unknown run, a block number not above the previous one, a record of
                another block, extrinsic indices not 0..k-1, or data that is not plain JSON.
        """
        number = block.number
        last = self._last_number.get(run_id)
        if last is None:
            self._require_writer(run_id)
            last = self._stored_head_number(run_id)
        if last is not None and number <= last:
            raise StoreError(f"run {run_id} block {number}: not above the previous block {last}")
        where = f"run {run_id} block {number}"
        extrinsic_rows = [extrinsic_row(run_id, number, position, extrinsic, where)
                          for position, extrinsic in enumerate(extrinsics)]
        event_rows = [event_row(run_id, number, seq, event, where)
                      for seq, event in enumerate(events)]
        epoch_rows = [] if epoch is None else [epoch_row(run_id, number, epoch, where)]
        # Rows are built first and extended last, so the buffer only ever holds whole blocks.
        self._pending.blocks.append((run_id, number, float(block.time), block.parent_hash,
                                     block.extrinsics_hash, block.state_root, block.hash))
        self._pending.extrinsics.extend(extrinsic_rows)
        self._pending.events.extend(event_rows)
        self._pending.epochs.extend(epoch_rows)
        self._last_number[run_id] = number

    def flush(self) -> None:
        """Commit every buffered block in one transaction."""
        if self._pending.blocks:
            with self._transaction(with_pending=True):
                pass  # the buffered rows are the whole transaction

    def save_checkpoint(self, run_id: int, block_number: int, state: bytes) -> None:
        """Commit buffered blocks and a checkpoint atomically, keeping the latest K per run."""
        if not isinstance(state, bytes | bytearray | memoryview):
            raise StoreError(f"checkpoint state: expected bytes, got {type(state).__name__}")
        self._require_writer(run_id)
        with self._transaction(with_pending=True):
            self._conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                               (run_id, block_number, bytes(state)))
            self._conn.execute(
                "DELETE FROM checkpoints WHERE run_id = ? AND block NOT IN (SELECT block FROM"
                " checkpoints WHERE run_id = ? ORDER BY block DESC LIMIT ?)",
                (run_id, run_id, self._keep))

    def latest_checkpoint(self, run_id: int) -> tuple[int, bytes] | None:
        """The newest checkpoint as ``(block_number, state)``, or None."""
        self.run(run_id)
        row = self._conn.execute(
            "SELECT block, state FROM checkpoints WHERE run_id = ? ORDER BY block DESC LIMIT 1",
            (run_id,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def checkpoints(self, run_id: int) -> list[tuple[int, bytes]]:
        """Every stored checkpoint of a run as ``(block_number, state)``, oldest first."""
        self.run(run_id)
        rows = self._conn.execute("SELECT block, state FROM checkpoints WHERE run_id = ?"
                                  " ORDER BY block", (run_id,)).fetchall()
        return [(int(row[0]), bytes(row[1])) for row in rows]

    def orphan_rows(self, run_id: int) -> dict[str, int]:
        """Rows of a run that name a block the run does not hold (only a hand edit with
        foreign keys off makes them), per table."""
        counts = {}
        for table in ("extrinsics", "events", "epochs", "checkpoints"):
            row = self._conn.execute(
                f"SELECT COUNT(*) FROM {table} AS t WHERE t.run_id = ? AND NOT EXISTS (SELECT 1"
                " FROM blocks AS b WHERE b.run_id = t.run_id AND b.number = t.block)",
                (run_id,)).fetchone()
            if row[0]:
                counts[table] = int(row[0])
        return counts

    def truncate_after(self, run_id: int, block_number: int) -> None:
        """Delete everything of a run after a block (blocks, extrinsics, events, epochs, and
        checkpoints, whose blocks would be gone); buffered blocks are committed first."""
        self._require_writer(run_id)
        with self._transaction(with_pending=True):
            for table, column in _TRUNCATED_TABLES:
                self._conn.execute(f"DELETE FROM {table} WHERE run_id = ? AND {column} > ?",
                                   (run_id, block_number))
            self._conn.execute("UPDATE runs SET status = 'running', head_number = NULL,"
                               " head_hash = NULL WHERE run_id = ?", (run_id,))
        self._last_number.pop(run_id, None)

    def head(self, run_id: int) -> BlockRecord | None:
        """The newest stored block (its hash is the run digest), or None for an empty run."""
        self.run(run_id)
        row = self._conn.execute("SELECT * FROM blocks WHERE run_id = ? ORDER BY number DESC"
                                 " LIMIT 1", (run_id,)).fetchone()
        return None if row is None else block_from_row(row)

    def block(self, run_id: int, number: int) -> BlockRecord:
        """One stored block; StoreError if absent."""
        self.run(run_id)
        if not_int64(number) or not INT64_RANGE[0] <= number <= INT64_RANGE[1]:
            raise StoreError(f"run {run_id} has no block {number!r}")
        row = self._conn.execute("SELECT * FROM blocks WHERE run_id = ? AND number = ?",
                                 (run_id, number)).fetchone()
        if row is None:
            self.run(run_id)
            raise StoreError(f"run {run_id} has no block {number!r}")
        return block_from_row(row)

    def blocks(self, run_id: int) -> Iterator[BlockRecord]:
        """Stored blocks in ascending order, streamed."""
        self.run(run_id)
        rows = self._conn.execute("SELECT * FROM blocks WHERE run_id = ? ORDER BY number",
                                  (run_id,))
        return (block_from_row(row) for row in rows)

    def extrinsics(self, run_id: int, block_number: int) -> list[ExtrinsicRecord]:
        """A block's extrinsics in inclusion order (empty for a block without any)."""
        rows = self._conn.execute("SELECT * FROM extrinsics WHERE run_id = ? AND block = ?"
                                  " ORDER BY idx", (run_id, block_number)).fetchall()
        if not rows:
            self.run(run_id)
        return [extrinsic_from_row(row) for row in rows]

    def events(self, run_id: int, kinds: Iterable[str] | str | None = None
               ) -> Iterator[EventRecord]:
        """A run's events in (block, emission) order, optionally only some kinds."""
        self.run(run_id)
        sql, params = "SELECT * FROM events WHERE run_id = ?", [str(run_id)]
        if kinds is not None:
            wanted = [kinds] if isinstance(kinds, str) else list(kinds)
            sql += f" AND kind IN ({', '.join('?' * len(wanted))})"
            params += wanted
        rows = self._conn.execute(sql + " ORDER BY block, seq", params)
        return (event_from_row(row) for row in rows)

    def epochs(self, run_id: int) -> Iterator[EpochRecord]:
        """A run's epochs by index, streamed."""
        self.run(run_id)
        rows = self._conn.execute("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch_index",
                                  (run_id,))
        return (epoch_from_row(row) for row in rows)

    def epoch_at_or_before(self, run_id: int, block: int) -> EpochRecord | None:
        """The latest epoch computed at or before ``block``, or None."""
        self.run(run_id)
        block = min(max(block, INT64_RANGE[0]), INT64_RANGE[1])  # SQLite integers are 64-bit
        row = self._conn.execute(
            "SELECT * FROM epochs WHERE run_id = ? AND block <= ?"
            " ORDER BY block DESC, epoch_index DESC LIMIT 1", (run_id, block)).fetchone()
        return None if row is None else epoch_from_row(row)

    def append_command(self, run_id: int, sim_time: float, command: Mapping[str, Any]) -> None:
        """Commit one UI command at once, with the sim time it applies at (for replays)."""
        self._require_writer(run_id)
        text = dumps_json(dict(command), f"run {run_id} command at {sim_time!r}")
        with self._transaction():
            self._conn.execute(
                "INSERT INTO commands SELECT ?, COALESCE(MAX(seq) + 1, 0), ?, ? FROM commands"
                " WHERE run_id = ?", (run_id, float(sim_time), text, run_id))

    def commands(self, run_id: int) -> list[tuple[float, dict[str, Any]]]:
        """A run's command log as ``(sim_time, command)`` in recording order."""
        self.run(run_id)
        rows = self._conn.execute("SELECT sim_time, command_json FROM commands WHERE run_id = ?"
                                  " ORDER BY seq", (run_id,)).fetchall()
        return [(float(row[0]), loads_json(row[1], f"run {run_id} command")) for row in rows]

    def _stored_head_number(self, run_id: int) -> int | None:
        self.run(run_id)
        row = self._conn.execute("SELECT MAX(number) FROM blocks WHERE run_id = ?",
                                 (run_id,)).fetchone()
        return None if row[0] is None else int(row[0])

    @contextlib.contextmanager
    def _transaction(self, *, with_pending: bool = False) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` .. ``COMMIT``, first writing the buffered rows if ``with_pending``.

        Any exception rolls everything back and keeps the buffer (a failed flush can be
        retried); the buffer is emptied only once its rows are committed.
        """
        committed = False
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if with_pending:
                    self._write_pending()
                yield
                self._conn.execute("COMMIT")
                committed = True
            finally:
                if not committed:
                    self._conn.rollback()
        # Locked, read-only, disk full, a clashing row: the user's environment, not our bug
        # (ProgrammingError and friends still propagate as they are).
        except (sqlite3.OperationalError, sqlite3.IntegrityError) as exc:
            raise StoreError(f"{self.path}: write failed: {exc}") from exc
        if with_pending:
            self._pending = _Pending()

    def _write_pending(self) -> None:
        """Insert buffered rows, parents before children."""
        pending = self._pending
        self._conn.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?)", pending.blocks)
        self._conn.executemany("INSERT INTO extrinsics VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               pending.extrinsics)
        self._conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", pending.events)
        self._conn.executemany("INSERT INTO epochs VALUES (?, ?, ?, ?, ?, ?)", pending.epochs)
