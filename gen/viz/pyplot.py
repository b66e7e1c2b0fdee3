"""matplotlib's pyplot on the Agg backend, imported on first use.

Importing it costs about 0.25 s, a tenth of a command-line run's start-up, and most runs
(image models training, evaluations without figures) never draw a plot.
"""

from __future__ import annotations

import functools


@functools.cache
def pyplot():
  """The `matplotlib.pyplot` module, with the non-interactive Agg backend selected."""
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  return plt
