"""snakeml.prediction.new_rows: a prediction's name finds exactly one file; a path is refused."""

from __future__ import annotations

import pytest

from snakeml.core.errors import DataError
from snakeml.prediction.new_rows import (
    check_prediction_root,
    check_prediction_targets,
    new_rows_file,
    prediction_names,
)


@pytest.fixture
def new_dir(tmp_path):
    folder = tmp_path / "data" / "new"
    folder.mkdir(parents=True)
    (folder / "january.csv").write_text("a\n1\n")
    (folder / "march.parquet").write_bytes(b"PAR1")
    (folder / "notes.txt").write_text("not rows")
    return folder


def test_a_name_finds_its_one_file_and_the_names_are_listed(new_dir):
    assert new_rows_file("january", new_dir) == new_dir / "january.csv"
    assert new_rows_file("march", new_dir) == new_dir / "march.parquet"
    assert prediction_names(new_dir) == ["january", "march"]
    assert prediction_names(new_dir / "absent") == []


def test_a_name_without_a_file_lists_the_names_that_exist(new_dir):
    with pytest.raises(DataError) as info:
        new_rows_file("april", new_dir)
    assert str(info.value) == (
        f"no new rows to score for results/predictions/april.parquet: put them in "
        f"{new_dir}/april.parquet or {new_dir}/april.csv "
        "(names that exist: ['january', 'march'])"
    )


def test_two_files_answering_one_name_are_refused_naming_both(new_dir):
    (new_dir / "january.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError) as info:
        new_rows_file("january", new_dir)
    message = str(info.value)
    assert message.startswith(
        f"{new_dir}/january.parquet and {new_dir}/january.csv both answer the name january: "
        "remove or rename one"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("target", "named"),
    [
        (
            "results/predictions/data/new/january.parquet",
            "results/predictions/data/new/january.parquet: a prediction is named, not given a "
            "path: results/predictions/<name>.parquet scores data/new/<name>.parquet or .csv",
        ),
        (
            "./results/predictions/new/january.csv.parquet",
            "./results/predictions/new/january.csv.parquet: a prediction is named, not given",
        ),
        (
            "results/runs/cars/cars_mpg/predictions/new/january.parquet",
            "results/runs/cars/cars_mpg/predictions/new/january.parquet: a prediction is named, "
            "not given a path: results/runs/cars/cars_mpg/predictions/<name>.parquet scores",
        ),
        (
            "data/new/january.csv",
            "data/new/january.csv holds rows to score, it is not a target: ask for "
            "results/predictions/january.parquet",
        ),
    ],
)
def test_a_prediction_asked_for_by_a_path_is_refused_listing_the_names(new_dir, target, named):
    with pytest.raises(DataError) as info:
        check_prediction_targets([target], new_dir)
    message = str(info.value)
    assert message.startswith(named)
    assert message.endswith("(names that exist: ['january', 'march'])")


def test_named_predictions_and_other_targets_pass(new_dir):
    targets = ["results/predictions/january.parquet", "results/report.html", "all"]
    assert check_prediction_targets(targets, new_dir) is None


def test_a_prediction_in_another_runs_folder_names_this_runs_target():
    pair = "/runs/cars/cars_mpg"
    with pytest.raises(DataError) as info:
        check_prediction_root(["all", "results/predictions/january.parquet"], pair)
    assert str(info.value) == (
        "results/predictions/january.parquet: this run's data set and task score into "
        "results/runs/cars/cars_mpg/predictions/: ask for "
        "results/runs/cars/cars_mpg/predictions/january.parquet (or give the overrides of the "
        "run whose folder the target names)"
    )
    with pytest.raises(DataError, match=r"score into results/predictions/: ask for "):
        check_prediction_root(["results/runs/cars/cars_mpg/predictions/january.parquet"], None)
    assert check_prediction_root([f"results{pair}/predictions/january.parquet"], pair) is None
    assert check_prediction_root(["results/predictions/january.parquet", "all"], None) is None


def test_no_rows_for_another_runs_prediction_names_its_folder(new_dir):
    with pytest.raises(
        DataError, match=r"^no new rows to score for results/runs/a/b/predictions/x"
    ):
        new_rows_file("x", new_dir, "results/runs/a/b/predictions")
