"""Task kinds (regression, binary, multiclass) and the scikit-learn estimators built from
configuration. Imports only snakeml.core."""
