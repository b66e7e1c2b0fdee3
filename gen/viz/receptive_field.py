"""The receptive field of one output pixel of an autoregressive network: which input
pixels its outputs depend on (the gradient magnitude), and which earlier pixels they
miss — PixelCNN's blind spot (van den Oord et al. 2016b, Fig. 1)."""

from __future__ import annotations

import jax
import numpy as np

from gen.viz import pyplot


def gradient_map(out_fn, x, pixel: tuple[int, int]) -> np.ndarray:
  """sum |d out[0, r, c, :] / d x[0, i, j, :]| over output and input channels: (H, W).

  out_fn maps (1, H, W, C) inputs to (1, H, W, K) outputs; x is the point (1, H, W, C).
  """
  r, c = pixel
  jac = jax.jacrev(lambda x: out_fn(x)[0, r, c, :])(x)  # (K, 1, H, W, C)
  return np.abs(np.asarray(jac)).sum(axis=(0, 1, 4))


def categories(grad: np.ndarray, pixel: tuple[int, int]) -> np.ndarray:
  """(H, W) codes: 0 the future and the pixel itself; 1 an earlier pixel the output
  depends on; 2 an earlier pixel it ignores although it lies within the bounding box of
  the pixels it reads (a blind spot); 3 an earlier pixel beyond the receptive field."""
  h, w = grad.shape
  order = np.arange(h * w).reshape(h, w)
  earlier = order < pixel[0] * w + pixel[1]
  read = earlier & (grad > 0)
  rows, cols = np.nonzero(read)
  box = np.zeros_like(read)
  if rows.size:
    box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
  return np.where(earlier, np.where(read, 1, np.where(box, 2, 3)), 0)


def save(maps: list[np.ndarray], titles: list[str], pixel: tuple[int, int], path: str) -> None:
  """One panel per network: log gradient magnitude over the earlier pixels it reads (grey),
  its blind spot (red), earlier pixels beyond its reach (pale yellow), the future (white),
  the output pixel (blue)."""
  plt = pyplot.pyplot()

  fig, axes = plt.subplots(1, len(maps), figsize=(3.2 * len(maps), 3.6), squeeze=False)
  for ax, grad, title in zip(axes[0], maps, titles):
    cat = categories(grad, pixel)
    shade = np.log10(np.where(cat == 1, grad, 1.0))
    lo, hi = shade[cat == 1].min(initial=0.0), shade[cat == 1].max(initial=1.0)
    grey = 0.9 - 0.8 * (shade - lo) / max(hi - lo, 1e-12)
    rgb = np.ones(grad.shape + (3,))
    rgb[cat == 1] = grey[cat == 1, None]
    rgb[cat == 2] = (0.9, 0.2, 0.2)
    rgb[cat == 3] = (1.0, 0.97, 0.8)
    rgb[pixel] = (0.2, 0.4, 0.9)
    ax.imshow(rgb, interpolation='nearest')
    ax.set_title(f'{title}\nblind spot: {int((cat == 2).sum())} pixels', fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def figure(path: str, size: int = 16, pixel: tuple[int, int] = (8, 8), seed: int = 0) -> dict:
  """The three autoregressive networks at random init on a size x size grayscale image,
  one panel each; returns {name: pixels in its blind spot}. The networks are small, with
  about the same receptive field (4 layers past the input layer)."""
  from gen.models.autoregressive import gated_pixelcnn, pixelcnn, pixelcnn_pp  # noqa: PLC0415

  nets = {
      'PixelCNN (7x7 A, 4 blocks of 3x3 B)': (pixelcnn.PixelCNNNet(16, 4, 16, 1), {}),
      'Gated PixelCNN (5 gated layers)': (
          gated_pixelcnn.GatedPixelCNNNet(16, (1, 1, 1, 1), 1),
          {},
      ),
      'PixelCNN++ (1 resnet per resolution)': (
          pixelcnn_pp.PixelCNNPPNet(16, 1, pixelcnn_pp.num_outputs(1, 2), 0.0),
          {},
      ),
  }
  x = jax.random.normal(jax.random.PRNGKey(seed), (1, size, size, 1))
  maps, ignored = [], {}
  for i, (name, (net, kwargs)) in enumerate(nets.items()):
    params = net.init(jax.random.PRNGKey(seed + 1 + i), x, **kwargs)
    grad = gradient_map(lambda x, net=net, params=params: net.apply(params, x), x, pixel)
    maps.append(grad)
    ignored[name] = int((categories(grad, pixel) == 2).sum())  # the blind spot
  save(maps, list(nets), pixel, path)
  return ignored


if __name__ == '__main__':
  import sys

  out = sys.argv[1] if len(sys.argv) > 1 else 'receptive_fields.png'
  print(figure(out))
