"""The foundations every layer shares: errors, atomic file output, logging, table metadata, memory
estimates, the output registry, figures and the typed configuration schema. Imports nothing else of
snakeml."""
