"""Input complexity: the length in bits of an image under a lossless general-purpose
compressor (PNG), for the likelihood-ratio OOD score of Serra et al. 2020 ("Input
complexity and out-of-distribution detection with likelihood-based generative models",
ICLR).

Their score is S(x) = -l_M(x) - L(x), with l_M(x) = log2 p_M(x) the model's
log-likelihood in bits and L(x) the compressed length: a likelihood-ratio test of the
model against the compressor as a universal model p_0(x) = 2^-L(x) ("akin to Bayesian
model comparison", their abstract); large S = out of distribution. gen's OOD scores are
higher = more in-distribution, so gen.study.ood uses -S in nats:
log p_M(x) + L(x) ln 2 = log p_M(x) - log p_0(x). The exact sign convention is from
memory of the paper (the ratio is not).

PNG (zlib, level 9) is one of the paper's compressors (with JPEG2000 and FLIF, their best);
its fixed header is the same for every image of one shape, a constant shift that leaves
AUROC unchanged. Binary images are written as 1-bit PNGs, the rest as 8-bit grayscale or
RGB of their integer levels.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png_bits(levels: np.ndarray, num_levels: int) -> np.ndarray:
  """(N,) compressed lengths in bits of (N, H, W, C) integer images with values in
  [0, num_levels), C = 1 or 3."""
  levels = np.asarray(levels)
  if levels.ndim != 4 or levels.shape[-1] not in (1, 3):
    raise ValueError(f'images must be (N, H, W, 1 or 3); got shape {levels.shape}')
  if levels.size and (levels.min() < 0 or levels.max() >= num_levels or num_levels > 256):
    raise ValueError(
        f'levels must lie in [0, {num_levels}) with at most 256 levels; got '
        f'[{levels.min()}, {levels.max()}]'
    )
  out = np.empty(len(levels), np.float64)
  for i, image in enumerate(levels.astype(np.uint8)):
    if num_levels == 2:
      pil = Image.fromarray(image[..., 0].astype(bool))  # mode '1': one bit per pixel
    elif image.shape[-1] == 1:
      pil = Image.fromarray(image[..., 0], mode='L')
    else:
      pil = Image.fromarray(image, mode='RGB')
    buffer = io.BytesIO()
    pil.save(buffer, format='PNG', optimize=True, compress_level=9)
    out[i] = 8.0 * buffer.tell()
  return out
