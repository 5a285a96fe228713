"""snakeml: a reproducible tabular machine-learning pipeline.

Its subpackages follow the data flow, each importing only those listed before it (and itself):

- ``core``: errors, atomic file output, logging, metadata, memory estimates, the typed schema;
- ``models``: task kinds and the scikit-learn estimators;
- ``data``: data set declarations, contracts, ingest, the feature build, the look-ahead audit;
- ``validation``: split strategies for the parts and the tuning folds;
- ``training``: tuning with Optuna and the final fit;
- ``evaluation``: metrics, importance, verdicts, the leaderboard, experiments compared;
- ``prediction``: batch prediction of new rows and their drift;
- ``configuration``: the Hydra configuration composed, checked, sliced and cached;
- ``experiments``: sweeps, experiments and where each job reads and writes;
- ``operations``: checks before the first job, the rule entry point, locks, report, manifest, DVC.
"""

__version__ = "0.1.0"
