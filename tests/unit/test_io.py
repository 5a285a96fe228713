"""snakeml.core.io: atomic writes, write-if-changed, YAML and JSON helpers."""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.core.io import (
    atomic_path,
    dump_yaml,
    file_damage,
    read_json,
    read_yaml,
    rebuild_advice,
    remove_stale_temporaries,
    write_json,
    write_parquet,
    write_parquet_batches,
    write_text_atomic,
    write_text_if_changed,
    write_yaml,
)

OLD_NS = 1_000_000_000_000_000_000


def test_atomic_path_renames_onto_target_and_leaves_no_temp(tmp_path):
    target = tmp_path / "deep" / "dir" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        assert not target.exists()  # nothing visible until the body succeeds
        tmp.write_text("done", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "done"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_atomic_path_leaves_nothing_when_the_body_raises(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="writer failed"), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_old_target_when_the_body_raises(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("new", encoding="utf-8")
        raise KeyboardInterrupt
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_target_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "out.txt", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644


def test_write_text_atomic_overwrites(tmp_path):
    target = tmp_path / "a.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two\n")
    assert target.read_text(encoding="utf-8") == "two\n"


def test_write_text_if_changed_writes_new_and_changed_text(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    assert write_text_if_changed(target, "one") is True
    assert target.read_text(encoding="utf-8") == "one"
    os.utime(target, ns=(OLD_NS, OLD_NS))
    assert write_text_if_changed(target, "two") is True
    assert target.read_text(encoding="utf-8") == "two"
    assert target.stat().st_mtime_ns != OLD_NS


def test_write_text_if_changed_keeps_identical_file_and_mtime(tmp_path):
    target = tmp_path / "a.txt"
    assert write_text_if_changed(target, "same ünïcode\n") is True
    os.utime(target, ns=(OLD_NS, OLD_NS))
    assert write_text_if_changed(target, "same ünïcode\n") is False
    assert target.stat().st_mtime_ns == OLD_NS
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_dump_yaml_keeps_insertion_order_and_unicode():
    assert dump_yaml({"b": 1, "a": [1, 2], "é": "ü"}) == "b: 1\na:\n- 1\n- 2\né: ü\n"


def test_yaml_round_trip(tmp_path):
    data = {"model": "ridge", "params": {"alpha": 0.5, "fit_intercept": True}, "none": None}
    write_yaml(tmp_path / "x.yaml", data)
    assert read_yaml(tmp_path / "x.yaml") == data


def test_read_yaml_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.yaml"):
        read_yaml(tmp_path / "missing.yaml")


def test_json_is_sorted_indented_and_round_trips(tmp_path):
    write_json(tmp_path / "m.json", {"rmse": 1.5, "model": "ridge", "rows": 3})
    text = (tmp_path / "m.json").read_text(encoding="utf-8")
    assert text == '{\n  "model": "ridge",\n  "rmse": 1.5,\n  "rows": 3\n}\n'
    assert read_json(tmp_path / "m.json") == {"rmse": 1.5, "model": "ridge", "rows": 3}


def test_write_json_refuses_unserialisable_data_and_leaves_no_file(tmp_path):
    with pytest.raises(TypeError, match="set"):
        write_json(tmp_path / "m.json", {"a": {1, 2}})
    assert list(tmp_path.iterdir()) == []


def test_write_parquet_round_trip_and_stable_bytes(tmp_path):
    table = pa.table(
        {
            "flight_id": pa.array([0, 1, 2], pa.int64()),
            "arr_delay": pa.array([5, None, -3], pa.int32()),
        }
    )
    write_parquet(table, tmp_path / "a" / "t.parquet")
    write_parquet(table, tmp_path / "b" / "t.parquet")
    assert pq.read_table(tmp_path / "a" / "t.parquet").equals(table)
    assert (tmp_path / "a" / "t.parquet").read_bytes() == (
        tmp_path / "b" / "t.parquet"
    ).read_bytes()
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["t.parquet"]


def test_write_parquet_batches_regroups_rows_as_write_parquet_would(tmp_path):
    table = pa.table(
        {
            "flight_id": pa.array(range(10), pa.int64()),
            "origin": pa.array(list("abcdeabcde")),
        }
    )
    # Batches of 3, 1 and 6 rows into row groups of 4: 4, 4 and the last 2.
    batches = [table.slice(0, 3), table.slice(3, 1), table.slice(4, 6)]
    batches = [batch for part in batches for batch in part.to_batches()]
    rows = write_parquet_batches(batches, table.schema, tmp_path / "a" / "t.parquet", 4)
    write_parquet(table, tmp_path / "b" / "t.parquet", row_group_size=4)
    written = pq.ParquetFile(tmp_path / "a" / "t.parquet")
    assert rows == 10
    assert [written.metadata.row_group(i).num_rows for i in range(3)] == [4, 4, 2]
    assert written.read().equals(table)
    assert (tmp_path / "a" / "t.parquet").read_bytes() == (
        tmp_path / "b" / "t.parquet"
    ).read_bytes()
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["t.parquet"]


def test_write_parquet_batches_casts_to_the_schema_and_fails_whole(tmp_path):
    schema = pa.schema([("a", pa.int32())])
    batch = pa.record_batch({"a": pa.array([1, 2], pa.int64())})
    write_parquet_batches([batch], schema, tmp_path / "ok.parquet")
    assert pq.read_schema(tmp_path / "ok.parquet").field("a").type == pa.int32()
    wrong = pa.record_batch({"b": pa.array([1])})
    with pytest.raises(ValueError):
        write_parquet_batches([wrong], schema, tmp_path / "bad" / "t.parquet")
    assert list((tmp_path / "bad").iterdir()) == []


def test_write_parquet_failure_leaves_no_file(tmp_path):
    with pytest.raises(AttributeError, match="schema"):
        write_parquet({"not": "a table"}, tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


# --- damaged files -------------------------------------------------------------------------


def test_file_damage_passes_whole_files(tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "t.parquet")
    (tmp_path / "m.json").write_text('{"a": 1}')
    with zipfile.ZipFile(tmp_path / "m.skops", "w") as archive:
        archive.writestr("schema.json", "{}")
    for name in ("t.parquet", "m.json", "m.skops"):
        assert file_damage(tmp_path / name) is None, name
    assert file_damage(tmp_path / "missing.parquet") is None
    (tmp_path / "notes.txt").write_text("anything")
    assert file_damage(tmp_path / "notes.txt") is None


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("t.parquet", b"", "no parquet magic bytes"),
        ("t.parquet", b"PAR1PAR1", "unreadable parquet footer"),
        ("m.skops", b"PK\x03\x04 cut", "not a whole zip archive"),
        ("m.json", b'{"a": ', "not whole JSON"),
    ],
)
def test_file_damage_names_the_reason(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    assert file_damage(tmp_path / name).startswith(reason)


@pytest.mark.parametrize(
    ("path", "advice"),
    [
        (
            "data/raw/weather.parquet",
            "re-run ingest: rerun snakemake with --forcerun data/raw/weather.parquet (or `make",
        ),
        (
            "results/models/rf.skops",
            "retrain: rerun snakemake with --forcerun results/models/rf.skops",
        ),
        (
            "results/split/train.parquet",
            "rebuild it: rerun snakemake with --forcerun results/split/train.parquet (or",
        ),
        ("data/new/batch.parquet", "it is an input you provide: replace it"),
        ("data/raw_extra/x.parquet", "it is an input you provide: replace it"),
    ],
)
def test_rebuild_advice_depends_on_who_makes_the_file(tmp_path, monkeypatch, path, advice):
    monkeypatch.chdir(tmp_path)
    assert rebuild_advice(path).startswith(advice)
    assert rebuild_advice(tmp_path / path).startswith(advice)


# --- temporaries of killed writers ---------------------------------------------------------


def killed_writer_leftover(target):
    """The temporary atomic_path makes for ``target``, as a SIGKILL during the write leaves it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.write(fd, b"half a table")
    os.close(fd)
    return Path(name)


def test_stale_temporaries_of_atomic_path_are_removed_and_nothing_else(tmp_path):
    results = tmp_path / "results"
    stale = [
        killed_writer_leftover(results / "features" / "flights.parquet"),
        killed_writer_leftover(results / "tuning" / "ridge" / "best_params.yaml"),
        killed_writer_leftover(tmp_path / "data" / "raw" / "weather.parquet"),
    ]
    kept = [
        results / "features" / "flights.parquet",
        results / "features" / ".flights.parquet.tmp",  # not atomic_path's pattern
        results / "features" / ".flights.parquet.ABCDEFGH.tmp",  # upper case: not mkstemp's
        results / "notes.tmp",
        tmp_path / "elsewhere" / ".x.parquet.abcd1234.tmp",  # outside the given folders
    ]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep")
    removed = remove_stale_temporaries(
        [results, tmp_path / "data"], lock_dir=tmp_path / ".snakemake" / "locks"
    )
    assert sorted(removed) == sorted(stale)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)


def test_stale_temporaries_stay_while_another_run_holds_a_lock(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/split/train.parquet\n")
    (locks / "0.output.lock").write_text("results/models/ridge.skops\n")
    (locks / "1.output.lock").write_text("results/leaderboard.csv\n")
    leftover = killed_writer_leftover(tmp_path / "results" / "models" / "ridge.skops")
    assert remove_stale_temporaries([tmp_path / "results"], lock_dir=locks) == []
    assert leftover.exists()
    # The caller's own locks do not count; another run's do.
    own = [locks / "1.output.lock"]
    assert remove_stale_temporaries([tmp_path / "results"], own, lock_dir=locks) == []
    own = [locks / "0.input.lock", locks / "0.output.lock", locks / "1.output.lock"]
    assert remove_stale_temporaries([tmp_path / "results"], own, lock_dir=locks) == [leftover]
    assert not leftover.exists()
