r"""python -m gen.study.lucic COMMAND --flags: the Lucic et al. 2018 study.

  python -m gen.study.lucic plan --study=cpu --out=runs/lucic_cpu

Commands:
  plan    writes OUT/trials.jsonl (phases 1 and 2, one trial a line) and OUT/plan.json
          (study, trials sha256, code version); re-running it on the same OUT is a
          no-op, and an OUT holding another plan is refused.
  run, report
          not implemented yet.
Studies (gen/study/lucic/studies.py): full (the paper's), cpu (MNIST on 2 cores,
provisional sizes), smoke (seconds).
"""

from __future__ import annotations

import sys

from absl import app
from absl import flags

from gen import config as config_lib
from gen.study.lucic import plan as plan_lib
from gen.study.lucic import studies

COMMANDS = ('plan', 'report', 'run')
_NOT_YET = ('report', 'run')

_STUDY = flags.DEFINE_string('study', None, f'Study: {", ".join(sorted(studies.STUDIES))}.')
_OUT = flags.DEFINE_string('out', None, 'Study directory (trials.jsonl, plan.json).')


def _parse_flags(argv: list[str]) -> list[str]:
  """absl flags, with a bad flag as one `error:` line (the project's convention)."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f'error: {e}\nRun with --helpshort for the flags.')


def _plan() -> None:
  if not _STUDY.value or not _OUT.value:
    sys.exit(
        'error: plan needs --study=STUDY and --out=DIR; valid studies: '
        f'{", ".join(sorted(studies.STUDIES))}'
    )
  try:
    result = plan_lib.write_plan(studies.get(_STUDY.value), _OUT.value)
  except config_lib.ConfigError as e:
    sys.exit(f'error: {e}')
  out = _OUT.value
  if result['written']:
    print(
        f'Wrote {result["num_trials"]} trials (phases 1 and 2) of study {result["study"]} to '
        f'{out}/{plan_lib.TRIALS_FILE} (sha256 {result["trials_sha256"][:12]}) and {out}/{plan_lib.PLAN_FILE}.'
    )
  else:
    print(
        f'{out} already holds this plan ({result["num_trials"]} trials, sha256 '
        f'{result["trials_sha256"][:12]}); nothing written.'
    )


def main(argv):
  valid = ', '.join(COMMANDS)
  if len(argv) < 2:
    sys.exit(f'error: no command given; valid commands: {valid}')
  command, rest = argv[1], argv[2:]
  if command not in COMMANDS:
    sys.exit(f'error: unknown command {command!r}; valid commands: {valid}')
  if rest:
    sys.exit(f'error: unexpected arguments {rest}; after the command every input is a --flag.')
  if command in _NOT_YET:
    sys.exit(f'error: command {command!r} is not implemented yet; only plan is.')
  _plan()


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
