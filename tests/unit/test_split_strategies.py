"""snakeml.validation.split's strategies: parts and folds from one object, for tables with or
without time.

Per strategy: parts and folds disjoint and complete, deterministic, unchanged by row order,
stable when rows are appended, stratification within one row per class, groups never split,
the gap's rows gone from each fold's fit rows, and bad input refused in one line.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.schema import SplitConfig
from snakeml.validation.split import (
    EMBARGOED,
    SPLITS,
    make_strategy,
    ranked_parts,
    split_table,
)

BASE = {
    "strategy": None,
    "gap": None,
    "group": None,
    "column": None,
    "fold_column": None,
    "time_zone": "UTC",
    "train_until": None,
    "valid_until": None,
    "train_fraction": 0.6,
    "valid_fraction": 0.2,
    "period": "month",
    "max_train_rows": None,
    "max_eval_rows": None,
}


def strategy(classifier=True, time=None, horizon=None, seed=7, **settings):
    split = SplitConfig(**{**BASE, **settings})
    return make_strategy(split, classifier, "label", time, horizon, ["customer_id"], seed)


@pytest.fixture
def customers() -> pd.DataFrame:
    """300 customers, three unbalanced classes, 30 regions, in a shuffled file order."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "customer_id": rng.permutation(np.arange(1000, 1000 + n)),
            "label": rng.choice(["no", "yes", "maybe"], size=n, p=[0.7, 0.2, 0.1]),
            "region": rng.integers(0, 30, size=n),
            "balance": rng.normal(size=n),
        }
    )
    frame["part"] = np.where(frame["customer_id"] % 5 == 0, "test", "train")
    frame.loc[frame["customer_id"] % 5 == 1, "part"] = "valid"
    frame["fold"] = frame["customer_id"] % 3
    return frame


def parts_by_key(strategy, frame: pd.DataFrame) -> dict[int, int]:
    return dict(zip(frame["customer_id"], strategy.assign(frame), strict=True))


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy": "random"},
        {"strategy": "stratified"},
        {"strategy": "group", "group": "region"},
        {"strategy": "column", "column": "part"},
    ],
    ids=lambda s: s["strategy"],
)
def test_parts_are_complete_deterministic_and_unchanged_by_row_order(customers, settings):
    chosen = strategy(**settings)
    parts = chosen.assign(customers)
    assert set(np.unique(parts)) == {0, 1, 2}  # every row in exactly one part, none dropped
    assert len(parts) == len(customers)
    again = strategy(**settings).assign(customers)
    assert parts.tolist() == again.tolist()
    shuffled = customers.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert parts_by_key(chosen, shuffled) == parts_by_key(chosen, customers)


@pytest.mark.parametrize(
    "settings",
    [{"strategy": "random"}, {"strategy": "group", "group": "region"}],
    ids=lambda s: s["strategy"],
)
def test_appended_rows_never_move_an_existing_row(customers, settings):
    chosen = strategy(**settings)
    before = parts_by_key(chosen, customers)
    extra = customers.assign(customer_id=customers["customer_id"] + 5000)
    after = parts_by_key(chosen, pd.concat([customers, extra], ignore_index=True))
    assert {key: after[key] for key in before} == before


def test_a_rows_part_depends_on_the_seed(customers):
    seven = strategy(strategy="random", seed=7).assign(customers)
    eight = strategy(strategy="random", seed=8).assign(customers)
    assert (seven != eight).any()


def test_random_parts_follow_the_fractions(customers):
    parts = strategy(strategy="random").assign(customers)
    shares = np.bincount(parts, minlength=3) / len(parts)
    assert shares == pytest.approx([0.6, 0.2, 0.2], abs=0.08)


def test_stratified_parts_hold_each_class_within_one_row(customers):
    parts = strategy(strategy="stratified").assign(customers)
    for label, rows in customers.groupby("label").groups.items():
        counts = np.bincount(parts[rows], minlength=3)
        n = len(rows)
        expected = [0.6 * n, 0.2 * n, 0.2 * n]
        assert np.abs(counts - np.array(expected)).max() <= 1, (label, counts, expected)


def test_ranked_parts_are_exact_for_every_size():
    for n in range(1, 40):
        counts = np.bincount(ranked_parts(np.linspace(0, 1, n), 0.7, 0.15), minlength=3)
        assert abs(counts[0] - 0.7 * n) <= 0.5 + 1e-9
        assert abs(counts[0] + counts[1] - 0.85 * n) <= 0.5 + 1e-9


def test_stratified_appends_move_only_rows_at_each_class_cut(customers):
    chosen = strategy(strategy="stratified")
    before = parts_by_key(chosen, customers)
    extra = customers.head(10).assign(customer_id=lambda f: f["customer_id"] + 5000)
    after = parts_by_key(chosen, pd.concat([customers, extra], ignore_index=True))
    moved = sum(after[key] != part for key, part in before.items())
    assert moved <= 2 * 3  # at most the rows at the two cuts of each of the three classes


def test_a_group_never_lies_in_two_parts(customers):
    parts = strategy(strategy="group", group="region").assign(customers)
    per_group = pd.Series(parts).groupby(customers["region"]).nunique()
    assert (per_group == 1).all()
    assert len(np.unique(parts)) == 3


def test_a_group_larger_than_a_part_is_refused(customers):
    customers.loc[:100, "region"] = 99  # 101 of 300 rows, more than the 20% a part holds
    with pytest.raises(DataError, match=r"group 99 of region alone holds 101 rows, more than"):
        strategy(strategy="group", group="region").assign(customers)


