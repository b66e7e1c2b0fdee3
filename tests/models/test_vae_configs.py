"""Every VAE-family config: `smoke` trains and evaluates through the command line, with the
family's bounds and figures, and resumes bitwise (the plain VAE's resume is in
tests/train/test_resume.py; each variant here has its own networks, prior, data or, for the
S-VAE, a rejection sampler that draws a data-dependent number of random numbers)."""

import json
import math

import pytest

import runs
from conftest import ROOT, run_cli
from gen import config as config_lib

CONFIGS = ['vae', 'hvae', 'cvae', 'svae', 'vampprior', 'beta_vae']


@pytest.mark.parametrize('name', CONFIGS)
def test_smoke_trains_resumes_and_evaluates_with_bounds_and_figures(tmp_path, name):
  work = tmp_path / name
  runs.train(work, f'configs/{name}.py:smoke')
  if name != 'vae':
    split = tmp_path / 'split'
    runs.train(split, f'configs/{name}.py:smoke', 'train.num_steps=10')
    runs.train(split, f'configs/{name}.py:smoke')
    runs.assert_identical(runs.state_leaves(work), runs.state_leaves(split))
  logged = runs.losses(work)
  assert all(math.isfinite(v) for m in logged.values() for v in m.values())
  run_cli('eval.py', f'--workdir={work}', '--features=none')
  result = json.loads((work / 'eval' / 'step_20.json').read_text())
  m = result['metrics']
  ks = config_lib.load(f'{ROOT}/configs/{name}.py:smoke').eval.iwae_k
  bounds = [m[f'iwae_{k}'] for k in ks]
  assert m['iwae_1'] == m['elbo_mc'] and bounds == sorted(bounds) and m['nll'] == -bounds[-1]
  figures = result['provenance']['figures']
  assert {'reconstructions', 'interpolations'} <= set(figures)
  for path in figures.values():
    assert (work / path).stat().st_size > 0
  # dSprites is binary as rendered; the digits are binarized afresh in every batch.
  expected = 'none' if name == 'beta_vae' else 'dynamic'
  assert result['provenance']['binarization'].startswith(expected)
  if name == 'cvae':
    assert 'samples_by_class' in figures
  if name == 'beta_vae':
    assert 0.0 <= m['beta_vae_score'] <= 1.0


def test_every_preset_loads():
  for name in CONFIGS:
    module = config_lib.sibling(f'{ROOT}/configs/{name}.py', name)
    for preset in module.PRESETS:
      c = config_lib.load(f'{ROOT}/configs/{name}.py:{preset}')
      assert c.model.name == 'vae' and c.eval.iwae_k
