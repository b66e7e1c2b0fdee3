"""Sample pictures: grids and scatter plots are written as PNGs of the right size, 2D plots
titled with what a reader needs."""

import numpy as np
from PIL import Image

from conftest import ROOT
from gen import config as config_lib
from gen.data import sources, toy2d
from gen.train import loop
from gen.viz import images, points


def test_grid_layout_and_values():
  x = np.zeros((5, 2, 3, 1), np.uint8)
  x[1] = 255
  g = images.grid(x, cols=3, pad=1)
  assert g.shape == (2 * 3 + 1, 3 * 4 + 1, 1)
  assert (g[1:3, 5:8] == 255).all() and (g[1:3, 1:4] == 0).all()


def test_to_uint8_scales():
  np.testing.assert_array_equal(
      images.to_uint8(np.array([-1.0, 0.0, 1.0]), 'symmetric'), [0, 128, 255]
  )
  np.testing.assert_array_equal(images.to_uint8(np.array([0.0, 0.5, 2.0]), 'unit'), [0, 128, 255])


def test_save_grid_and_scatter(tmp_path):
  images.save_grid(np.random.default_rng(0).random((16, 8, 8, 1)), tmp_path / 'g.png', 'unit')
  assert Image.open(tmp_path / 'g.png').width >= 256  # small images are enlarged
  points.save_scatter(np.zeros((10, 2)), tmp_path / 's.png', centres=np.ones((3, 2)))
  assert Image.open(tmp_path / 's.png').size == (400, 400)


def test_a_2d_sample_plot_is_titled_with_model_game_data_step_and_coverage(tmp_path, monkeypatch):
  config = config_lib.load(f'{ROOT}/configs/wgan.py:smoke')
  m = toy2d.MIXTURES['ring8']
  x = np.repeat(m.centres[:6], 40, axis=0)  # 6 of 8 modes, every point on a centre
  x = np.concatenate([x, np.full((60, 2), 10.0)])  # and 60 far away: hq 240 / 300
  drawn = {}
  monkeypatch.setattr(points, 'save_scatter', lambda x, path, centres, title: drawn.update(t=title))
  loop.save_samples(x, sources.local_info('ring8'), config, str(tmp_path / 's.png'), 25_000)
  assert drawn['t'] == (
      'gan (wasserstein) on ring8, step 25000\n6/8 modes covered, hq 0.80 of 300 samples'
  )
  assert loop.samples_title(config, 7) == 'gan (wasserstein) on ring8, step 7'


def test_receptive_field_marks_the_blind_spot_and_writes_a_png(tmp_path):
  import jax

  from gen.models.autoregressive import pixelcnn
  from gen.viz import receptive_field

  net = pixelcnn.PixelCNNNet(8, 2, 8, 1)
  x = jax.random.normal(jax.random.PRNGKey(0), (1, 12, 12, 1))
  params = net.init(jax.random.PRNGKey(1), x)
  grad = receptive_field.gradient_map(lambda x: net.apply(params, x), x, (8, 6))
  cat = receptive_field.categories(grad, (8, 6))
  assert np.all(grad[cat == 0] == 0.0)  # nothing from the future or the pixel itself
  assert cat[7, 11] == 2 and cat[8, 5] == 1  # upper right ignored, the left neighbour read
  assert cat[0, 0] == 3  # beyond the reach of 7x7 + 2 x 3x3
  receptive_field.save([grad, grad], ['a', 'b'], (8, 6), str(tmp_path / 'rf.png'))
  assert Image.open(tmp_path / 'rf.png').size[0] > 300
