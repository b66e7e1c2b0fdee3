"""A run directory holds what the README promises."""

import json

from PIL import Image

from conftest import run_cli
import runs


def test_run_directory_layout(tmp_path):
  work = tmp_path / 'run'
  proc = runs.train(work, 'configs/vae.py:smoke')
  assert 'steps/s' in proc.stderr and 'ETA' in proc.stderr  # progress is shown
  config = json.loads((work / 'config.json').read_text())
  assert config['model']['name'] == 'vae' and config['train']['num_steps'] == 20
  assert runs.steps(work) == [10, 20]
  logged = runs.metrics(work)
  assert [m['step'] for m in logged] == [5, 10, 15, 20]
  for key in (
      'time',
      'vae/loss',
      'vae/elbo',
      'vae/kl',
      'vae/grad_norm',
      'steps_per_sec',
      'nonfinite/skipped',
  ):
    assert key in logged[-1]
  assert list((work / 'tensorboard').glob('events.out.tfevents.*'))
  for step in (10, 20):
    assert Image.open(work / 'samples' / f'step_{step}.png').width > 0

  proc = run_cli('eval.py', f'--workdir={work}')
  result = json.loads((work / 'eval' / 'step_20.json').read_text())
  assert result['step'] == 20 and result['metrics']['num_examples'] == 300
  assert result['metrics']['elbo'] < 0 and 'bits_per_dim' in result['metrics']
  assert result['provenance']['dataset'] == 'digits' and result['provenance']['split'] == 'test'
  assert '"elbo"' in proc.stdout
