"""python -m gen.complete: the masks and the panel by hand, the command end to end on a
4-step PixelCNN, and its one-line refusals (the models' `complete`: tests/models/
test_autoregressive_completion.py)."""

import numpy as np
import pytest
from conftest import ROOT, one_error_line, run_module
from PIL import Image

from gen import cli
from gen import complete
from gen import config as config_lib
from gen.train import checkpoint as ckpt_lib

# The worker of the OOD tests runs this module: they share one trained run (conftest).
pytestmark = pytest.mark.xdist_group('ood')

# ------------------------------------------------------------------------------ masks


def test_masks_by_hand():
  o, x = True, False
  assert complete.observed_mask('bottom_half', 4, 3).tolist() == [[o] * 3] * 2 + [[x] * 3] * 2
  assert complete.observed_mask('bottom_half', 5, 2).tolist() == [[o] * 2] * 2 + [[x] * 2] * 3
  assert complete.observed_mask('right_half', 2, 5).tolist() == [[o, o, x, x, x]] * 2
  assert complete.observed_mask('box', 4, 4).tolist() == [
      [o, o, o, o],
      [o, x, x, o],
      [o, x, x, o],
      [o, o, o, o],
  ]
  # 5 x 6: a 2 x 2 box (half the shorter side) at rows 1-2, columns 2-3.
  assert complete.observed_mask('box', 5, 6).tolist() == [
      [o, o, o, o, o, o],
      [o, o, x, x, o, o],
      [o, o, x, x, o, o],
      [o, o, o, o, o, o],
      [o, o, o, o, o, o],
  ]
  # MNIST: the centred 14 x 14 box, 196 of 784 pixels hidden.
  box = complete.observed_mask('box', 28, 28)
  assert (~box).sum() == 196 and not box[7:21, 7:21].any() and box[6].all() and box[21].all()
  with pytest.raises(complete.CompletionError, match='--mask=top: unknown mask; valid: '):
    complete.observed_mask('top', 4, 4)


def test_panel_rows_are_occluded_completions_original():
  x = np.zeros((2, 2, 2, 1), np.float32)
  x[1] = 1.0
  y = np.full((2, 3, 2, 2, 1), 0.5, np.float32)
  observed = np.array([[True, False], [True, True]])
  g = complete.panel(x, y, observed, 'unit')
  assert g.shape == (2 * 3 + 1, 5 * 3 + 1, 3)
  tile = lambda r, c: g[1 + 3 * r : 3 + 3 * r, 1 + 3 * c : 3 + 3 * c]
  for r, v in ((0, 0), (1, 255)):
    occ = tile(r, 0)
    assert occ[0, 1].tolist() == list(complete.MASK_COLOUR)
    assert (occ[observed] == v).all()
    assert (tile(r, 4) == v).all()
    assert all((tile(r, c) == 128).all() for c in (1, 2, 3))


# ------------------------------------------------------------------- the command line


def test_cli_writes_the_completion_grid(pixelcnn_fashion_run, tmp_path):
  """On the 4-step PixelCNN of Fashion-MNIST that the OOD tests share (conftest)."""
  out = tmp_path / 'fig' / 'box.png'
  proc = run_module(
      'gen.complete', f'--workdir={pixelcnn_fashion_run}', '--mask=box', '--num=2',
      '--samples=2', f'--out={out}',
  )  # fmt: skip
  assert proc.stdout.strip() == (
      f'Wrote {out}: 2 test images x 2 completions (step 4), 196 of 784 pixels hidden, the '
      'first at raster index 203.'
  )
  img = np.asarray(Image.open(out))
  # 2 rows of 4 tiles (occluded, 2 completions, original), 28x28 with a 1-pixel border,
  # enlarged to about 512 px wide.
  width, height = 4 * 29 + 1, 2 * 29 + 1
  up = round(512 / width)
  assert up == 4 and img.shape == (height * up, width * up, 3)
  # The occluded input of row 0 has the 14 x 14 box at rows and columns 7-20 in the mask
  # colour; the original (last tile) has none of it.
  tile = lambda c: img[up : 29 * up, (1 + 29 * c) * up : (29 + 29 * c) * up]
  box = np.zeros((28 * up, 28 * up), bool)
  box[7 * up : 21 * up, 7 * up : 21 * up] = True
  assert (tile(0)[box] == complete.MASK_COLOUR).all()
  assert not (tile(0)[~box] == complete.MASK_COLOUR).all(axis=-1).any()
  assert not (tile(3) == complete.MASK_COLOUR).all(axis=-1).any()
  np.testing.assert_array_equal(tile(0)[~box], tile(3)[~box])


def _workdir(tmp_path, spec):
  """A run directory with a config.json alone (refusals come before any restore)."""
  work = tmp_path / spec.split('/')[-1].split('.')[0]
  work.mkdir()
  (work / 'config.json').write_text(config_lib.to_json(config_lib.load(f'{ROOT}/{spec}')))
  return work


def test_cli_refuses_a_gan_in_one_error_line(tmp_path):
  work = _workdir(tmp_path, 'configs/gan.py:digits')
  proc = run_module('gen.complete', f'--workdir={work}', '--mask=box', check=False)
  assert one_error_line(proc) == (
      f"error: model 'gan' of {work} cannot complete images (no complete in its Model: only "
      'the autoregressive models draw pixel by pixel); train one, e.g. configs/pixelcnn.py.'
  )
  assert not (work / 'completion_box.png').exists()


def test_an_untrained_run_is_refused(tmp_path):
  """A user error of cli.USER_ERRORS: main prints it as one `error:` line, as the GAN's."""
  work = _workdir(tmp_path, 'configs/pixelcnn.py:smoke')
  with pytest.raises(ckpt_lib.CheckpointError) as e:
    complete.run(str(work), 'box')
  assert str(e.value) == f'No checkpoint in {work}/checkpoints; train first.'
  assert isinstance(e.value, cli.USER_ERRORS)
  assert not (work / 'completion_box.png').exists()


@pytest.mark.parametrize(
    'flags, want',
    [
        ({'mask': 'top'}, '--mask=top: unknown mask; valid: bottom_half, right_half, box.'),
        ({'num': 0}, '--num=0: must be >= 1.'),
        ({'samples': -1}, '--samples=-1: must be >= 1.'),
    ],
)
def test_bad_flags_are_refused_before_the_run_is_read(tmp_path, flags, want):
  """main prints these as one `error:` line, as the GAN's refusal."""
  args = {'mask': 'box', **flags}
  with pytest.raises(complete.CompletionError) as e:
    complete.run(str(tmp_path / 'missing'), args.pop('mask'), **args)
  assert str(e.value) == want
