"""Data sets as declarations: the tables of conf/data/<name>.yaml and the steps of sql/<name>/.

A data set is YAML and SQL, never Python. ``conf/data/<name>.yaml`` names its tables (files,
globs or a file inside an installed package), their columns, types and checks;
``sql/<name>/steps.yaml`` declares the feature steps in order, the table they make and every
feature column with its kind and family. Everything else (the step order, the final column
list, the families, the default feature list, the SQL variables) is derived from these here,
in one place, and checked before any job runs.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakeml.core.errors import ConfigError, SettingError, closest_name
from snakeml.core.schema import Bounds, DataConfig, TableConfig, is_non_finite

FINITE_OR_NULL = Bounds(nullable=True)

DECLARATION = "steps.yaml"
FEATURE_KINDS: tuple[str, ...] = ("numeric", "categorical")
# Column types a table may declare, with the name DuckDB's `describe` gives each.
COLUMN_TYPES: dict[str, str] = {
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "VARCHAR": "VARCHAR",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
}
NUMERIC_TYPES: frozenset[str] = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL"}
)
TIME_TYPES: frozenset[str] = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"})
# features.* keys the engine itself reads; every other one is a variable of the data set's SQL.
ENGINE_SETTINGS: tuple[str, ...] = ("block_rows", "columns")
VARIABLE_TYPES: tuple[str, ...] = ("int", "float", "str", "bool")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Feature:
    """A feature column of the table: numeric or categorical, and its family."""

    name: str
    kind: str
    family: str


@dataclass(frozen=True)
class Carry:
    """State handed from block to block: a table remade by ``sql`` after each block."""

    table: str
    sql: str
    columns: dict[str, str]


@dataclass(frozen=True)
class Blocks:
    """How a large table is built in blocks of moments (see snakeml.data.features)."""

    table: str
    time: str
    moment: str
    reach_back: str
    reach_ahead: str
    carry: Carry | None = None


@dataclass(frozen=True)
class Prediction:
    """New rows to score are rows of ``table``; ``omit`` may be left out (entered as nulls).

    ``time`` and ``reach`` declare the span of history a new row's features need: the row's
    ``time`` must lie from the history's first moment to ``reach`` (a DuckDB interval, such as
    ``'1 day'``) after its last. With ``new_rows_extend`` a scored new row is history for the
    new rows after it (they bring what the features read). Without ``time`` no span is checked.
    """

    table: str
    omit: tuple[str, ...] = ()
    time: str | None = None
    reach: str | None = None
    new_rows_extend: bool = False


@dataclass(frozen=True)
class Audit:
    """What the look-ahead audit (snakeml.data.audit) needs beyond the steps.

    ``known_at`` maps each time-stamped table to its column holding when a row becomes known
    (tables not named hold no time and are never cut); ``time`` is the feature table's column
    placing a row in time; ``safe`` maps a feature the audit may see change to the reason it is
    known in advance all the same.
    """

    known_at: dict[str, str]
    time: str
    safe: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Declaration:
    """sql/<name>/steps.yaml, checked."""

    sql_dir: Path
    steps: tuple[str, ...]
    materialize: tuple[str, ...]
    key: tuple[str, ...]
    columns: tuple[str, ...]
    features: tuple[Feature, ...]
    not_null: tuple[str, ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: Blocks | None = None
    predict: Prediction | None = None
    audit: Audit | None = None

    @property
    def step_files(self) -> list[Path]:
        """Every SQL file the build reads, steps first, then the carry step if any."""
        files = [self.sql_dir / f"{step}.sql" for step in self.steps]
        if self.blocks is not None and self.blocks.carry is not None:
            files.append(self.sql_dir / self.blocks.carry.sql)
        return files

    @property
    def input_files(self) -> list[Path]:
        """What the build depends on: its SQL files, then this declaration (steps.yaml) last."""
        return [*self.step_files, self.sql_dir / DECLARATION]

    @property
    def final_columns(self) -> list[str]:
        """Every column the last step must produce: key, other columns, features."""
        names = [*self.key, *self.columns, *(f.name for f in self.features)]
        return list(dict.fromkeys(names))

    def feature_columns(self, kind: str, selected: list[str] | None = None) -> list[str]:
        """Declared features of ``kind``, in declaration order, limited to ``selected``."""
        return [
            f.name
            for f in self.features
            if f.kind == kind and (selected is None or f.name in selected)
        ]

    def families(self, selected: list[str] | None = None) -> dict[str, list[str]]:
        """Each family with its (selected) columns, families in order of first appearance."""
        out: dict[str, list[str]] = {}
        for feature in self.features:
            if selected is None or feature.name in selected:
                out.setdefault(feature.family, []).append(feature.name)
        return out


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping, got {type(value).__name__}")
    return value


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of names, got {value!r}")
    for name in value:
        if not _NAME.match(name):
            raise ConfigError(f"{where}: {name!r} is not a valid column or step name")
    return tuple(value)


RANGE_RULE = "[low, high]: finite numbers (null for an open end), low <= high"


def _ranges(value: Any, where: str) -> dict[str, tuple[float | None, float | None]]:
    """Checked ``column: [low, high]`` bounds; any finite number may be a bound."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for column, bounds in _mapping(value or {}, where).items():
        key = f"{where}.{column}"
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
            raise SettingError(key, bounds, RANGE_RULE)
        if not all(b is None or FINITE_OR_NULL.admits(b) for b in bounds):
            raise SettingError(key, list(bounds), RANGE_RULE)
        low, high = bounds
        if low is not None and high is not None and low > high:
            raise SettingError(key, list(bounds), RANGE_RULE)
        out[str(column)] = (low, high)
    return out


