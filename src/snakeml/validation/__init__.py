"""The validation scheme: split strategies for the train / valid / test parts and the tuning
folds."""
