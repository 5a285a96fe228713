"""The Hydra configuration composed, checked against what the layers below offer, cut into per-rule
slices and cached."""
