"""A run directory holds what the README promises."""

import json
import subprocess
import sys

from PIL import Image

from conftest import ROOT, run_cli
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


def test_tensorboard_events_are_written_without_importing_torch(tmp_path):
  """tensorboardX's writer imports torch where it is installed (about 2 s at every start);
  gen.train.writers keeps it out, and a later `import torch` still works."""
  script = (
      'import importlib.util, sys\n'
      'from gen.train import writers\n'
      f'w = writers.MetricWriter({str(tmp_path)!r}); w.write(1, {{"a": 1.0}}); w.close()\n'
      'assert "torch" not in sys.modules, "torch was imported"\n'
      'if importlib.util.find_spec("torch") is not None:\n'
      '  import torch\n'
      '  assert torch.zeros(1).item() == 0.0\n'
  )
  subprocess.run([sys.executable, '-c', script], cwd=ROOT, check=True, capture_output=True)
  assert list((tmp_path / 'tensorboard').glob('events.out.tfevents.*'))
