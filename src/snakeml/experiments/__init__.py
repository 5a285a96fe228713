"""Sweeps and experiments run side by side, and where each job of a run reads and writes."""
