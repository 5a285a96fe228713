"""Split: the validation scheme, one strategy object for both the parts and the tuning folds.

``split.strategy`` chooses how rows are validated; one object (``make_strategy``) yields the
train / valid / test parts (rule split) and the tuning folds of train + valid (rule tune_shard),
so the two can never disagree:

- ``time``: ordered by the task's time column, cut at boundaries (``split.train_until``,
  ``split.valid_until``, wall-clock times in ``split.time_zone``) or at fractions of the ordered
  rows, with a **gap** (an embargo): a row whose target becomes known at or past the next part's
  start (its time plus the gap) leaves its part. The gap is ``split.gap``, else the task's
  ``horizon`` (how long after its time a row's target is known), both DuckDB intervals. Folds:
  scikit-learn's TimeSeriesSplit blocks, each fold's fit rows embargoed the same way.
- ``random``: a row's part is a function of a hash of its key and the seed (as MLflow's recipes
  split): reordering the file changes nothing and appended rows never move an existing row.
  Folds: KFold.
- ``stratified`` (classification): within each class, rows ranked by that hash fill the parts
  by the fractions, so each class's share of every part is exact to one row. Folds:
  StratifiedKFold.
- ``group``: a hash of the row's group (``split.group``, e.g. a customer) decides its part: no
  group lies in two parts. Folds: GroupKFold, or StratifiedGroupKFold for classification.
- ``column``: the user's column ``split.column`` names each row's part (train, valid, test).
  Folds: PredefinedSplit from ``split.fold_column`` when set, else the default strategy's.

Each part keeps its rows in the order of the feature table's key.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from snakeml.core.errors import ConfigError, DataError
from snakeml.core.io import write_parquet_batches
from snakeml.core.schema import STRATEGIES, default_strategy

if TYPE_CHECKING:
    import pandas as pd

    from snakeml.core.schema import SplitConfig
    from snakeml.core.slices import SplitSlice, TuneShardSlice

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "valid", "test")
# A row's part in ``assign``'s result: its index in SPLITS, or EMBARGOED for a row the gap drops.
EMBARGOED = -1
Folds = list[tuple[np.ndarray, np.ndarray]]
# pandas' period codes of the split's period units.
PERIOD_CODES = {"year": "Y", "month": "M", "week": "W", "day": "D"}
# DuckDB's memory_limit while it sorts a part (beyond it, it spills to disk): the split's other
# holdings are the strategy's few columns and one row group of the part being written.
DUCKDB_MEMORY_MB = 1536


def kept_rows(n_rows: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """The positions of a deterministic sample of at most ``max_rows`` of ``n_rows`` rows, in
    order; None when every row is kept (``max_rows`` None or not below ``n_rows``)."""
    if max_rows is None or n_rows <= max_rows:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def periods(times: pd.Series, unit: str, time_zone: str) -> pd.Series:
    """Each time's period (``"2013-12"`` for a month), as wall-clock periods in ``time_zone``.

    ``unit`` is one of PERIOD_CODES (split.period's units).
    """
    import pandas as pd

    if getattr(times.dtype, "tz", None) is not None:
        times = times.dt.tz_convert(time_zone).dt.tz_localize(None)
    return pd.to_datetime(times).dt.to_period(PERIOD_CODES[unit]).astype(str)


def sample_rows(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """A deterministic sample of at most ``max_rows`` rows of ``frame``, in their original order.

    ``max_rows=None`` keeps every row. The same ``seed`` gives the same rows.
    """
    keep = kept_rows(len(frame), max_rows, seed)
    return frame if keep is None else frame.iloc[keep]


def boundary(value: str, column_type: pa.DataType, time_zone: str) -> pa.Scalar:
    """A boundary such as ``"2013-10-01"`` as a scalar of the time column's type.

    For a column with a time zone (UTC instants) the boundary is a wall-clock time in
    ``time_zone``; dates and plain timestamps are compared as they are.
    """
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(str(value))
    if pa.types.is_date(column_type):
        return pa.scalar(date(moment.year, moment.month, moment.day), column_type)
    if pa.types.is_timestamp(column_type) and column_type.tz is not None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(time_zone))
        return pa.scalar(moment, column_type)
    return pa.scalar(moment.replace(tzinfo=None), column_type)


def row_fractions(frame: pd.DataFrame, columns: list[str], seed: int) -> np.ndarray:
    """Each row's place in [0, 1): a seeded hash of its values in ``columns``, shape (rows,).

    pandas' ``hash_pandas_object`` hashes each row's values, then ``hash_array`` mixes that
    with the seed: a row's place depends on its values and the seed only, never on the other
    rows or their order.
    """
    import pandas as pd

    values = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy(np.uint64)
    (salt,) = pd.util.hash_array(np.array([seed], np.uint64))
    hashes = pd.util.hash_array(values ^ np.uint64(salt))
    return (hashes >> np.uint64(11)).astype(np.float64) / float(2**53)


def fraction_parts(fractions: np.ndarray, train: float, valid: float) -> np.ndarray:
    """Part indices (0 train, 1 valid, 2 test) of rows placed at ``fractions`` in [0, 1)."""
    return np.where(fractions < train, 0, np.where(fractions < train + valid, 1, 2)).astype(np.int8)


def ranked_parts(fractions: np.ndarray, train: float, valid: float) -> np.ndarray:
    """Part indices of rows ranked by ``fractions``: the first round(n * train) rows train,
    up to round(n * (train + valid)) valid, the rest test; exact to one row for any n."""
    n = len(fractions)
    order = np.argsort(fractions, kind="stable")
    parts = np.empty(n, np.int8)
    cut_train, cut_valid = round(n * train), round(n * (train + valid))
    parts[order[:cut_train]] = 0
    parts[order[cut_train:cut_valid]] = 1
    parts[order[cut_valid:]] = 2
    return parts


def _label(value: Any) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


@dataclass(frozen=True)
class SplitStrategy:
    """The validation scheme of a task: its parts and its tuning folds.

    ``settings`` is the split slice's ``split`` (schema.SplitConfig), ``classifier`` whether the
    task is a classification, ``target`` and ``time`` its columns (``time`` None when the task
    has none), ``horizon`` the task's target horizon (a DuckDB interval, or None), ``key`` the
    feature table's key and ``seed`` the run's seed.
    """

    settings: SplitConfig
    classifier: bool
    target: str
    time: str | None
    horizon: str | None
    key: tuple[str, ...]
    seed: int

    name = ""
    # What the strategy needs of the task and of split.*, which the configuration's checks ask
    # (snakeml.configuration.validate) before any job: a time column (and only it cuts by
    # split.train_until/valid_until or embargoes a split.gap); a classification target; the
    # split.<key> settings naming columns it must have and those it may take beside them;
    # whether its parts keep each group whole (evaluation.bootstrap_blocks=group); and whether
    # split.train_fraction and split.valid_fraction size its parts (when no time bounds do).
    needs_time: ClassVar[bool] = False
    by_class: ClassVar[bool] = False
    column_settings: ClassVar[tuple[str, ...]] = ()
    optional_column_settings: ClassVar[tuple[str, ...]] = ()
    keeps_groups: ClassVar[bool] = False
    takes_fractions: ClassVar[bool] = True

    def required(self) -> dict[str, str]:
        """The feature table's columns the strategy reads, each with the setting naming it."""
        return {column: "the feature table's key" for column in self.key}

    def columns(self) -> list[str]:
        """The feature table's columns the strategy reads (``required``'s keys)."""
        return list(self.required())

    def tuning_order(self) -> list[str]:
        """The columns the tuning rows are sorted by before folding (file order never counts)."""
        return list(self.key)

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's part, shape (rows,): an index of SPLITS, or EMBARGOED."""
        raise NotImplementedError

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        """(fit rows, scored rows) position pairs over ``frame``, the tuning rows in
        ``tuning_order``; ``y`` their targets. Raises DataError when they cannot be folded."""
        raise NotImplementedError

    def check_folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> None:
        """Refuse tuning rows that cannot give ``n_folds`` folds, naming why (DataError)."""
        self.folds(frame, y, n_folds)

    def _fractions(self) -> tuple[float, float]:
        split = self.settings
        if split.train_fraction is None or split.valid_fraction is None:
            raise ConfigError(
                f"split.strategy {self.name} places rows by split.train_fraction and "
                "split.valid_fraction: set both"
            )
        return split.train_fraction, split.valid_fraction

    def _check_classes(self, y: np.ndarray, n_folds: int, where: str) -> None:
        """Refuse a class with fewer rows than folds among the tuning rows."""
        values, counts = np.unique(y, return_counts=True)
        for value, count in zip(values, counts, strict=True):
            if count < n_folds:
                raise DataError(
                    f"class {_label(value)} of {self.target} has {count} row(s) in {where}, "
                    f"fewer than tuning.n_folds = {n_folds}: lower tuning.n_folds or choose "
                    "another split.strategy"
                )


class TimeSplit(SplitStrategy):
    """Past to train, then valid, then test, with an embargo of ``gap`` before each cut."""

    name = "time"
    needs_time = True

    def required(self) -> dict[str, str]:
        return {**super().required(), self.time: "task.time"}

    def tuning_order(self) -> list[str]:
        return [self.time, *self.key]

    @property
    def gap(self) -> str | None:
        """The embargo: split.gap, else the task's horizon; None for none."""
        return self.settings.gap if self.settings.gap is not None else self.horizon

    def _times(self, frame: pd.DataFrame) -> pa.ChunkedArray:
        time = self.time
        if time not in frame.columns:
            raise DataError(f"feature table has no column {time!r} (task.time): the split needs it")
        column = pa.chunked_array([pa.Array.from_pandas(frame[time])])
        if not (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
            raise DataError(
                f"task.time: column {time!r} is {column.type}, not a date or timestamp: "
                "the time split orders rows by it"
            )
        if column.null_count:
            raise DataError(f"task.time: column {time!r} has {column.null_count} null values")
        return column

    def target_times(self, times: pa.ChunkedArray) -> pa.ChunkedArray:
        """When each row's target is known: its time plus the gap, as a timestamp (rows,).

        The interval is added by DuckDB in ``split.time_zone``, so ``1 month`` is a calendar
        month and ``1 day`` a wall-clock day.
        """
        gap = self.gap
        if gap is None:
            return times
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("set timezone = ?", [self.settings.time_zone])
            con.register("times", pa.table({"t": times}))
            shifted = con.sql("select t + ?::interval as t from times", params=[gap])
            column = shifted.to_arrow_table()["t"]
        finally:
            con.close()
        if pa.types.is_date(times.type):
            return column.cast(pa.timestamp("us"))
        return column.cast(times.type)

    def boundaries(self, times: pa.ChunkedArray) -> tuple[pa.Scalar, pa.Scalar]:
        """The starts of the valid and the test part, as scalars of the time column's type."""
        split = self.settings
        if split.train_until is not None:
            train_until = boundary(split.train_until, times.type, split.time_zone)
            valid_until = boundary(split.valid_until, times.type, split.time_zone)
            first, last = pc.min(times), pc.max(times)
            for key, value in (("train_until", train_until), ("valid_until", valid_until)):
                if pc.less_equal(value, first).as_py() or pc.greater(value, last).as_py():
                    raise DataError(
                        f"split.{key}={getattr(split, key)} lies outside the data's time range "
                        f"({first.as_py()} to {last.as_py()} in column {self.time}): choose a "
                        "time inside it"
                    )
            return train_until, valid_until
        train_fraction, valid_fraction = self._fractions()
        ordered = pc.sort_indices(times)
        n = len(times)
        cut_train = min(n - 1, int(np.ceil(n * train_fraction)))
        cut_valid = min(n - 1, int(np.ceil(n * (train_fraction + valid_fraction))))
        # Rows at the same time stay together: each cut falls at a change of time.
        return (
            times.take(ordered[cut_train : cut_train + 1])[0],
            times.take(ordered[cut_valid : cut_valid + 1])[0],
        )

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        times = self._times(frame)
        known = self.target_times(times)
        train_until, valid_until = self.boundaries(times)
        parts = np.full(len(frame), 2, np.int8)
        for index, (start, end) in enumerate(((None, train_until), (train_until, valid_until))):
            inside = pc.less(times, end)
            if start is not None:
                inside = pc.and_(inside, pc.greater_equal(times, start))
            inside = inside.to_numpy(zero_copy_only=False)
            crosses = pc.greater_equal(known, _as(end, known.type)).to_numpy(zero_copy_only=False)
            parts[inside] = index
            parts[inside & crosses] = EMBARGOED
            if inside.any() and not (inside & ~crosses).any():
                raise DataError(
                    f"split.gap {self.gap!r} is longer than the {SPLITS[index]} part (rows "
                    f"before {end.as_py()}): every row of it has its target past the cut; "
                    "shorten split.gap (or task.horizon) or widen the part"
                )
        return parts

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        from sklearn.model_selection import TimeSeriesSplit

        if len(frame) < 2 * (n_folds + 1):
            raise DataError(
                f"{len(frame)} rows are too few for {n_folds} time-ordered folds: "
                "lower tuning.n_folds"
            )
        times = self._times(frame)
        known = self.target_times(times).to_numpy(zero_copy_only=False)
        starts = times.to_numpy(zero_copy_only=False)
        if pa.types.is_date(times.type):
            starts = starts.astype("datetime64[us]")
        # TimeSeriesSplit's own gap counts rows; the embargo is in time: each fold's fit rows
        # whose target is known at or past its first scored row's time leave it.
        folds: Folds = []
        for index, (fit, score) in enumerate(TimeSeriesSplit(n_splits=n_folds).split(starts)):
            kept = fit[_before(known[fit], starts[score[0]])]
            if len(kept) == 0:
                raise DataError(
                    f"tuning fold {index}: split.gap {self.gap!r} leaves no row to fit before "
                    "its scored rows: shorten split.gap or lower tuning.n_folds"
                )
            folds.append((kept, score))
        return folds


def _as(value: pa.Scalar, to: pa.DataType) -> pa.Scalar:
    """A boundary scalar in the type of the target times (a date becomes its midnight)."""
    if value.type == to:
        return value
    if pa.types.is_date(value.type):
        moment = value.as_py()
        return pa.scalar(datetime(moment.year, moment.month, moment.day), to)
    return value.cast(to)


def _before(known: np.ndarray, moment: Any) -> np.ndarray:
    """Which ``known`` times (numpy datetimes or Python datetimes) lie before ``moment``."""
    import pandas as pd

    return np.asarray(pd.to_datetime(known) < pd.Timestamp(moment), bool)


class RandomSplit(SplitStrategy):
    """Parts by a seeded hash of the key; folds by KFold."""

    name = "random"

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        train, valid = self._fractions()
        return fraction_parts(row_fractions(frame, list(self.key), self.seed), train, valid)

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        from sklearn.model_selection import KFold

        if len(frame) < n_folds:
            raise DataError(
                f"{len(frame)} rows are too few for {n_folds} folds: lower tuning.n_folds"
            )
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=self.seed)
        return list(splitter.split(np.zeros(len(frame))))


class StratifiedSplit(SplitStrategy):
    """Each class fills the parts by the fractions, rows ranked by a seeded hash of the key."""

    name = "stratified"
    by_class = True

    def required(self) -> dict[str, str]:
        return {**super().required(), self.target: "task.target"}

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        train, valid = self._fractions()
        fractions = row_fractions(frame, list(self.key), self.seed)
        parts = np.empty(len(frame), np.int8)
        labels = frame[self.target].to_numpy()
        for value in np.unique(labels):
            rows = np.flatnonzero(labels == value)
            parts[rows] = ranked_parts(fractions[rows], train, valid)
        return parts

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        from sklearn.model_selection import StratifiedKFold

        self._check_classes(y, n_folds, "the tuning rows (train + valid)")
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=self.seed)
        return list(splitter.split(np.zeros(len(frame)), y))


