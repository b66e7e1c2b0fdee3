r"""Trains a model from a config; re-running the same command resumes.

  python train.py --config=configs/gan.py:ring8 --workdir=runs/gan_ring8
  python train.py --config=configs/vae.py:mnist --workdir=runs/vae --config.optim.lr=3e-4

Several hosts: run the same command on each with --coordinator_address=HOST:PORT
--num_processes=N --process_id=I (or --distributed_auto on TPU pods / SLURM).
"""

import sys

from absl import app, flags

from gen import cli
from gen.train import loop

_CONFIG = flags.DEFINE_string(
    'config', None, 'Config file and preset: configs/<model>.py[:preset].'
)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory (checkpoints, logs, samples).')
_STEP = flags.DEFINE_integer(
    'step',
    None,
    'Resume from this checkpoint step instead of the '
    'latest; later checkpoints are moved to checkpoints_set_aside/.',
)
_COORD = flags.DEFINE_string('coordinator_address', None, 'Multi-host: HOST:PORT of process 0.')
_NPROC = flags.DEFINE_integer('num_processes', None, 'Multi-host: number of processes.')
_PID = flags.DEFINE_integer('process_id', None, 'Multi-host: this process index.')
_AUTO = flags.DEFINE_bool('distributed_auto', False, 'Multi-host: let JAX detect the cluster.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  del argv
  cli.quiet_library_logs()
  cli.setup_compilation_cache()
  try:
    config = cli.load_config(_CONFIG.value)
    cli.init_distributed(_COORD.value, _NPROC.value, _PID.value, _AUTO.value)
    loop.train(config, _WORKDIR.value, restore_step=_STEP.value)
  except cli.USER_ERRORS as e:
    sys.exit(f'error: {e}')


if __name__ == '__main__':
  app.run(main, flags_parser=cli.parse_flags_with_overrides)
