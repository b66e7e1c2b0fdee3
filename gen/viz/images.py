"""Image grids."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def to_uint8(x: np.ndarray, scale: str) -> np.ndarray:
  """Maps model-space images ('symmetric' [-1, 1] or 'unit' [0, 1]) to uint8."""
  x = np.asarray(x, np.float32)
  if scale == 'symmetric':
    x = (x + 1.0) / 2.0
  return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
  """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) image."""
  n, h, w, c = images.shape
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
  for i, img in enumerate(images):
    r, k = divmod(i, cols)
    out[
        pad + r * (h + pad) : pad + r * (h + pad) + h, pad + k * (w + pad) : pad + k * (w + pad) + w
    ] = img
  return out


def upscale_factor(width: int) -> int:
  """The nearest-neighbour enlargement that takes a `width`-pixel image to about 512 px."""
  return max(1, round(512 / width))


def write_png(g: np.ndarray, path: str, upscale: int | None = None) -> None:
  """Writes a uint8 (H, W, C) image, enlarged (nearest) `upscale` times, by default to about
  512 px wide."""
  img = Image.fromarray(g[..., 0] if g.shape[-1] == 1 else g)
  upscale = upscale or upscale_factor(img.width)
  if upscale > 1:
    img = img.resize((img.width * upscale, img.height * upscale), Image.NEAREST)
  img.save(path)


def save_grid(images: np.ndarray, path: str, scale: str, upscale: int | None = None) -> None:
  """Writes a PNG grid; small images are enlarged (nearest) to about 512 px wide."""
  write_png(grid(to_uint8(images, scale)), path, upscale)