class GroupSplit(SplitStrategy):
    """Parts by a seeded hash of the group: a group never lies in two parts."""

    name = "group"
    column_settings = ("group",)
    keeps_groups = True

    @property
    def group(self) -> str:
        return self.settings.group

    def required(self) -> dict[str, str]:
        return {**super().required(), self.group: "split.group"}

    def _groups(self, frame: pd.DataFrame) -> pd.Series:
        if self.group not in frame.columns:
            raise DataError(f"split.group: {self.group!r} is not a column of the feature table")
        groups = frame[self.group]
        if groups.isna().any():
            raise DataError(
                f"split.group: column {self.group!r} has {int(groups.isna().sum())} null "
                "values: every row needs a group"
            )
        return groups

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        train, valid = self._fractions()
        groups = self._groups(frame)
        smallest = min(train, valid, 1 - train - valid) * len(frame)
        sizes = groups.value_counts()
        if sizes.iloc[0] > smallest:
            raise DataError(
                f"split.group: group {_label(sizes.index[0])} of {self.group} alone holds "
                f"{sizes.iloc[0]} rows, more than the smallest part may hold ({smallest:.0f} of "
                f"{len(frame)}): choose a finer split.group or larger fractions"
            )
        fractions = row_fractions(groups.to_frame(), [self.group], self.seed)
        return fraction_parts(fractions, train, valid)

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

        groups = self._groups(frame).to_numpy()
        distinct = len(np.unique(groups))
        if distinct < n_folds:
            raise DataError(
                f"split.group: the tuning rows hold {distinct} groups of {self.group}, fewer "
                f"than tuning.n_folds = {n_folds}: lower tuning.n_folds"
            )
        if self.classifier:
            self._check_classes(y, n_folds, "the tuning rows (train + valid)")
            splitter: Any = StratifiedGroupKFold(
                n_splits=n_folds, shuffle=True, random_state=self.seed
            )
        else:
            splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=self.seed)
        return list(splitter.split(np.zeros(len(frame)), y, groups))