def load_declaration(sql_dir: str | Path) -> Declaration:
    """Read and check ``sql_dir/steps.yaml``; every step file must exist.

    Raises ConfigError naming the file and the key that is wrong.
    """
    from snakeml.core.io import read_yaml

    sql_dir = Path(sql_dir)
    path = sql_dir / DECLARATION
    where = str(path)
    if not path.is_file():
        message = (
            f"{where} is missing: a data set's SQL folder declares its steps and features there"
        )
        if not sql_dir.is_dir() and sql_dir.parent.is_dir():  # data.name names no folder
            names = sorted(d.name for d in sql_dir.parent.iterdir() if (d / DECLARATION).is_file())
            close = closest_name(sql_dir.name, names)
            meant = f"did you mean data.name: {close}? " if close else ""
            message += (
                f"; data.name {sql_dir.name!r} names no folder of {sql_dir.parent.name}/: "
                f"{meant}the data sets there are {names}"
            )
        raise ConfigError(message)
    try:
        raw = _mapping(read_yaml(path), where)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read: {exc}") from exc
    known = {"steps", "materialize", "key", "columns", "features", "checks", "variables"}
    known |= {"blocks", "predict", "audit"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    steps = _names(raw.get("steps"), f"{where}: steps")
    if not steps:
        raise ConfigError(f"{where}: steps must list at least one step, the last making the table")
    for step in steps:
        if not (sql_dir / f"{step}.sql").is_file():
            raise ConfigError(f"{where}: step {step!r} has no file {sql_dir / f'{step}.sql'}")
    materialize = _names(raw.get("materialize"), f"{where}: materialize")
    strays = sorted(set(materialize) - set(steps))
    if strays:
        raise ConfigError(f"{where}: materialize names steps that are not steps: {strays}")
    key = _names(raw.get("key"), f"{where}: key")
    if not key:
        raise ConfigError(f"{where}: key must name the column(s) that identify a row")
    columns = _names(raw.get("columns"), f"{where}: columns")
    features: list[Feature] = []
    for name, spec in _mapping(raw.get("features") or {}, f"{where}: features").items():
        spec = _mapping(spec, f"{where}: features.{name}")
        if not _NAME.match(str(name)):
            raise ConfigError(f"{where}: features.{name} is not a valid column name")
        if spec.get("kind") not in FEATURE_KINDS:
            raise ConfigError(
                f"{where}: features.{name}.kind must be one of {list(FEATURE_KINDS)}, "
                f"got {spec.get('kind')!r}"
            )
        if not isinstance(spec.get("family"), str) or not spec["family"]:
            raise ConfigError(f"{where}: features.{name}.family must name a family")
        features.append(Feature(str(name), spec["kind"], spec["family"]))
    if not features:
        raise ConfigError(f"{where}: features must declare at least one feature column")
    checks = _mapping(raw.get("checks") or {}, f"{where}: checks")
    strays = sorted(set(checks) - {"not_null", "ranges"})
    if strays:
        raise ConfigError(f"{where}: checks has unknown keys {strays}; known: not_null, ranges")
    variables = {}
    for name, spec in _mapping(raw.get("variables") or {}, f"{where}: variables").items():
        spec = _mapping(spec, f"{where}: variables.{name}")
        if spec.get("type", "float") not in VARIABLE_TYPES:
            raise ConfigError(
                f"{where}: variables.{name}.type must be one of {list(VARIABLE_TYPES)}"
            )
        for end in ("min", "max"):
            if not FINITE_OR_NULL.admits(spec.get(end)):
                raise SettingError(f"{where}: variables.{name}.{end}", spec[end], "a finite number")
        variables[str(name)] = spec
    blocks = None
    if raw.get("blocks") is not None:
        spec = _mapping(raw["blocks"], f"{where}: blocks")
        needed = ("table", "time", "moment", "reach_back", "reach_ahead")
        missing = [k for k in needed if not spec.get(k)]
        if missing:
            raise ConfigError(f"{where}: blocks needs {missing}")
        carry = None
        if spec.get("carry") is not None:
            c = _mapping(spec["carry"], f"{where}: blocks.carry")
            if not c.get("table") or not c.get("sql") or not c.get("columns"):
                raise ConfigError(f"{where}: blocks.carry needs table, sql and columns")
            if not (sql_dir / c["sql"]).is_file():
                raise ConfigError(f"{where}: blocks.carry.sql {sql_dir / c['sql']} is missing")
            carry = Carry(str(c["table"]), str(c["sql"]), _column_types(c["columns"], where))
        blocks = Blocks(*(str(spec[k]) for k in needed), carry=carry)
    predict = None
    if raw.get("predict") is not None:
        predict = _prediction(raw["predict"], where)
    declaration = Declaration(
        sql_dir=sql_dir,
        steps=steps,
        materialize=materialize,
        key=key,
        columns=columns,
        features=tuple(features),
        not_null=_names(checks.get("not_null"), f"{where}: checks.not_null"),
        ranges=_ranges(checks.get("ranges"), f"{where}: checks.ranges"),
        variables=variables,
        blocks=blocks,
        predict=predict,
        audit=_audit(raw["audit"], where) if raw.get("audit") is not None else None,
    )
    twice = sorted({c for c in columns if c in {f.name for f in features}})
    if twice:
        raise ConfigError(f"{where}: {twice} are declared both as columns and as features")
    if declaration.audit is not None:
        names = [f.name for f in features]
        for column in declaration.audit.safe:
            if column not in names:
                close = closest_name(column, names)
                meant = f" (did you mean {close!r}?)" if close else ""
                raise ConfigError(
                    f"{where}: audit.safe names {column!r}, which is not a feature{meant}: "
                    "declare only features safe, or remove it"
                )
        if declaration.audit.time not in declaration.final_columns:
            raise ConfigError(
                f"{where}: audit.time {declaration.audit.time!r} is not a column of the feature "
                f"table; choose from {declaration.final_columns}"
            )
    return declaration


AUDIT_KEYS: tuple[str, ...] = ("known_at", "time", "safe")


def _audit(value: Any, where: str) -> Audit:
    """``audit:`` of steps.yaml, checked on its own (check_data checks it against the tables)."""
    spec = _mapping(value, f"{where}: audit")
    unknown = sorted(set(spec) - set(AUDIT_KEYS))
    if unknown:
        raise ConfigError(f"{where}: audit has unknown keys {unknown}; known: {list(AUDIT_KEYS)}")
    known_at = _mapping(spec.get("known_at") or {}, f"{where}: audit.known_at")
    if not known_at:
        raise ConfigError(
            f"{where}: audit.known_at must name, for each time-stamped table, the column "
            "holding when a row becomes known, e.g. {days: date}"
        )
    for table, column in known_at.items():
        if not isinstance(column, str) or not _NAME.match(column):
            raise ConfigError(
                f"{where}: audit.known_at.{table} must name one column, got {column!r}"
            )
    time = spec.get("time")
    if not isinstance(time, str) or not _NAME.match(time):
        raise ConfigError(
            f"{where}: audit.time must name the feature table's column that places a row in "
            f"time, got {time!r}"
        )
    safe = _mapping(spec.get("safe") or {}, f"{where}: audit.safe")
    for column, reason in safe.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(
                f"{where}: audit.safe.{column} needs the reason the column is known in advance"
            )
    return Audit(
        {str(t): str(c) for t, c in known_at.items()},
        time,
        {str(c): str(r).strip() for c, r in safe.items()},
    )


PREDICT_KEYS: tuple[str, ...] = ("table", "omit", "time", "reach", "new_rows_extend")


def _prediction(value: Any, where: str) -> Prediction:
    spec = _mapping(value, f"{where}: predict")
    unknown = sorted(set(spec) - set(PREDICT_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: predict has unknown keys {unknown}; known: {list(PREDICT_KEYS)}"
        )
    if not spec.get("table"):
        raise ConfigError(f"{where}: predict.table must name the table new rows belong to")
    omit = _names(spec.get("omit"), f"{where}: predict.omit")
    time = spec.get("time")
    reach = spec.get("reach")
    if (time is None) != (reach is None):
        raise ConfigError(
            f"{where}: predict.time and predict.reach go together: name the column that places "
            "a new row in time and how far after the history's last moment it may lie"
        )
    if time is not None:
        if not isinstance(time, str) or not _NAME.match(time):
            raise ConfigError(f"{where}: predict.time must name one column, got {time!r}")
        if time in omit:
            raise ConfigError(f"{where}: predict.time {time!r} is also in predict.omit")
        reach = parse_interval(reach, f"{where}: predict.reach")
    extend = spec.get("new_rows_extend", False)
    if not isinstance(extend, bool):
        raise ConfigError(f"{where}: predict.new_rows_extend must be true or false, got {extend!r}")
    if extend and time is None:
        raise ConfigError(f"{where}: predict.new_rows_extend needs predict.time and predict.reach")
    return Prediction(str(spec["table"]), omit, time, reach, extend)


def parse_interval(value: Any, where: str, positive: bool = False) -> str:
    """``value`` checked as a DuckDB interval of zero or more, e.g. ``'1 day'``, ``'90 minutes'``
    (more than zero with ``positive``).

    Returns the text as given (stripped). Raises ConfigError naming ``where`` and the value.
    """
    import duckdb

    hint = "a DuckDB interval of zero or more in quotes, such as '1 day' or '90 minutes'"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be {hint}, got {value!r}")
    try:
        ((negative, zero),) = duckdb.execute(
            "select cast($1 as interval) < interval 0 second, "
            "cast($1 as interval) = interval 0 second",
            [value.strip()],
        ).fetchall()
    except duckdb.Error:
        raise ConfigError(f"{where}: {value!r} is not {hint}") from None
    if positive and (negative or zero):
        raise ConfigError(f"{where}: {value!r} must be a positive interval such as '1 day'")
    if negative:
        raise ConfigError(f"{where}: {value!r} is negative; must be {hint}")
    return value.strip()


def _column_types(columns: Any, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, kind in _mapping(columns, where).items():
        if str(kind).upper() not in COLUMN_TYPES:
            raise ConfigError(
                f"{where}: column {name} has type {kind!r}; use one of {list(COLUMN_TYPES)}"
            )
        out[str(name)] = str(kind).upper()
    return out


def flatten_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as flat names: ``{"windows": {"short": 60}}`` -> ``windows_short``."""
    return {name: value for name, (_, value) in _flat_settings(settings, prefix, "").items()}


def _flat_settings(settings: dict[str, Any], prefix: str, path: str) -> dict[str, tuple[str, Any]]:
    """Flat name -> (dotted key under features, value)."""
    flat: dict[str, tuple[str, Any]] = {}
    for key, value in settings.items():
        name, dotted = f"{prefix}{key}", f"{path}{key}"
        if isinstance(value, dict):
            flat.update(_flat_settings(value, f"{name}_", f"{dotted}."))
        else:
            flat[name] = (dotted, value)
    return flat


def sql_variables(features: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """The SQL variables of a features config slice, checked against the declaration.

    Every features.* key except the engine's own (block_rows, columns) is a variable; nested
    keys are joined with "_". Raises ConfigError naming ``features.<key>``.
    """
    flat = _flat_settings({k: v for k, v in features.items() if k not in ENGINE_SETTINGS}, "", "")
    values = {name: value for name, (_, value) in flat.items()}
    where = declaration.sql_dir / DECLARATION
    for name, (dotted, value) in flat.items():
        key = f"features.{dotted}"
        if not _NAME.match(name):
            raise ConfigError(f"{key}: {name!r} is not a valid SQL variable name")
        spec = declaration.variables.get(name)
        if spec is None:
            if declaration.variables:
                raise ConfigError(
                    f"{key}: the SQL of data set {declaration.sql_dir.name} declares no such "
                    f"variable {name} ({where}); known: {sorted(declaration.variables)}"
                )
            if value is None or isinstance(value, list) or is_non_finite(value):
                raise SettingError(key, value, "a finite number, a string or a boolean")
            continue
        kind = spec.get("type", "float")
        if kind in ("int", "float"):
            bounds = variable_bounds(spec)
            if not bounds.admits(value):
                raise SettingError(key, value, bounds.describe())
        elif kind == "bool" and not isinstance(value, bool):
            raise SettingError(key, value, "true or false")
        elif kind == "str" and not isinstance(value, str):
            raise SettingError(key, value, "a string")
    absent = sorted(set(declaration.variables) - set(values))
    if absent:
        raise ConfigError(
            f"features: the SQL of data set {declaration.sql_dir.name} reads {absent}; "
            f"set them under features: in conf/data/{declaration.sql_dir.name}.yaml"
        )
    return values


def variable_bounds(spec: dict[str, Any]) -> Bounds:
    """The range of a numeric SQL variable as steps.yaml declares it (min, max, exclusive)."""
    open_ = bool(spec.get("exclusive", False))
    return Bounds(
        low=spec.get("min"),
        high=spec.get("max"),
        low_open=open_,
        high_open=open_,
        integer=spec.get("type", "float") == "int",
    )


def selected_features(features: dict[str, Any], declaration: Declaration) -> dict[str, Any]:
    """The model input columns: ``{"numeric": [...], "categorical": [...]}`` in declared order.

    ``features.columns`` (a list, or null for every declared feature) selects among them.
    """
    chosen = features.get("columns")
    if chosen is not None:
        declared = [f.name for f in declaration.features]
        unknown = sorted(set(chosen) - set(declared))
        if unknown:
            raise ConfigError(
                f"features.columns: {unknown} are not features of data set "
                f"{declaration.sql_dir.name}; declared: {declared}"
            )
        if not chosen:
            raise ConfigError("features.columns: select at least one feature (null for all)")
    return {
        "numeric": declaration.feature_columns("numeric", chosen),
        "categorical": declaration.feature_columns("categorical", chosen),
    }


def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"package {package!r} is not installed: run `make venv` (or pip install {package})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def table_files(table: str, spec: TableConfig, root: str | Path = ".") -> list[Path]:
    """The files table ``table`` (declared as ``spec``) is read from: its path (or glob), under
    its package or the project ``root``.

    Raises ConfigError when the path is absolute or leaves the project, when nothing matches,
    when a file is neither CSV, parquet nor JSON records, or when one part matches in two
    formats, naming the table and the path.
    """
    if Path(spec.path).is_absolute() or ".." in Path(spec.path).parts:
        raise ConfigError(
            f"data.tables.{table}.path: {spec.path!r} must be relative to the project (or to "
            "its package): put the files under the project"
        )
    base = package_dir(spec.package) if spec.package else Path(root)
    files = sorted(p for p in base.glob(spec.path) if p.is_file())
    if not files:
        where = f"in package {spec.package}" if spec.package else "under the project"
        raise ConfigError(
            f"data.tables.{table}.path: {spec.path!r} matches no file {where}; "
            "put the file there or fix the path in conf/data/"
        )
    suffixes = (".csv", ".csv.zip", ".parquet", ".json", ".jsonl")
    bad = [f.name for f in files if not f.name.endswith(suffixes)]
    if bad:
        raise ConfigError(
            f"data.tables.{table}.path: {bad} are neither CSV (.csv, .csv.zip), parquet nor "
            "JSON records (.json, .jsonl)"
        )
    # The same part in two formats (a.csv and a.parquet) would be read twice.
    seen: dict[Path, Path] = {}
    for path in files:
        part = path.with_name(
            next(path.name.removesuffix(s) for s in suffixes if path.name.endswith(s))
        )
        if part in seen:
            raise ConfigError(
                f"data.tables.{table}.path: {spec.path!r} matches both {seen[part]} and "
                f"{path}, the same rows twice; remove one, or narrow the path in conf/data/"
            )
        seen[part] = path
    return files


def check_data(data: DataConfig, declaration: Declaration, root: str | Path = ".") -> None:
    """Check a data set's tables (``data``) against each other and its SQL declaration, without
    reading the data; each table's files must exist under ``root`` (or its package).

    Raises ConfigError naming ``data.tables.<table>.<key>``.
    """
    tables = data.tables
    if not tables:
        raise ConfigError("data.tables: declare at least one table")
    for name, spec in tables.items():
        key = f"data.tables.{name}"
        if not _NAME.match(name):
            raise ConfigError(f"{key}: {name!r} is not a valid table name")
        columns = _column_types(spec.columns, key + ".columns")
        if not columns:
            raise ConfigError(f"{key}.columns: declare at least one column and its type")
        if spec.row_id:
            if spec.row_id in columns:
                raise ConfigError(f"{key}.row_id: {spec.row_id!r} is already a column")
            columns[spec.row_id] = "BIGINT"
        named = [
            *(("not_null", c) for c in spec.not_null),
            *(("unique", c) for group in spec.unique for c in group),
            *(("ranges", c) for c in spec.ranges),
            *(("accepted_values", c) for c in spec.accepted_values),
            *(("formats", c) for c in spec.formats),
        ]
        for check, column in named:
            if column not in columns:
                close = closest_name(column, list(columns))
                raise ConfigError(
                    f"{key}.{check}: {column!r} is not one of the table's columns"
                    f"{f' (did you mean {close!r}?)' if close else ''}: declare it under "
                    f"{key}.columns or fix the name; the columns are {sorted(columns)}"
                )
        _ranges(spec.ranges, f"{key}.ranges")
        for rule, expression in spec.expressions.items():
            if not _NAME.match(rule) or not str(expression).strip():
                raise ConfigError(
                    f"{key}.expressions: {rule!r} needs a plain name and a boolean SQL expression"
                )
        for column, values in spec.accepted_values.items():
            if not values:
                raise ConfigError(f"{key}.accepted_values.{column}: list at least one value")
        table_files(name, spec, root)
    where = declaration.sql_dir / DECLARATION
    if declaration.blocks is not None:
        blocks = declaration.blocks
        if blocks.table not in tables:
            raise ConfigError(f"{where}: blocks.table {blocks.table!r} is not a table of the data")
        if blocks.time not in tables[blocks.table].columns:
            raise ConfigError(
                f"{where}: blocks.time {blocks.time!r} is not a column of {blocks.table}"
            )
    if declaration.audit is not None:
        for table, column in declaration.audit.known_at.items():
            if table not in tables:
                raise ConfigError(
                    f"{where}: audit.known_at names {table!r}, not a table of the data; "
                    f"tables: {list(tables)}"
                )
            kind = str(tables[table].columns.get(column, "")).upper()
            if COLUMN_TYPES.get(kind) not in TIME_TYPES:
                raise ConfigError(
                    f"{where}: audit.known_at.{table} {column!r} must be a DATE, TIMESTAMP or "
                    f"TIMESTAMPTZ column of {table} (data.tables.{table}.columns)"
                )
    if declaration.predict is not None:
        table = declaration.predict.table
        if table not in tables:
            raise ConfigError(f"{where}: predict.table {table!r} is not a table of the data")
        if not tables[table].row_id:
            raise ConfigError(
                f"data.tables.{table}.row_id: batch prediction needs a row_id on {table}"
            )
        time = declaration.predict.time
        if time is not None:
            kind = str(tables[table].columns.get(time, "")).upper()
            if COLUMN_TYPES.get(kind) not in TIME_TYPES:
                raise ConfigError(
                    f"{where}: predict.time {time!r} must be a DATE, TIMESTAMP or TIMESTAMPTZ "
                    f"column of {table} (data.tables.{table}.columns)"
                )


def _not_a_column(key: str, value: str, candidates: Sequence[str], where: str) -> ConfigError:
    """``<key>: '<value>' is not a column of <where> (did you mean ...?); choose from [...]``."""
    close = closest_name(value, candidates)
    meant = f" (did you mean {close!r}?)" if close else ""
    return ConfigError(
        f"{key}: {value!r} is not a column of {where}{meant}; choose from {list(candidates)}"
    )


def _data_sets_with(column: str, sql_dir: Path) -> list[str]:
    """The other data sets (folders beside ``sql_dir``) whose feature table has ``column``."""
    owners = []
    for folder in sorted(Path(sql_dir).parent.iterdir()):
        if folder.name == Path(sql_dir).name or not (folder / DECLARATION).is_file():
            continue
        try:
            if column in load_declaration(folder).final_columns:
                owners.append(folder.name)
        except ConfigError:  # another data set's own mistake is said when it is chosen
            continue
    return owners


def _task_of_another(task: dict[str, Any], declaration: Declaration, owners: list[str]) -> str:
    """What to do when the task's columns are another data set's (``owners``): choose a task
    of this data set (those under conf/task/ whose target is a column of its table), or the
    data set the task was written for."""
    from snakeml.core.io import read_yaml

    name = declaration.sql_dir.name
    tasks = []
    for path in sorted((declaration.sql_dir.parents[1] / "conf" / "task").glob("*.yaml")):
        found = read_yaml(path)
        spec = found.get("task") if isinstance(found, dict) else None
        if isinstance(spec, dict) and spec.get("target") in declaration.columns:
            tasks.append(f"task={path.stem}")
    ours = (
        f"give a task of {name}: {' or '.join(tasks)}"
        if tasks
        else f"{name} has no task yet: write conf/task/<name>.yaml for it (docs/own-data.md)"
    )
    data = " or ".join(f"data={owner}" for owner in owners)
    return f"the task {task['name']} is {' and '.join(owners)}'s: {ours}; or add {data}"


def check_task(task: dict[str, Any], declaration: Declaration) -> None:
    """Check that the task's columns are columns of the data set's feature table.

    Raises ConfigError naming the setting, the closest column and the columns it may name (for
    the target, the table's columns that are not features).
    """
    final = declaration.final_columns
    where = f"the feature table of sql/{declaration.sql_dir.name}/ ({DECLARATION})"
    for key in ("target", "time"):
        if key == "time" and task[key] is None:
            continue  # a table without time: the split strategy needs none
        if task[key] not in final:
            candidates = list(declaration.columns) if key == "target" else final
            error = _not_a_column(f"task.{key}", task[key], candidates, where)
            owners = _data_sets_with(task[key], declaration.sql_dir)
            if owners:  # data= without its task=, or task= without its data=
                error = ConfigError(f"{error}; {_task_of_another(task, declaration, owners)}")
            raise error
    if task["target"] in {f.name for f in declaration.features}:
        raise ConfigError(
            f"task.target: {task['target']!r} is a feature of {where}: a target is never an input"
        )
    for column in task["id_columns"]:
        if column not in final:
            raise _not_a_column("task.id_columns", column, final, where)
    names = [group["name"] for group in task["groups"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"task.groups: names must differ, got {names}")
    for group in task["groups"]:
        if group["column"] not in final:
            raise _not_a_column("task.groups", group["column"], final, where)
        if not _NAME.match(group["name"]):
            raise ConfigError(f"task.groups: name {group['name']!r} must be a plain word")


# The built-in baselines' names (snakeml.models.task_kinds) a declared one may not take.
BUILT_IN_BASELINES = ("mean", "median", "prior", "frequency")


def check_task_baselines(task: dict[str, Any], declaration: Declaration) -> None:
    """Check ``task.baselines``: each a plain, unique name and a feature of the right kind.

    A declared baseline's column is the prediction itself, so it must be known when the
    prediction is made: a declared feature (the table's other columns hold the targets). A
    regression baseline is a numeric feature, in the target's units; a classification baseline
    a categorical one, holding a class (declare a numeric column of classes categorical in
    steps.yaml). Raises ConfigError in one line naming the baseline, the closest column and the
    choices.
    """
    from snakeml.models.task_kinds import task_kind

    where = f"the feature table of sql/{declaration.sql_dir.name}/ ({DECLARATION})"
    kind = task_kind(task["kind"])
    wanted = kind.baseline_feature
    kinds = {f.name: f.kind for f in declaration.features}
    fitting = [name for name, kind in kinds.items() if kind == wanted]
    names = [baseline["name"] for baseline in task["baselines"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"task.baselines: names must differ, got {names}")
    for baseline in task["baselines"]:
        name, column = baseline["name"], baseline["column"]
        key = f"task.baselines.{name}"
        if not _NAME.match(name):
            raise ConfigError(f"task.baselines: name {name!r} must be a plain word")
        if name.startswith(BUILT_IN_BASELINES):
            raise ConfigError(
                f"{key}: the name would clash with a built-in baseline "
                f"({', '.join(BUILT_IN_BASELINES)}): choose another"
            )
        if column in declaration.final_columns and column not in kinds:
            raise ConfigError(
                f"{key}.column: {column!r} is not a feature of {where}, so it may not be known "
                f"when the prediction is made; choose from {fitting}"
            )
        if column not in kinds:
            raise _not_a_column(f"{key}.column", column, fitting, where)
        if kinds[column] != wanted:
            what = kind.baseline_prediction
            raise ConfigError(
                f"{key}.column: {column!r} is a {kinds[column]} feature, but a {kind.name} "
                f"baseline predicts {what}; choose a {wanted} feature from {fitting}"
            )
