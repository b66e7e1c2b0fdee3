"""Studies across many runs: the mode-collapse benchmark, the Lucic et al. protocol."""