class ColumnSplit(SplitStrategy):
    """The user's column names each row's part; folds from a second column or the default."""

    name = "column"
    column_settings = ("column",)
    optional_column_settings = ("fold_column",)
    takes_fractions = False

    def required(self) -> dict[str, str]:
        columns = {**super().required(), self.settings.column: "split.column"}
        if self.settings.fold_column is not None:
            columns[self.settings.fold_column] = "split.fold_column"
        return columns

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        column = self.settings.column
        if column not in frame.columns:
            raise DataError(f"split.column: {column!r} is not a column of the feature table")
        values = frame[column].astype("string")
        unknown = sorted(set(values.dropna()) - set(SPLITS))
        if unknown or values.isna().any():
            shown = unknown[:5] + (["null"] if values.isna().any() else [])
            raise DataError(
                f"split.column: column {column!r} holds {shown}, not only the part names "
                f"{list(SPLITS)}: write one of them in every row"
            )
        return values.map({name: index for index, name in enumerate(SPLITS)}).to_numpy(np.int8)

    def folds(self, frame: pd.DataFrame, y: np.ndarray, n_folds: int) -> Folds:
        fold_column = self.settings.fold_column
        if fold_column is None:
            default = StratifiedSplit if self.classifier else RandomSplit
            return default(**_fields(self)).folds(frame, y, n_folds)
        from sklearn.model_selection import PredefinedSplit

        if fold_column not in frame.columns:
            raise DataError(
                f"split.fold_column: {fold_column!r} is not a column of the feature table"
            )
        values = frame[fold_column]
        if values.isna().any() or not np.issubdtype(values.dtype, np.integer):
            raise DataError(
                f"split.fold_column: column {fold_column!r} must hold a fold number (an "
                "integer; -1 for a row never scored) in every row"
            )
        return list(PredefinedSplit(values.to_numpy()).split())


