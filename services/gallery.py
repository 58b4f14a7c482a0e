"""The face gallery: enrolled embeddings in one SQLite file, shared by every TorchServe worker process.

    from services.gallery import Gallery
    g = Gallery("/var/lib/dlzoo/faces.sqlite")
    g.add("alice", vector)            # -> 1 (alice's image count after adding)
    g.names(); g.count("alice")       # -> ["alice"], 1
    names, matrix = g.embeddings()    # every row: names[i] owns matrix[i] (float32, n x D)
    g.delete("alice")                 # -> 1 (rows removed)
    g.add("bob", vector, model="dlib:55533b28a958", chip=png_bytes)   # which model made it; the aligned face
    g.models()                        # -> {"dlib:55533b28a958": 1, None: 1}: rows per embedding model
    g.faces()                         # (id, name, model, chip, aligned) of every row: dlzoo face reenroll
    g.replace({row_id: vector}, model)  # rows re-embedded, in one transaction

The file and its ``-wal``/``-shm`` companions are created mode 0600 (owner only: faces are biometric
data). Several workers enroll and identify at once, so the file runs in WAL mode (readers never block the
writer) with a busy timeout, and every write is one ``BEGIN IMMEDIATE`` transaction: a writer takes
the write lock before it reads, so concurrent enrolls queue up instead of losing rows or failing.
Each process opens its own connection lazily and reopens it after ``fork`` (SQLite connections must
not cross a fork). ``embeddings()`` keeps all rows in memory and re-reads them only when
``PRAGMA data_version`` says another connection committed, or when this one wrote.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    embedding BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_name ON embeddings (name);
"""
# Added later (a gallery from before gets them, NULL in its rows): the model that made each embedding
# (a vector is only comparable with vectors of the same model), and the aligned face it was made from (so
# that another model can embed it again: dlzoo face reenroll).
COLUMNS = {"model": "TEXT", "chip": "BLOB", "aligned": "INTEGER"}

PRIVATE = 0o600  # the mode of the gallery's files
_INHERITED: list[sqlite3.Connection] = []  # connections a fork left behind (see Gallery._db)


