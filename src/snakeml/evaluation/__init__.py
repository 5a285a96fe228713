"""Test-set metrics, permutation importance, verdicts with intervals, the leaderboard, and
experiments compared and tracked."""