def _fields(strategy: SplitStrategy) -> dict[str, Any]:
    return {
        name: getattr(strategy, name)
        for name in ("settings", "classifier", "target", "time", "horizon", "key", "seed")
    }


STRATEGY_CLASSES: dict[str, type[SplitStrategy]] = {
    cls.name: cls for cls in (TimeSplit, RandomSplit, StratifiedSplit, GroupSplit, ColumnSplit)
}


def strategy_class(name: str) -> type[SplitStrategy]:
    """The class of strategy ``name`` (one of core.schema.STRATEGIES), whose class attributes
    say what it needs of the task and of split.*; ConfigError for another name."""
    if name not in STRATEGY_CLASSES:
        raise ConfigError(f"split.strategy: {name!r} is not one of {list(STRATEGIES)}")
    return STRATEGY_CLASSES[name]


def make_strategy(
    settings: SplitConfig,
    classifier: bool,
    target: str,
    time: str | None,
    horizon: str | None,
    key: list[str] | tuple[str, ...],
    seed: int,
) -> SplitStrategy:
    """The split strategy ``settings.strategy`` names (its default when null).

    Raises ConfigError for an unknown strategy or one the task cannot take.
    """
    name = settings.strategy or default_strategy(classifier, time)
    return strategy_class(name)(
        settings=settings,
        classifier=classifier,
        target=target,
        time=time,
        horizon=horizon,
        key=tuple(key),
        seed=seed,
    )


