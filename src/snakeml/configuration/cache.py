"""The workflow's configurations as they were last composed, kept under ``.snakemake/``.

Every time Snakemake reads the workflow (a run, a dry run, a run with nothing to do, a cluster
job's own Snakemake) rules/common.smk composes conf/ with Hydra, validates it, reads the data
set's steps.yaml and cuts the rule slices: about a second, most of a run with nothing to do.
What that produces depends only on what the key below is made of:

- every file under conf/ and sql/ (their paths and bytes);
- the overrides and the sweep given with ``--config`` (an overrides file by its lines);
- snakeml's own code (every ``.py`` file of this package);
- the Python version and the installed distributions (their ``*.dist-info`` names, which carry
  their versions: Hydra's, OmegaConf's, PyYAML's, the estimators' packages).

So each result is kept in its own file named by a SHA-256 of all of these, the last
``MAX_ENTRIES`` used: switching between experiments, tasks or data sets and back composes each
once, and a copy or clone of the project (its ``.snakemake/`` with it) reads what the original
composed. Any change to any of the above is a miss, and the workflow composes again and stores
the new result. A file that cannot be read or parsed, or that holds another key, is a miss too;
writing is atomic and a write that fails (a read-only project) is skipped. A configuration that
reads the environment (``${oc.env:...}`` in conf/) or whose result names the project's folder is
never cached. The checks that look beyond conf/ and sql/ (the tables' files exist, each model's
package is installed) run on every read: snakeml.configuration.validate.check_installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Where the cache lives, under the project (Snakemake's own folder: never shared, never results):
# one <key>.json file per configuration, the MAX_ENTRIES most recently used kept.
CACHE_DIR = Path(".snakemake") / "snakeml" / "configurations"
MAX_ENTRIES = 32
# The keys (check_key) of the models' settings that passed scikit-learn's constraints, one empty
# file each: a run whose models passed before skips importing scikit-learn (about a second).
CHECKED_DIR = Path(".snakemake") / "snakeml" / "checked-models"
# Bumped when what the cache holds changes shape.
FORMAT = 3
# snakeml's own code, every subpackage.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# A resolver whose value comes from outside conf/: a configuration using it is not cached.
ENVIRONMENT_RESOLVER = b"${oc.env:"
# An installed distribution's metadata folder: <name>-<version>.dist-info (or .egg-info).
METADATA_SUFFIXES = (".dist-info", ".egg-info")


def _files(folder: Path, suffix: str = "") -> list[Path]:
    """Every file below ``folder`` (ending in ``suffix``), in a stable order; caches aside."""
    found = []
    for directory, subdirectories, names in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        found.extend(Path(directory) / name for name in sorted(names) if name.endswith(suffix))
    return found


def _distributions() -> list[str]:
    """The names of the installed distributions' metadata folders on sys.path (name-version)."""
    names: set[str] = set()
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as entries:
                names.update(e.name for e in entries if e.name.endswith(METADATA_SUFFIXES))
        except OSError:  # a zip file, a folder that is gone
            continue
    return sorted(names)


def _digest(header: Any, folders: list[tuple[Path, str]], root: Path | None) -> str | None:
    """A SHA-256 of ``header`` (JSON data), the files of ``folders`` (each with its name
    suffix) and the installed distributions; None when a file cannot be read or, below
    ``root``/conf, reads the environment."""
    digest = hashlib.sha256()

    def add(text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)

    add(json.dumps(header, sort_keys=True, default=repr))
    for folder, suffix in folders:
        for path in _files(folder, suffix):
            try:
                content = path.read_bytes()
            except OSError:  # unreadable: composing says so, in its own words
                return None
            if root is not None and folder == root / "conf" and ENVIRONMENT_RESOLVER in content:
                return None
            add(str(path.relative_to(folder.parent)))
            add(content)
    add("\n".join(_distributions()))
    return digest.hexdigest()


def cache_key(root: str | Path, inputs: Any) -> str | None:
    """The key of the configuration composed in project ``root`` from ``inputs`` (JSON data:
    the overrides and the sweep); None when the configuration must not be cached. The key does
    not hold the project's folder: the same files give the same key wherever they are."""
    root = Path(root).resolve()
    header = [FORMAT, sys.version, inputs]
    folders = [(root / "conf", ""), (root / "sql", ""), (PACKAGE_DIR, ".py")]
    return _digest(header, folders, root)


def check_key(inputs: Any) -> str | None:
    """The key of a check of ``inputs`` (JSON data) whose verdict depends only on them, on
    snakeml's code and on the installed distributions (scikit-learn's estimators and their
    constraints): the models' settings, checked against scikit-learn. None: unreadable code."""
    return _digest([FORMAT, sys.version, inputs], [(PACKAGE_DIR, ".py")], None)


def _entry(folder: str | Path, key: str) -> Path:
    return Path(folder) / f"{key}.json"


def read_cache(folder: str | Path, key: str) -> dict[str, Any] | None:
    """The value stored under ``key`` in the cache ``folder``, or None (no entry, another key
    in it, damage). A hit marks the entry as the most recently used."""
    path = _entry(folder, key)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    value = stored.get("value")
    if not isinstance(value, dict):
        return None
    _mark_used(path)
    return value


def _mark_used(path: Path) -> None:
    """Set the entry's time to now, from the fine clock: the file system's own stamps of two
    uses a few milliseconds apart can be equal."""
    now = time.time_ns()
    with contextlib.suppress(OSError):  # a read-only project: the order is only a hint
        os.utime(path, ns=(now, now))


def write_cache(
    folder: str | Path, key: str, value: dict[str, Any], unless: str | None = None
) -> bool:
    """Store ``value`` under ``key`` in the cache ``folder``; whether it was stored.

    Only a value that JSON gives back equal is stored (no tuples, no keys other than strings):
    what a later read returns is then exactly what was composed. A value whose text holds
    ``unless`` (the project's folder, which the key leaves out) is not stored. The folder then
    keeps its ``MAX_ENTRIES`` most recently used entries; the older ones are removed.
    """
    from snakeml.core.io import write_text_atomic

    try:
        text = json.dumps({"key": key, "value": value}, allow_nan=False)
    except (TypeError, ValueError):
        return False
    if (unless is not None and unless in text) or json.loads(text)["value"] != value:
        return False
    try:
        write_text_atomic(_entry(folder, key), text)
    except OSError:
        return False
    _mark_used(_entry(folder, key))
    _prune(Path(folder))
    return True


def _prune(folder: Path) -> None:
    """Remove all but the MAX_ENTRIES most recently used entries of ``folder``."""
    entries = []
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):  # removed meanwhile by another run's pruning
            entries.append((path.stat().st_mtime_ns, path.name, path))
    for *_, path in sorted(entries, reverse=True)[MAX_ENTRIES:]:
        path.unlink(missing_ok=True)
