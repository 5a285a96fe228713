"""Tuning with Optuna (and where its trials are stored) and the final fit of each model."""