def strategy_of(cfg: SplitSlice | TuneShardSlice) -> SplitStrategy:
    """The strategy of a rule's slice holding ``split``, ``task`` (kind, target, time,
    horizon), ``key`` and ``seed``: the split slice (the whole split section) or a tune_shard
    slice (the split settings that cut the folds). Raises ConfigError as make_strategy."""
    from dataclasses import asdict

    from snakeml.core.schema import SplitConfig
    from snakeml.models.task_kinds import task_kind

    split = cfg.split if isinstance(cfg.split, SplitConfig) else SplitConfig(**asdict(cfg.split))
    task = cfg.task
    return make_strategy(
        split,
        task_kind(task.kind).is_classifier,
        task.target,
        task.time,
        task.horizon,
        cfg.key,
        cfg.seed,
    )


def part_rows(table: pa.Table, strategy: SplitStrategy) -> tuple[dict[str, pa.Array], int]:
    """Each part's row positions in ``table``, in the order of the feature table's key.

    ``table`` needs only the strategy's columns (``strategy.columns()``), so the parts of a
    table too large to hold twice are found from a few of its columns. Returns the positions
    (int64 arrays, capped by split.max_train_rows / max_eval_rows with a seeded sample that
    keeps the order) and the number of rows the gap dropped. Raises DataError for a missing
    column or an empty part, naming the settings to change.
    """
    for column, setting in strategy.required().items():
        if column not in table.column_names:
            raise DataError(
                f"feature table has no column {column!r} ({setting}): the split needs it"
            )
    parts_of = strategy.assign(table.select(strategy.columns()).to_pandas())
    settings = strategy.settings
    caps = {
        "train": settings.max_train_rows,
        "valid": settings.max_eval_rows,
        "test": settings.max_eval_rows,
    }
    keys = table.select(list(strategy.key))
    order = [(column, "ascending") for column in strategy.key]
    parts: dict[str, pa.Array] = {}
    for index, name in enumerate(SPLITS):
        rows = pa.array(np.flatnonzero(parts_of == index))
        if len(rows) == 0:
            raise DataError(
                f"split {name!r} is empty: no rows of {table.num_rows} fall in it by "
                f"split.strategy {strategy.name}; {_how(strategy)}"
            )
        # The feature build does not sort (a global sort costs memory); order here, per part.
        rows = rows.take(pc.sort_indices(keys.take(rows), sort_keys=order))
        keep = kept_rows(len(rows), caps[name], strategy.seed + index)
        parts[name] = rows if keep is None else rows.take(pa.array(keep))
    return parts, int((parts_of == EMBARGOED).sum())


