"""Batch prediction of new rows with the champion, and the drift of those rows."""
