"""The SQLite face gallery: round trip, persistence, and several processes writing and reading at once.

    python -m pytest -q tests/unit/test_face_gallery.py
"""

import multiprocessing
import os
import sqlite3
import stat

import numpy as np
import pytest

from services.gallery import Gallery

# fork: the children inherit an already-open Gallery, which must notice and open its own connection.
FORK = multiprocessing.get_context("fork")


def vec(seed, dim=8):
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_round_trip(tmp_path):
    g = Gallery(tmp_path / "sub" / "g.sqlite")  # the parent folder is created
    assert g.names() == [] and g.count("alice") == 0
    names, matrix = g.embeddings()
    assert names == [] and matrix.shape == (0, 0)
    assert g.add("bob", vec(0)) == 1
    assert g.add("alice", vec(1)) == 1
    assert g.add("alice", vec(2)) == 2
    assert g.names() == ["alice", "bob"] and g.count("alice") == 2 and g.count("bob") == 1
    names, matrix = g.embeddings()
    assert names == ["bob", "alice", "alice"] and matrix.dtype == np.float32 and matrix.shape == (3, 8)
    np.testing.assert_array_equal(matrix[2], vec(2))
    names, matrix = g.embeddings("alice")
    assert names == ["alice", "alice"]
    np.testing.assert_array_equal(matrix, np.stack([vec(1), vec(2)]))
    assert g.delete("alice") == 2 and g.delete("alice") == 0
    assert g.names() == ["bob"] and g.embeddings()[0] == ["bob"]  # the cache saw this connection's delete


