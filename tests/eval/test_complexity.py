"""Input complexity (Serra et al. 2020): PNG lengths of integer images, and the levels
gen.study.ood recovers from preprocessed batches before compressing them."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from gen.eval import complexity
from gen.study import ood


def test_png_bits_are_whole_bytes_and_order_images_by_complexity():
  rng = np.random.default_rng(0)
  flat = np.zeros((1, 28, 28, 1), np.int64)
  stripes = np.tile(np.arange(28) % 2, (28, 1))[None, ..., None]
  noise = rng.integers(0, 2, (1, 28, 28, 1))
  bits = complexity.png_bits(np.concatenate([flat, stripes, noise]), 2)
  assert np.all(bits % 8 == 0) and bits[0] < bits[1] < bits[2]
  # 8-bit noise takes more than 1-bit noise, and more than 8 bits per pixel of
  # header-free payload cannot be needed by much: zlib stores incompressible data raw.
  gray = rng.integers(0, 256, (1, 28, 28, 1))
  gray_bits = complexity.png_bits(gray, 256)[0]
  assert bits[2] < gray_bits < 8 * (28 * 28 + 28 + 200)  # pixels + filter bytes + headers


def test_png_bits_match_the_png_files_pil_writes_and_decode_losslessly():
  rng = np.random.default_rng(1)
  rgb = rng.integers(0, 256, (2, 5, 7, 3))
  for image, bits in zip(rgb, complexity.png_bits(rgb, 256)):
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint8), mode='RGB').save(
        buffer, format='PNG', optimize=True, compress_level=9
    )
    assert bits == 8 * buffer.tell()
    np.testing.assert_array_equal(np.asarray(Image.open(buffer)), image)


@pytest.mark.parametrize(
    'images, levels, message',
    [
        (np.zeros((2, 4, 4)), 2, 'shape'),
        (np.zeros((2, 4, 4, 2)), 2, 'shape'),
        (np.full((1, 4, 4, 1), 2), 2, 'levels must lie in [0, 2)'),
        (np.full((1, 4, 4, 1), -1), 256, 'levels must lie'),
    ],
)
def test_png_bits_refuse_what_a_png_cannot_hold(images, levels, message):
  with pytest.raises(ValueError, match=re.escape(message)):
    complexity.png_bits(images, levels)


@pytest.mark.parametrize('scale', ['unit', 'symmetric', 'none'])
@pytest.mark.parametrize('levels', [2, 256])
def test_image_levels_invert_each_data_scale(scale, levels):
  v = np.random.default_rng(2).integers(0, levels, (3, 4, 4, 1))
  x = v.astype(np.float32)
  if scale != 'none':
    x = x / (levels - 1)
  if scale == 'symmetric':
    x = 2.0 * x - 1.0
  np.testing.assert_array_equal(ood.image_levels(x, scale, levels), v)


def test_complexities_follow_the_scored_examples_and_stop_at_num():
  rng = np.random.default_rng(3)
  v = rng.integers(0, 2, (10, 6, 6, 1))
  batches = [({'x': v[:4].astype(np.float32)}, 4), ({'x': v[4:].astype(np.float32)}, 3)]
  expected = complexity.png_bits(v[:7], 2)
  np.testing.assert_array_equal(ood.complexities(batches, None, 'unit', 2), expected)
  np.testing.assert_array_equal(ood.complexities(batches, 5, 'unit', 2), expected[:5])