def split_table(table: pa.Table, strategy: SplitStrategy) -> tuple[dict[str, pa.Table], int]:
    """Cut the feature table into train, valid and test; each part in key order.

    Returns the parts (capped as ``part_rows`` caps them) and the number of rows the gap
    dropped. Raises DataError as ``part_rows`` does.
    """
    rows, embargoed = part_rows(table, strategy)
    return {name: table.take(part) for name, part in rows.items()}, embargoed


def _how(strategy: SplitStrategy) -> str:
    if strategy.name == "column":
        return f"write its name in split.column ({strategy.settings.column!r})"
    if strategy.name == "time" and strategy.settings.train_until is not None:
        return "change split.train_until and split.valid_until"
    return "change split.train_fraction and split.valid_fraction"


def write_splits(
    features: str | Path,
    outputs: dict[str, str | Path],
    cfg: SplitSlice,
    memory_mb: int | None = None,
    duckdb_memory_mb: int = DUCKDB_MEMORY_MB,
) -> dict[str, int]:
    """Read the feature table, split it and write each part; return the row counts.

    ``cfg`` is the split rule's slice (snakeml.core.slices.SplitSlice: ``seed``, ``split``,
    ``task``, ``key`` and ``tuning.n_folds``, the folds train + valid must allow). Rows
    without a target are left out (``no_target``); rows the gap drops are counted (``gap``).
    The parts and the tuning folds of train + valid are found and checked from the few columns
    the strategy reads, so a task that cannot be split or folded stops before the whole table
    is read and before any tuning job. DuckDB then sorts each part's rows by the key within
    ``duckdb_memory_mb`` (spilling to a temporary folder), and each part is
    written one row group at a time: no rule holds the whole table.
    ``memory_mb`` is the job's memory request: an estimate (rows from the footer x the
    columns read, plus DuckDB's limit; snakeml.core.memory) above it stops the job with ConfigError
    before a row is read.
    """
    from snakeml.core.memory import SPLIT_BYTES_PER_VALUE, check_memory
    from snakeml.models.task_kinds import task_kind

    strategy = strategy_of(cfg)
    target = strategy.target
    file = pq.ParquetFile(features)
    names = file.schema_arrow.names
    if target not in names:
        raise DataError(f"the feature table has no column {target!r} (task.target)")
    read = [column for column in dict.fromkeys([*strategy.columns(), target]) if column in names]
    check_memory(
        "split",
        file.metadata.num_rows,
        len(read),
        SPLIT_BYTES_PER_VALUE,
        memory_mb,
        fixed_mb=duckdb_memory_mb,
    )
    few = pq.read_table(features, columns=read)
    with_target = pc.is_valid(few[target])
    known = pa.array(np.flatnonzero(with_target.to_numpy(zero_copy_only=False)))
    few, no_target = few.take(known), few.num_rows - len(known)
    if few.num_rows == 0:
        raise DataError(
            f"the feature table has no rows with a target: all {no_target} rows have a null "
            f"{target} (task.target): check the raw data"
        )
    distinct = pc.unique(few[target].combine_chunks())
    task_kind(cfg.task.kind).check_target(distinct.to_numpy(zero_copy_only=False), target)
    rows, embargoed = part_rows(few, strategy)
    tuning = few.take(pa.concat_arrays([rows["train"], rows["valid"]]))
    frame = tuning.to_pandas().sort_values(strategy.tuning_order(), kind="stable")
    strategy.check_folds(frame.reset_index(drop=True), frame[target].to_numpy(), cfg.tuning.n_folds)
    del few, tuning, frame
    schema = pq.read_schema(features)
    counts: dict[str, int] = {}
    for name, part in rows.items():
        counts[name] = write_part(
            features, known.take(part), strategy.key, schema, outputs[name], duckdb_memory_mb
        )
        log.info("split %s: %d rows", name, counts[name])
    counts["gap"], counts["no_target"] = embargoed, no_target
    log.info(
        "split.strategy %s: %d rows dropped by the gap (%s), %d without a target",
        strategy.name,
        embargoed,
        getattr(strategy, "gap", None),
        no_target,
    )
    return counts