class Gallery:
    """Named float32 embeddings in SQLite; safe to use from several processes (and threads) at once."""

    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()  # one connection per process: its threads take turns
        self._cache: tuple[int, list[str], np.ndarray] | None = None  # (data_version, names, matrix)
        self._models: tuple[int, dict] | None = None  # (data_version, rows per model)

    # -- connection -------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """This process's connection (call with ``self._lock`` held)."""
        if self._conn is None or self._pid != os.getpid():
            if self._conn is not None:
                # Inherited across a fork: never used again, and never closed either (kept referenced so
                # that garbage collection does not close it): SQLite's close could checkpoint and unlink
                # the WAL the parent still uses. data_version values are per connection: the cache goes too.
                _INHERITED.append(self._conn)
            self._conn, self._cache, self._models = None, None, None
            self._create_private()
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                self._set_wal(conn)
                # WAL + NORMAL: no fsync per commit; a power cut may lose the last commits, never corrupts.
                conn.execute("PRAGMA synchronous = NORMAL")
                with _transaction(conn):  # not executescript(): it would COMMIT first
                    for statement in filter(str.strip, SCHEMA.split(";")):
                        conn.execute(statement)
                    have = {row[1] for row in conn.execute("PRAGMA table_info(embeddings)")}
                    for column, kind in COLUMNS.items():
                        if column not in have:
                            conn.execute(f"ALTER TABLE embeddings ADD COLUMN {column} {kind}")
            except BaseException:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _create_private(self) -> None:
        """Create the file for its owner alone (0600, whatever the umask; SQLite gives the ``-wal`` and ``-shm``
        files the database's mode). Existing files of ours with wider permissions are narrowed to 0600."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE))
        for path in (self.path, *(self.path.with_name(self.path.name + end) for end in ("-wal", "-shm"))):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~PRIVATE:
                path.chmod(PRIVATE)

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs an exclusive lock, and SQLite may answer "locked" at once
        # instead of waiting when many processes open the file together: retry until the timeout.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            elif self._conn is not None:
                _INHERITED.append(self._conn)
            self._conn, self._cache, self._models = None, None, None

    # -- writes -----------------------------------------------------------------------------------
    def add(self, name: str, embedding, model: str | None = None, chip: bytes | None = None,
            aligned: bool = True) -> int:
        """Enroll one embedding under ``name`` (made by ``model``, from the face image ``chip``: PNG bytes, aligned
        or a crop taken as is); returns how many ``name`` now has."""
        vector = np.ascontiguousarray(embedding, dtype=np.float32)
        if vector.ndim != 1 or vector.size == 0 or not np.isfinite(vector).all():
            raise ValueError(f"an embedding must be a non-empty finite 1-D vector, got shape {vector.shape}")
        with self._lock:
            conn = self._db()
            with _transaction(conn):
                row = conn.execute("SELECT length(embedding) FROM embeddings LIMIT 1").fetchone()
                if row is not None and row[0] != vector.nbytes:
                    # A model with another embedding size would make every distance meaningless.
                    raise ValueError(f"embedding has {vector.size} dimensions; the gallery holds {row[0] // 4}")
                conn.execute("INSERT INTO embeddings (name, embedding, created, model, chip, aligned) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (name, vector.tobytes(), time.time(), model, chip, int(aligned)))
                count = conn.execute("SELECT COUNT(*) FROM embeddings WHERE name = ?", (name,)).fetchone()[0]
            self._cache = self._models = None  # data_version does not move for this connection's own commits
        return count

    def delete(self, name: str) -> int:
        """Remove every embedding of ``name``; returns how many rows went."""
        with self._lock:
            conn = self._db()
            with _transaction(conn):
                removed = conn.execute("DELETE FROM embeddings WHERE name = ?", (name,)).rowcount
            self._cache = self._models = None
        return removed

    def replace(self, vectors: dict[int, np.ndarray], model: str) -> None:
        """Rows ``{id: embedding}`` made again by ``model``, all in one transaction (``dlzoo face reenroll``): no
        reader ever sees a gallery half of one model, half of another."""
        blobs = []
        for row_id, embedding in vectors.items():
            vector = np.ascontiguousarray(embedding, dtype=np.float32)
            if vector.ndim != 1 or vector.size == 0 or not np.isfinite(vector).all():
                raise ValueError(f"an embedding must be a non-empty finite 1-D vector, got shape {vector.shape}")
            blobs.append((vector.tobytes(), model, int(row_id)))
        with self._lock:
            conn = self._db()
            with _transaction(conn):
                conn.executemany("UPDATE embeddings SET embedding = ?, model = ? WHERE id = ?", blobs)
            self._cache = self._models = None

    def delete_rows(self, row_ids: list[int]) -> int:
        """Remove rows by id; returns how many went."""
        with self._lock:
            conn = self._db()
            with _transaction(conn):
                removed = sum(conn.execute("DELETE FROM embeddings WHERE id = ?", (int(i),)).rowcount for i in row_ids)
            self._cache = self._models = None
        return removed

    # -- reads ------------------------------------------------------------------------------------
    def models(self) -> dict[str | None, int]:
        """Rows per embedding model (None: rows enrolled before the gallery recorded models). Asked on every
        request, so cached like ``embeddings()``: re-read when another connection committed or this one wrote."""
        with self._lock:
            conn = self._db()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if self._models is None or self._models[0] != version:
                self._models = (version, dict(conn.execute("SELECT model, COUNT(*) FROM embeddings GROUP BY model")))
            return dict(self._models[1])

    def faces(self) -> list[tuple[int, str, str | None, bytes | None, bool]]:
        """``(id, name, model, chip, aligned)`` of every row, in enrolment order."""
        with self._lock:
            rows = self._db().execute("SELECT id, name, model, chip, aligned FROM embeddings ORDER BY id").fetchall()
        return [(i, n, m, c, bool(a) if a is not None else True) for i, n, m, c, a in rows]

    def names(self) -> list[str]:
        """Every enrolled name, sorted."""
        with self._lock:
            return [r[0] for r in self._db().execute("SELECT DISTINCT name FROM embeddings ORDER BY name")]

    def count(self, name: str) -> int:
        """How many embeddings ``name`` has (0: not enrolled)."""
        with self._lock:
            return self._db().execute("SELECT COUNT(*) FROM embeddings WHERE name = ?", (name,)).fetchone()[0]

    def embeddings(self, name: str | None = None) -> tuple[list[str], np.ndarray]:
        """``(names, matrix)``: row ``i`` of the float32 ``matrix`` (n x D) belongs to ``names[i]``.

        All rows, or only ``name``'s. No rows: ``([], array of shape (0, 0))``. The matrix is read-only
        (it may be the cache).
        """
        with self._lock:
            conn = self._db()
            if name is not None:
                return _matrix(conn.execute("SELECT name, embedding FROM embeddings WHERE name = ? ORDER BY id",
                                            (name,)).fetchall())
            # The version is read *before* the rows: a commit in between only costs one extra re-read,
            # never a stale cache under a new version.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if self._cache is None or self._cache[0] != version:
                names, matrix = _matrix(conn.execute("SELECT name, embedding FROM embeddings ORDER BY id").fetchall())
                self._cache = (version, names, matrix)
            return list(self._cache[1]), self._cache[2]


@contextmanager
def _transaction(conn: sqlite3.Connection):
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""
    conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no read-then-upgrade deadlock
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _matrix(rows: list[tuple[str, bytes]]) -> tuple[list[str], np.ndarray]:
    if not rows:
        matrix = np.zeros((0, 0), dtype=np.float32)
    else:
        matrix = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
    matrix.setflags(write=False)
    return [n for n, _ in rows], matrix