def test_the_file_is_wal_and_indexed(tmp_path):
    g = Gallery(tmp_path / "g.sqlite")
    g.add("a", vec(0))
    conn = sqlite3.connect(tmp_path / "g.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "embeddings_name" in [r[1] for r in conn.execute("PRAGMA index_list(embeddings)")]


def test_bad_embeddings_are_refused(tmp_path):
    g = Gallery(tmp_path / "g.sqlite")
    g.add("a", vec(0, dim=8))
    for bad in (vec(1, dim=4), np.zeros((2, 8)), np.array([np.nan] * 8), np.zeros(0)):
        with pytest.raises(ValueError):
            g.add("a", bad)
    assert g.count("a") == 1  # a refused add leaves nothing behind


def test_cached_matrix_is_read_only(tmp_path):
    g = Gallery(tmp_path / "g.sqlite")
    g.add("a", vec(0))
    _, matrix = g.embeddings()
    with pytest.raises(ValueError):
        matrix[0, 0] = 1.0


def test_persists_after_reopening(tmp_path):
    g = Gallery(tmp_path / "g.sqlite")
    g.add("alice", vec(1))
    g.add("alice", vec(2))
    g.close()
    again = Gallery(tmp_path / "g.sqlite")
    assert again.names() == ["alice"] and again.count("alice") == 2
    np.testing.assert_array_equal(again.embeddings("alice")[1][1], vec(2))


def _enroll_many(path, worker, n):
    g = path if isinstance(path, Gallery) else Gallery(path)
    for i in range(n):
        g.add(f"w{worker}-{i}", vec(worker * 1000 + i))


@pytest.mark.parametrize("share", ["inherited", "own"])
def test_concurrent_writers_from_several_processes_lose_nothing(tmp_path, share):
    path = tmp_path / "g.sqlite"
    parent = Gallery(path)
    parent.add("parent", vec(999_999))
    assert parent.embeddings()[0] == ["parent"]  # parent's connection and cache are open before the fork
    workers, per_worker = 8, 25
    procs = [FORK.Process(target=_enroll_many, args=(parent if share == "inherited" else path, w, per_worker))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * workers
    expected = {f"w{w}-{i}" for w in range(workers) for i in range(per_worker)} | {"parent"}
    names, matrix = parent.embeddings()  # the cache filled before the fork must not hide the children's rows
    assert len(names) == matrix.shape[0] == workers * per_worker + 1
    assert set(names) == expected and set(parent.names()) == expected


def _reader(path, conn):
    g = Gallery(path)
    conn.send(g.embeddings()[0])  # fills this process's cache
    conn.recv()  # the parent has written meanwhile
    conn.send((g.embeddings()[0], g.embeddings("bob")[0], g.names()))


def test_a_reader_sees_rows_another_process_wrote_after_its_cache_filled(tmp_path):
    path = tmp_path / "g.sqlite"
    writer = Gallery(path)
    writer.add("alice", vec(1))
    here, there = FORK.Pipe()
    proc = FORK.Process(target=_reader, args=(path, there))
    proc.start()
    try:
        assert here.recv() == ["alice"]
        writer.add("bob", vec(2))
        writer.delete("alice")
        here.send("go")
        assert here.recv() == (["bob"], ["bob"], ["bob"])
    finally:
        proc.join(timeout=60)
    assert proc.exitcode == 0


def _own_connection(g, inherited_id, conn):
    g.add("child", vec(7))
    conn.send(id(g._conn) != inherited_id)


def test_a_forked_child_opens_its_own_connection(tmp_path):
    """SQLite connections must not cross a fork: the child drops the inherited one and opens its own."""
    g = Gallery(tmp_path / "g.sqlite")
    g.add("parent", vec(1))
    here, there = FORK.Pipe()
    proc = FORK.Process(target=_own_connection, args=(g, id(g._conn), there))
    proc.start()
    assert here.recv() is True
    proc.join(timeout=60)
    assert proc.exitcode == 0 and g.names() == ["child", "parent"]


@pytest.mark.parametrize("umask", [0o022, 0o000])
@pytest.mark.parametrize("folder_exists", [False, True])
def test_files_are_private_whatever_the_umask(tmp_path, umask, folder_exists):
    """The database and its -wal/-shm files are 0600 (faces are biometric data), in a new or an existing folder."""
    folder = tmp_path / "gallery"
    if folder_exists:
        folder.mkdir()
    old = os.umask(umask)
    try:
        g = Gallery(folder / "g.sqlite")
        g.add("alice", vec(0))
        files = sorted(folder.iterdir())
        assert [p.name for p in files] == ["g.sqlite", "g.sqlite-shm", "g.sqlite-wal"]
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
        g.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_gallery_is_narrowed(tmp_path):
    path = tmp_path / "g.sqlite"
    Gallery(path).add("alice", vec(0))
    path.chmod(0o644)
    g = Gallery(path)
    assert g.names() == ["alice"] and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_gallery_from_before_models_were_recorded_gains_the_columns(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                       "embedding BLOB NOT NULL, created REAL NOT NULL);")
    conn.execute("INSERT INTO embeddings (name, embedding, created) VALUES (?, ?, 0)", ("old", vec(0).tobytes()))
    conn.commit()
    conn.close()
    g = Gallery(path)
    assert g.models() == {None: 1}
    assert g.add("new", vec(1), model="m:1", chip=b"png", aligned=False) == 1
    assert g.models() == {None: 1, "m:1": 1}
    assert [row[1:] for row in g.faces()] == [("old", None, None, True), ("new", "m:1", b"png", False)]


def test_replace_re_embeds_rows_in_one_transaction_and_delete_rows(tmp_path):
    g = Gallery(tmp_path / "g.sqlite")
    g.add("a", vec(0, dim=8), model="old", chip=b"x")
    g.add("b", vec(1, dim=8), model="old", chip=b"y")
    ids = [row[0] for row in g.faces()]
    g.replace({ids[0]: vec(2, dim=4), ids[1]: vec(3, dim=4)}, "new")  # another model: another size, all at once
    names, matrix = g.embeddings()
    assert g.models() == {"new": 2} and matrix.shape == (2, 4)
    np.testing.assert_array_equal(matrix[1], vec(3, dim=4))
    with pytest.raises(ValueError):
        g.replace({ids[0]: np.array([np.nan, 1.0], np.float32)}, "bad")
    assert g.models() == {"new": 2}
    assert g.delete_rows([ids[0]]) == 1 and g.names() == ["b"]


def test_models_follow_writes_of_this_and_other_connections(tmp_path):
    a, b = Gallery(tmp_path / "g.sqlite"), Gallery(tmp_path / "g.sqlite")
    a.add("x", vec(0), model="m:1")
    assert a.models() == {"m:1": 1} and b.models() == {"m:1": 1}
    b.add("y", vec(1), model="m:2")  # another connection's commit
    assert a.models() == {"m:1": 1, "m:2": 1}
    a.delete("y")  # this connection's own
    assert a.models() == {"m:1": 1} and b.models() == {"m:1": 1}