def write_part(
    features: str | Path,
    rows: pa.Array,
    key: Sequence[str],
    schema: pa.Schema,
    output: str | Path,
    duckdb_memory_mb: int = DUCKDB_MEMORY_MB,
) -> int:
    """Write the feature table's rows at positions ``rows`` (int64, shape (n,)), sorted by
    ``key`` (ties in file order), as parquet with the feature table's ``schema``.

    DuckDB reads the file (its rows numbered by ``read_parquet``'s ``file_row_number``) and
    sorts within ``duckdb_memory_mb``, spilling to a temporary folder (under TMPDIR, which
    Snakemake sets from ``resources.tmpdir``); the
    rows come out in row groups (snakeml.core.io.write_parquet_batches). The same rows give the
    same file as ``write_parquet`` of the sorted table. Returns the rows written.
    """
    from snakeml.core.io import PARQUET_ROW_GROUP
    from snakeml.data.features import connect

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    order = ", ".join([*(_quoted(column) for column in key), "file_row_number"])
    with tempfile.TemporaryDirectory(prefix="snakeml-split-") as spill:
        con = connect(1, duckdb_memory_mb)
        try:
            con.execute(f"set temp_directory = {_literal(spill)}")
            con.register("part_rows", pa.table({"file_row_number": rows}))
            part = con.sql(
                f"select * exclude (file_row_number) "
                f"from read_parquet({_literal(str(features))}, file_row_number = true) "
                f"semi join part_rows using (file_row_number) order by {order}"
            )
            batches = part.to_arrow_reader(PARQUET_ROW_GROUP)
            return write_parquet_batches(batches, schema, output)
        finally:
            con.close()


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