def test_the_column_strategy_takes_the_users_parts(customers):
    parts = strategy(strategy="column", column="part").assign(customers)
    assert [SPLITS[p] for p in parts] == customers["part"].tolist()


def test_a_part_column_with_other_values_is_refused(customers):
    customers.loc[3, "part"] = "holdout"
    with pytest.raises(DataError, match=r"split\.column: column 'part' holds \['holdout'\]"):
        strategy(strategy="column", column="part").assign(customers)


def check_folds(folds, n_rows: int, partition: bool = True) -> None:
    scored = np.concatenate([score for _, score in folds])
    for fit, score in folds:
        assert not set(fit) & set(score)
    if partition:
        assert sorted(scored.tolist()) == list(range(n_rows))


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy": "random"},
        {"strategy": "stratified"},
        {"strategy": "group", "group": "region"},
        {"strategy": "column", "column": "part"},
        {"strategy": "column", "column": "part", "fold_column": "fold"},
    ],
    ids=lambda s: "-".join(str(v) for v in s.values()),
)
def test_folds_are_disjoint_complete_and_deterministic(customers, settings):
    chosen = strategy(**settings)
    y = customers["label"].to_numpy()
    folds = chosen.folds(customers, y, 3)
    assert len(folds) == 3
    check_folds(folds, len(customers))
    again = strategy(**settings).folds(customers, y, 3)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))


def test_group_folds_keep_each_group_on_one_side(customers):
    y = customers["label"].to_numpy()
    for classifier in (True, False):
        chosen = strategy(classifier=classifier, strategy="group", group="region")
        for fit, score in chosen.folds(customers, y, 3):
            assert not set(customers["region"].iloc[fit]) & set(customers["region"].iloc[score])


def test_stratified_folds_hold_each_class_in_every_fold(customers):
    y = customers["label"].to_numpy()
    for _, score in strategy(strategy="stratified").folds(customers, y, 3):
        assert set(y[score]) == set(y)


def test_a_class_with_fewer_rows_than_folds_is_named(customers):
    customers.loc[:1, "label"] = "rare"
    y = customers["label"].to_numpy()
    with pytest.raises(DataError, match=r"class 'rare' of label has 2 row\(s\) .*n_folds = 3"):
        strategy(strategy="stratified").folds(customers, y, 3)


def test_fewer_groups_than_folds_are_refused(customers):
    customers["region"] = customers["region"] % 2
    y = customers["label"].to_numpy()
    with pytest.raises(DataError, match=r"2 groups of region, fewer than tuning\.n_folds = 3"):
        strategy(classifier=False, strategy="group", group="region").folds(customers, y, 3)


def daily(n: int = 60) -> pd.DataFrame:
    start = date(2014, 1, 1)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "day": [start + timedelta(days=i) for i in range(n)],
            "label": np.arange(n) % 2,
        }
    )


def test_time_folds_drop_fit_rows_whose_target_reaches_the_scored_rows():
    frame = daily()
    y = frame["label"].to_numpy()
    plain = strategy(time="day", strategy="time", train_fraction=0.5).folds(frame, y, 3)
    gapped = strategy(time="day", horizon="3 days", strategy="time").folds(frame, y, 3)
    for (fit, score), (plain_fit, _) in zip(gapped, plain, strict=True):
        first = frame["day"].iloc[score[0]]
        assert (frame["day"].iloc[fit] + timedelta(days=3) < first).all()
        # exactly the three days before the scored block leave the fit rows
        assert len(plain_fit) - len(fit) == 3
        assert fit.max() < score.min()


def test_time_parts_embargo_the_rows_before_each_cut():
    frame = daily()
    chosen = strategy(time="day", horizon="2 days", strategy="time", train_fraction=0.5)
    parts = chosen.assign(frame)
    assert (parts == EMBARGOED).sum() == 4  # two days before each of the two cuts
    assert parts[:28].tolist() == [0] * 28
    assert parts[28:30].tolist() == [EMBARGOED] * 2


def test_split_table_counts_the_embargoed_rows():
    frame = daily()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    chosen = strategy(time="day", horizon="2 days", strategy="time", train_fraction=0.5)
    parts, dropped = split_table(table, chosen)
    assert dropped == 4
    assert sum(p.num_rows for p in parts.values()) == 56


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ConfigError, match=r"split\.strategy: 'shuffle' is not one of"):
        strategy(strategy="shuffle")


@pytest.mark.parametrize(
    ("settings", "classifier", "time", "expected"),
    [
        ({}, True, None, "stratified"),
        ({}, False, None, "random"),
        ({}, True, "day", "time"),
        ({"strategy": "group", "group": "region"}, True, "day", "group"),
    ],
)
def test_the_default_strategy_follows_the_task(settings, classifier, time, expected):
    assert strategy(classifier=classifier, time=time, **settings).name == expected


def test_each_strategy_says_what_it_needs_of_the_configuration():
    from snakeml.core.schema import STRATEGIES
    from snakeml.validation.split import strategy_class

    needs = {
        name: (
            strategy_class(name).needs_time,
            strategy_class(name).by_class,
            strategy_class(name).column_settings,
            strategy_class(name).keeps_groups,
            strategy_class(name).takes_fractions,
        )
        for name in STRATEGIES
    }
    assert needs == {
        "time": (True, False, (), False, True),
        "random": (False, False, (), False, True),
        "stratified": (False, True, (), False, True),
        "group": (False, False, ("group",), True, True),
        "column": (False, False, ("column",), False, False),
    }
    assert strategy_class("column").optional_column_settings == ("fold_column",)
    with pytest.raises(ConfigError, match=r"^split.strategy: 'kfold' is not one of"):
        strategy_class("kfold")
