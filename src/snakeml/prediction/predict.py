"""Batch prediction: score new rows with the champion through the same feature build.

New rows are rows of the table the data set's declaration names under ``predict.table`` (parquet
or CSV), without their outcomes (``predict.omit``). They are checked against that table's
declared columns, types and checks, added to the history with ids after its own, and the
feature build runs over history plus new rows exactly as for training (blocks included): the
history supplies what was known at each new row's moment.

A row the model cannot score honestly is refused, not scored. With ``predict.time`` and
``predict.reach`` declared, a new row's ``time`` must lie inside the span of history: not
before the history's first moment, and at most ``reach`` after its last (with
``predict.new_rows_extend``, after the last history row or scored new row before it). A row
outside it, or without a time, would get lags, rolling means and look-ups computed from
nothing. Refused rows stay in the output, in input order, with a null prediction and the
reason in ``refused`` (null for scored rows); they do not enter the feature build. When every
row is refused the job fails with one line naming the reasons and the span, and writes nothing.
A row that breaks its table's declared checks still fails the whole job.

The output keeps the input's id columns (the task's ``id_columns``), in input order, then
``predicted_<target>`` and ``refused``. A summary beside it (JSON, see ``prediction_summary``)
counts rows read, scored and refused by reason, and the drift of the scored rows' features
against the rows the champion was fitted on (snakeml.prediction.drift); each drifted column and each
kind of refusal is also a one-line warning in the log.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from snakeml.core.errors import DataError
from snakeml.core.io import write_json, write_parquet
from snakeml.core.schema import TableConfig
from snakeml.core.slices import PredictSlice
from snakeml.data.contracts import Contract, check_contract, table_contract
from snakeml.data.dataset import Declaration, Prediction, load_declaration, sql_variables
from snakeml.data.features import build_rows, connect, register_tables
from snakeml.data.ingest import ARROW_TYPES, CONVERSION_ERROR, NEW_ROWS_FIX, csv_value_error
from snakeml.prediction.drift import column_drift, drift_warnings, training_reference

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# The name of the output column that says why a row was not scored (null when it was).
REFUSED = "refused"


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_integer(dtype):
        return "an integer"
    if pa.types.is_floating(dtype):
        return "a number"
    if pa.types.is_timestamp(dtype):
        return "a timestamp" + (" with a time zone (UTC)" if dtype.tz else "")
    if pa.types.is_date(dtype):
        return "a date"
    if pa.types.is_boolean(dtype):
        return "a boolean"
    return "a string"


def _matches(dtype: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_integer(expected):
        return pa.types.is_integer(dtype)
    if pa.types.is_floating(expected):
        return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(dtype) and (dtype.tz is None) == (expected.tz is None)
    if pa.types.is_date(expected):
        return pa.types.is_date(dtype)
    if pa.types.is_boolean(expected):
        return pa.types.is_boolean(dtype)
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def new_row_types(spec: TableConfig, omit: tuple[str, ...]) -> dict[str, pa.DataType]:
    """The columns a new row of table ``spec`` must bring (its declared columns but ``omit``),
    with their declared Arrow types. Raises KeyError for a column type the data set may not
    declare."""
    return {
        name: ARROW_TYPES[kind.upper()] for name, kind in spec.columns.items() if name not in omit
    }


def read_new_rows(path: str | Path, table: str, types: dict[str, pa.DataType]) -> pa.Table:
    """Read new rows from parquet or CSV; check they have the needed columns and types.

    Raises DataError naming the file, the column and what it should be.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        if path.suffix == ".csv":
            convert = pacsv.ConvertOptions(
                column_types=types, null_values=["NA", ""], strings_can_be_null=True
            )
            try:
                data = pacsv.read_csv(path, convert_options=convert)
            except pa.ArrowInvalid as exc:
                if CONVERSION_ERROR.search(str(exc)) is None:
                    raise
                raise DataError(
                    f"{path}: new rows of table {table}: "
                    f"{csv_value_error(path, exc, pa.schema(list(types.items())), NEW_ROWS_FIX)}"
                ) from exc
        elif path.suffix == ".parquet":
            data = pq.read_table(path)
        else:
            raise DataError(f"{path}: new rows must be a .parquet or .csv file")
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read the new rows: {exc}") from exc
    missing = [name for name in types if name not in data.column_names]
    if missing:
        raise DataError(
            f"{path}: new rows lack columns {missing}; they need the declared columns of "
            f"table {table}: {', '.join(types)}"
        )
    for name, dtype in types.items():
        actual = data.schema.field(name).type
        if not _matches(actual, dtype):
            raise DataError(
                f"{path}: column {name!r} is {actual}, expected {_kind(dtype)} as declared for "
                f"table {table}"
            )
    if data.num_rows == 0:
        raise DataError(f"{path}: holds no rows to score")
    return data


