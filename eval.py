r"""Evaluates a checkpoint with the model's own numbers; writes eval/step_<N>.json.

python eval.py --workdir=runs/gan_ring8            # the latest checkpoint
python eval.py --workdir=runs/vae_mnist --step=5000
"""

import json
import sys

from absl import app, flags

from gen import cli
from gen.eval import run as eval_run

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory written by train.py.')
_STEP = flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
flags.mark_flags_as_required(['workdir'])


def main(argv):
  del argv
  cli.quiet_library_logs()
  try:
    result = eval_run.run(_WORKDIR.value, _STEP.value)
  except cli.USER_ERRORS as e:
    sys.exit(f'error: {e}')
  path = f'{_WORKDIR.value}/eval/step_{result["step"]}.json'
  print(json.dumps(result['metrics'], indent=2))
  print(f'Wrote {path}; sample grids are in {_WORKDIR.value}/samples/.')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