def typed_rows(data: pa.Table, types: dict[str, pa.DataType], path: str | Path) -> pa.Table:
    """The declared columns a new row brings, cast to their declared types."""
    columns = []
    for name, dtype in types.items():
        try:
            columns.append(data[name].cast(dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{path}: column {name!r} does not fit {dtype}: {exc}") from exc
    return pa.table(dict(zip(types, columns, strict=True)))


def _check_entering(
    con: Any, new: pa.Table, table: str, spec: TableConfig, source: str, rule: str
) -> None:
    """Check new rows against their table's declared rules; ``source`` (the new-rows file, or
    empty) is named in the message."""
    contract = table_contract(table, spec, source)
    present = set(new.column_names)
    # A rule on a column new rows omit (an outcome such as dep_time) cannot apply to them.
    declared = {*spec.columns, *([spec.row_id] if spec.row_id else [])}
    entering = Contract(
        table=f"new {table}",
        source=source,
        types={},
        not_null=tuple(c for c in contract.not_null if c in present),
        ranges={c: r for c, r in contract.ranges.items() if c in present},
        accepted_values={c: v for c, v in contract.accepted_values.items() if c in present},
        expressions={
            name: expression
            for name, expression in contract.expressions.items()
            if set(re.findall(r"[A-Za-z_]\w*", expression)) & declared <= present
        },
    )
    con.register("new_rows", new)
    check_contract(con, "new_rows", entering, rule)


def check_new_rows(
    new: pa.Table,
    table: str,
    spec: TableConfig,
    path: str | Path,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
) -> None:
    """Check typed new rows of ``table`` against its declared nulls, ranges, values and rules.

    ``spec`` is the table's declaration (data.tables.<table>), ``path`` the new-rows file (named
    in messages). Raises DataError (a ContractError) naming the file, the column and the rows
    that break it.
    """
    con = connect(threads, memory_limit_mb)
    try:
        _check_entering(con, new, table, spec, str(path), rule)
    finally:
        con.close()


@dataclass(frozen=True)
class HistorySpan:
    """The span of history new rows of ``table`` must lie in, by their column ``time``.

    ``first`` and ``last`` are the history's first and last moments as text (None for an empty
    history); ``reach`` (a DuckDB interval) is how far after the last a new row may lie.
    """

    table: str
    time: str
    first: str | None
    last: str | None
    reach: str
    new_rows_extend: bool

    def _after(self, last: str) -> str:
        extended = " or the scored new row before it" if self.new_rows_extend else ""
        return f"{last}{extended}"

    def describe(self) -> str:
        """One phrase: where the history runs and how far a new row may lie after it."""
        after = self._after("the history's last")
        return (
            f"the history of {self.table}.{self.time} runs from {self.first} to {self.last}; "
            f"a new row may lie from its first to {self.reach} after {after}"
        )

    def reasons(self) -> dict[str, str]:
        """What each kind of refusal means, keyed by the value of the ``refused`` column."""
        last = self._after(f"the history's last ({self.last})")
        return {
            "no_time": f"{self.time} is null: the row cannot be placed in time",
            "before_history": (
                f"{self.time} lies before the history's first ({self.first}): its features "
                "would read a past the history does not hold"
            ),
            "after_history": (
                f"{self.time} lies more than {self.reach} after {last}: its features would "
                "read a past the history does not hold"
            ),
        }


def span_refusals(
    new_times: pa.Array, history_times: pa.Array, reach: str, new_rows_extend: bool = False
) -> tuple[list[str | None], str | None, str | None]:
    """Why each new row lies outside the span of history, or None when it lies inside.

    ``new_times`` and ``history_times`` are one time column (date or timestamp, the same type)
    of the new rows and of the history. A row is refused as ``no_time`` (null time),
    ``before_history`` (before the history's first moment) or ``after_history`` (more than
    ``reach``, a DuckDB interval, after the history's last moment; with ``new_rows_extend``,
    after the last history or accepted new moment before it, so a run of rows each within
    ``reach`` of the previous is accepted and everything after a gap is refused). Returns the
    reasons in input order and the history's first and last moments as text (UTC).
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("set timezone = 'UTC'")
        con.register("history_times", pa.table({"t": history_times}))
        positions = pa.array(range(len(new_times)), pa.int64())
        con.register("new_times", pa.table({"position": positions, "t": new_times}))
        rows = con.execute(
            """
            with

            span as (
                select min(history_times.t) as first, max(history_times.t) as last
                from history_times
            ),

            placed as (
                select
                    new_times.position,
                    new_times.t,
                    span.last,
                    case
                        when new_times.t is null then 'no_time'
                        when span.first is null or new_times.t < span.first
                            then 'before_history'
                    end as early
                from new_times
                cross join span
            ),

            later as (
                -- after the history: each row against the moment before it
                select
                    placed.position,
                    placed.t,
                    placed.t > cast($reach as interval) + case
                        when $extend
                            then coalesce(
                                lag(placed.t) over (order by placed.t, placed.position),
                                placed.last
                            )
                        else placed.last
                    end as gap
                from placed
                where placed.early is null and placed.t > placed.last
            ),

            broken as (
                -- a gap refuses its row and every later one
                select
                    later.position,
                    bool_or(later.gap) over (
                        order by later.t, later.position
                        rows between unbounded preceding and current row
                    ) as refused
                from later
            ),

            final as (
                select
                    placed.position,
                    coalesce(
                        placed.early, case when broken.refused then 'after_history' end
                    ) as reason
                from placed
                left join broken on broken.position = placed.position
            )

            select final.reason from final order by final.position
            """,
            {"reach": reach, "extend": new_rows_extend},
        ).fetchall()
        first, last = con.execute(
            "select cast(min(t) as varchar), cast(max(t) as varchar) from history_times"
        ).fetchone()
    finally:
        con.close()
    return [reason for (reason,) in rows], first, last


def refuse_outside_history(
    new: pa.Table, history_path: str | Path, predict: Prediction
) -> tuple[list[str | None], HistorySpan | None]:
    """The refusal of each new row (None: scored) by the span its declaration gives.

    Without ``predict.time`` no row is refused and the span is None. ``new`` holds the typed
    new rows; ``history_path`` is the history table's parquet file.
    """
    import pyarrow.parquet as pq

    if predict.time is None or predict.reach is None:
        return [None] * new.num_rows, None
    history = pq.read_table(history_path, columns=[predict.time])[predict.time]
    reasons, first, last = span_refusals(
        new[predict.time].combine_chunks(),
        history.combine_chunks(),
        predict.reach,
        predict.new_rows_extend,
    )
    span = HistorySpan(
        predict.table, predict.time, first, last, predict.reach, predict.new_rows_extend
    )
    return reasons, span


def new_row_features(
    new: pa.Table,
    paths: dict[str, str | Path],
    declaration: Declaration,
    cfg: PredictSlice,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
    check: bool = True,
    training_features: str | Path | None = None,
    history_rows: int = 0,
) -> pd.DataFrame:
    """The feature rows of ``new``, in input order, built over the history.

    ``new`` holds the declared columns of the prediction table, typed. New rows get ids after
    the history's; the result has a ``row_index`` (0-based input position) instead of the id.
    With ``training_features`` (the training feature table) the same build also rebuilds the
    ``history_rows`` history rows placed last in time (by ``predict.time``, else by id), beside
    the new rows, and compares their model inputs (``cfg.columns``) with the training
    table's: see ``check_serving``. Raises DataError when a new row breaks its table's checks
    (unless ``check`` is false: the caller checked them, see ``check_new_rows``), makes no
    feature row, or when a rebuilt history row differs from training.
    """
    import tempfile

    import duckdb
    import pandas as pd

    assert declaration.predict is not None
    table = declaration.predict.table
    tables = cfg.data.tables
    spec = tables[table]
    row_id = spec.row_id
    con = connect(threads, memory_limit_mb)
    try:
        register_tables(con, paths, tables, rule)
        present = set(new.column_names)
        if check:
            _check_entering(con, new, table, spec, "", rule)
        history = con.read_parquet(str(paths[table]))
        con.register("history_rows", history)
        ((first_id,),) = con.execute(
            f'select coalesce(max("{row_id}"), -1) + 1 from history_rows'
        ).fetchall()
        ids = pa.array(range(first_id, first_id + new.num_rows), pa.int64())
        con.register("new_rows_keyed", new.append_column(row_id, ids))
        arriving = ", ".join(
            f'new_rows_keyed."{name}"'
            if name in present or name == row_id
            # Outcomes are not known yet: they enter the SQL as nulls of their type.
            else f'null::{kind} as "{name}"'
            for name, kind in zip(history.columns, history.types, strict=True)
        )
        listed = ", ".join(f'"{name}"' for name in history.columns)
        combined = con.sql(
            f"select {listed} from history_rows union all select {arriving} from new_rows_keyed"
        )
        con.register(f"whole_{table}", combined)
        con.register(f"raw_{table}", combined)
        keep = duckdb.ColumnExpression(row_id) >= duckdb.ConstantExpression(first_id)
        rebuilt: list[int] = []
        if training_features is not None and history_rows > 0:
            rebuilt = _latest_history(con, row_id, declaration.predict.time, history_rows)
            if rebuilt:
                ids_kept = [duckdb.ConstantExpression(i) for i in rebuilt]
                keep = keep | duckdb.ColumnExpression(row_id).isin(*ids_kept)
        variables = sql_variables(cfg.features, declaration)
        with tempfile.TemporaryDirectory(prefix="snakeml-predict-") as folder:
            built = Path(folder) / "rows.parquet"
            build_rows(con, declaration, variables, cfg.features["block_rows"], keep, built)
            if rebuilt and training_features is not None:
                columns = [*cfg.columns["numeric"], *cfg.columns["categorical"]]
                history = con.read_parquet(str(built)).filter(
                    duckdb.ColumnExpression(row_id) < duckdb.ConstantExpression(first_id)
                )
                check_serving(con, history, training_features, declaration, columns)
            frame = pd.read_parquet(built)
    finally:
        con.close()
    frame = frame[frame[row_id] >= first_id]
    if len(frame) != new.num_rows:
        raise DataError(
            f"the feature build made {len(frame)} rows for {new.num_rows} new rows of {table}: "
            "each new row must make one row of the feature table"
        )
    frame = frame.sort_values(row_id, kind="stable").reset_index(drop=True)
    frame["row_index"] = frame.pop(row_id) - first_id
    return frame


def _latest_history(con: Any, row_id: str, time: str | None, rows: int) -> list[int]:
    """The ids of the ``rows`` history rows placed last: by ``time``, then by id."""
    order = f'"{time}" desc nulls last, "{row_id}" desc' if time else f'"{row_id}" desc'
    found = con.execute(
        f'select "{row_id}" from history_rows order by {order} limit ?', [rows]
    ).fetchall()
    return [int(i) for (i,) in found]


def check_serving(
    con: Any,
    rebuilt: Any,
    training_features: str | Path,
    declaration: Declaration,
    columns: list[str],
) -> None:
    """Train/serve consistency: history rows rebuilt by the prediction's feature build (DuckDB
    relation ``rebuilt``) hold the same model inputs ``columns`` as the training table.

    Rows are matched by the feature table's key; numbers within a relative 1e-9. Raises
    DataError, one line naming the differing columns, their count of rows and one row's key.
    """
    from snakeml.data.audit import differing_columns

    con.register("serving_rows", rebuilt)
    con.register("training_rows", con.read_parquet(str(training_features)))
    ((rows,),) = con.execute("select count(*) from serving_rows").fetchall()
    differing, example = differing_columns(
        con, "serving_rows", "training_rows", declaration.key, columns
    )
    if differing:
        listed = ", ".join(f"{c} ({n} row{'' if n == 1 else 's'})" for c, n in differing.items())
        key = ", ".join(f"{k}={v}" for k, v in (example or {}).items())
        raise DataError(
            f"train/serve: rebuilt beside the new rows, {rows} history rows placed last in "
            f"time change their features from the training table {training_features}: "
            f"{listed}, e.g. the row {key}; the feature SQL reads rows after a row's moment "
            "(turn the look-ahead audit on, audit.enabled=true, to find where) or changed "
            "since the model was trained (rerun the pipeline); nothing was scored"
        )
    log.info("train/serve: %d history rows rebuilt with the new rows equal training", rows)


def champion_predictions(
    pipeline: Any,
    features: pd.DataFrame,
    cfg: PredictSlice,
    decision_path: str | Path | None = None,
) -> pd.DataFrame:
    """``predicted_<target>``; for a classifier also one probability column per class.

    ``features`` holds the model inputs ``cfg.columns`` names (the task kind is ``cfg.task``'s);
    ``decision_path`` the champion's decision file (a classifier's classes and threshold).
    """
    from snakeml.models.estimators import feature_frame
    from snakeml.models.task_kinds import task_kind
    from snakeml.training.train import read_decision

    kind = task_kind(cfg.task.kind)
    decision = read_decision(decision_path) if decision_path else {}
    return kind.model_predictions(
        pipeline,
        feature_frame(features, cfg.columns),
        decision.get("classes"),
        decision.get("threshold"),
        f"predicted_{cfg.columns['target']}",
    )


def score_new_rows(
    new_path: str | Path,
    paths: dict[str, str | Path],
    sql_dir: str | Path,
    model_path: str | Path,
    cfg: PredictSlice,
    output: str | Path,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    rule: str = "predict",
    summary_path: str | Path | None = None,
    reference_paths: Sequence[str | Path] = (),
    decision_path: str | Path | None = None,
    training_features: str | Path | None = None,
) -> int:
    """Score the rows in ``new_path`` with the champion; write their ids and predictions.

    ``cfg`` is the predict rule's slice (snakeml.core.slices.PredictSlice: data, features,
    task.kind and task.id_columns, audit.serving_rows, columns);
    ``decision_path`` the champion's decision file (a classifier's classes and threshold).
    ``output`` gets one row per new row, in input order: the id columns the input has,
    ``predicted_<target>`` (for a classifier also one ``proba_<class>`` column per class; null
    for a refused row) and ``refused`` (the reason, null for a scored row). ``summary_path``,
    when given, gets the summary (``prediction_summary``), with drift against the rows in
    ``reference_paths`` (the split files the champion was fitted on). With
    ``training_features`` (the training feature table) the build also rebuilds the
    ``serving_rows`` history rows placed last and refuses the batch if they differ from
    training (``check_serving``). Returns the number of
    rows scored. Raises DataError naming the file and column, or the reasons and the span of
    history when every row is refused; nothing is written then.
    """
    import pandas as pd

    from snakeml.models.estimators import limit_threads, load_model

    declaration = load_declaration(sql_dir)
    if declaration.predict is None:
        raise DataError(
            f"data set {declaration.sql_dir.name} declares no predict table in "
            f"{declaration.sql_dir / 'steps.yaml'}: batch prediction is not set up for it"
        )
    table = declaration.predict.table
    spec = cfg.data.tables[table]
    row_ids = [spec.row_id] if spec.row_id else []
    types = new_row_types(spec, (*declaration.predict.omit, *row_ids))
    data = read_new_rows(new_path, table, types)
    new = typed_rows(data, types, new_path)
    check_new_rows(new, table, spec, new_path, threads, memory_limit_mb, rule)
    refused, span = refuse_outside_history(new, paths[table], declaration.predict)
    if span is None:
        log.warning(
            "%s declares no predict.time and predict.reach: new rows are not checked against "
            "the span of history",
            declaration.sql_dir / "steps.yaml",
        )
    kept = [i for i, reason in enumerate(refused) if reason is None]
    counts = _refusal_counts(refused)
    if not kept:
        assert span is not None
        listed = ", ".join(f"{n} {reason}" for reason, n in counts.items())
        raise DataError(
            f"{new_path}: every one of the {new.num_rows} new rows is refused ({listed}): "
            f"{span.describe()}; send rows inside that span"
        )
    pipeline = load_model(model_path)
    features = new_row_features(
        new.take(pa.array(kept, pa.int64())),
        paths,
        declaration,
        cfg,
        threads,
        memory_limit_mb,
        rule,
        check=False,
        training_features=training_features,
        history_rows=cfg.audit.serving_rows,
    )
    with limit_threads(threads):
        predicted = champion_predictions(pipeline, features, cfg, decision_path)
    keys = [name for name in cfg.task.id_columns if name in data.column_names]
    # Refused rows keep their place, with null predictions.
    out = data.select(keys)
    for column in predicted.columns:
        full = pd.Series(predicted[column].to_numpy(), index=kept).reindex(range(new.num_rows))
        out = out.append_column(column, pa.array(full, from_pandas=True))
    out = out.append_column(REFUSED, pa.array(refused, pa.string()))
    drift: dict[str, dict[str, Any]] = {}
    reference_rows = None
    if reference_paths:
        reference = training_reference(reference_paths, cfg.columns)
        drift, reference_rows = column_drift(features, reference), reference.rows
    for reason, n in counts.items():
        why = span.reasons()[reason] if span is not None else reason
        log.warning("refused %d of %d new rows (%s): %s", n, new.num_rows, reason, why)
    for line in drift_warnings(drift, len(kept)):
        log.warning("%s", line)
    summary = prediction_summary(new.num_rows, counts, span, drift, reference_rows)
    write_parquet(out, output)
    if summary_path is not None:
        write_json(summary_path, summary)
    log.info(
        "scored %d of %d new rows of %s from %s with %s",
        len(kept),
        new.num_rows,
        table,
        new_path,
        model_path,
    )
    return len(kept)


def _refusal_counts(refused: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(reason for reason in refused if reason is not None).items()))


def prediction_summary(
    read: int,
    refusals: dict[str, int],
    span: HistorySpan | None,
    drift: dict[str, dict[str, Any]],
    reference_rows: int | None = None,
) -> dict[str, Any]:
    """The summary written beside the predictions, as plain data for JSON.

    ``rows``: ``read``, ``scored`` and ``refused`` counts. ``refused``: per reason, its
    ``rows`` and what it means. ``history``: the span new rows must lie in (table, time,
    first, last, reach, new_rows_extend), or None when none is declared. ``training_rows``:
    how many rows the drift reference holds. ``columns``: per model input column, its drift
    (snakeml.prediction.drift.column_drift), and ``drifted``: the names of the drifted columns.
    """
    refused = sum(refusals.values())
    reasons = span.reasons() if span is not None else {}
    return {
        "rows": {"read": read, "scored": read - refused, "refused": refused},
        "refused": {
            reason: {"rows": n, "reason": reasons.get(reason, reason)}
            for reason, n in refusals.items()
        },
        "history": None
        if span is None
        else {
            "table": span.table,
            "time": span.time,
            "first": span.first,
            "last": span.last,
            "reach": span.reach,
            "new_rows_extend": span.new_rows_extend,
        },
        "training_rows": reference_rows,
        "columns": drift,
        "drifted": [name for name, column in drift.items() if column["drifted"]],
    }
