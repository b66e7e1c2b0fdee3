r"""Image completion with an autoregressive model: "how to deal with missing data?" (the
occluded-image completions of van den Oord et al. 2016a, "Pixel Recurrent Neural Networks",
Fig. 1).

  python -m gen.complete --workdir=runs/pixelcnn_mnist --mask=bottom_half
  python -m gen.complete --workdir=runs/gated_mnist --mask=box --num=8 --samples=3 --seed=1

Restores the run's checkpoint (EMA networks where the run keeps them, as eval.py), takes the
first --num images of its eval split (preprocessed as the run's: binarized where it is),
hides the pixels of --mask and draws --samples completions of each with the model's
`complete` (PixelCNN, Gated PixelCNN, PixelCNN++, PixelRNN; each with its configured
sampler, naive or cached). Writes one PNG (default RUN/completion_<mask>.png): a row per
image of [occluded input (hidden pixels in blue), completions..., original].

Masks (observed pixels True), on H x W images:
  bottom_half   rows >= H // 2 hidden;
  right_half    columns >= W // 2 hidden;
  box           a centred square of side min(H, W) // 2 hidden.

What conditions what. The sampler runs in raster order over every pixel and writes the
known value of every observed pixel instead of its draw (gen.models.autoregressive.common.
Known), so all observed pixels are kept, and every hidden pixel is drawn from the model's
p(x_i | x_<i) with the observed pixels before it (in raster order) as context. The pixels
before the first hidden one are exact conditioning: for bottom_half the completion is an
exact sample of p(bottom | top). Observed pixels after a hidden one (right_half: the left
half of every later row; box: the pixels right of and below the box) are kept too, and
feed the pixels drawn after them, but the raster-order conditional does not look ahead: a
hidden pixel ignores the observed pixels after it, so the completion is not a sample of
p(hidden | all observed) (which would need the sum over the hidden pixels that an
autoregressive model cannot do in closed form).
"""

from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from gen import data as data_lib
from gen.eval import run as eval_run
from gen.train import loop
from gen.viz import images as images_lib

MASKS = ('bottom_half', 'right_half', 'box')
KEY_SALT = 4 << 29  # the completion key: fold_in(PRNGKey(seed), salt)
MASK_COLOUR = (40, 110, 230)  # hidden pixels of the occluded input: blue, in grey or colour data


class CompletionError(ValueError):
  """The run or the flags cannot give completions (user error)."""


def check_mask(kind: str) -> None:
  if kind not in MASKS:
    raise CompletionError(f'--mask={kind}: unknown mask; valid: {", ".join(MASKS)}.')


def observed_mask(kind: str, height: int, width: int) -> np.ndarray:
  """(H, W) bool, True where a pixel is observed (see the module docstring)."""
  check_mask(kind)
  rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
  if kind == 'bottom_half':
    return np.broadcast_to(rows < height // 2, (height, width)).copy()
  if kind == 'right_half':
    return np.broadcast_to(cols < width // 2, (height, width)).copy()
  side = min(height, width) // 2
  top, left = (height - side) // 2, (width - side) // 2
  inside = (top <= rows) & (rows < top + side) & (left <= cols) & (cols < left + side)
  return ~inside


def occluded(images: np.ndarray, observed: np.ndarray) -> np.ndarray:
  """uint8 (N, H, W, C) -> RGB (N, H, W, 3) with the hidden pixels in MASK_COLOUR."""
  rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images.copy()
  rgb[:, ~observed] = MASK_COLOUR
  return rgb


def panel(originals, completions, observed: np.ndarray, scale: str) -> np.ndarray:
  """The figure as one uint8 RGB grid: originals (N, H, W, C) and completions (N, S, H, W,
  C) in the data's scale; row i is [occluded input, S completions, original]."""
  to_rgb = lambda x: np.broadcast_to(x, x.shape[:-1] + (3,))
  x = images_lib.to_uint8(originals, scale)
  y = images_lib.to_uint8(completions, scale)
  rows = np.concatenate([occluded(x, observed)[:, None], to_rgb(y), to_rgb(x)[:, None]], axis=1)
  n, cols = rows.shape[:2]
  return images_lib.grid(rows.reshape((n * cols,) + rows.shape[2:]), cols=cols)


def _check_counts(num: int, samples: int) -> None:
  for name, value in (('num', num), ('samples', samples)):
    if value < 1:
      raise CompletionError(f'--{name}={value}: must be >= 1.')


def run(
    workdir: str,
    mask: str,
    *,
    num: int = 8,
    samples: int = 3,
    seed: int | None = None,
    out: str | None = None,
    step: int | None = None,
) -> dict:
  """Completes the first `num` eval images `samples` times each; writes the PNG and returns
  {'path', 'step', 'num', 'samples', 'observed'} (observed: the (H, W) mask)."""
  check_mask(mask)
  _check_counts(num, samples)
  config = eval_run.read_config(workdir)
  # Refused before any checkpoint is restored or data file read.
  _, model, _ = loop.setup(config)
  if model.complete is None:
    raise CompletionError(
        f'model {config.model.name!r} of {workdir} cannot complete images (no complete in its '
        'Model: only the autoregressive models draw pixel by pixel); train one, e.g. '
        'configs/pixelcnn.py.'
    )
  config, info, model, state, step = eval_run.load_run(workdir, step)
  batch, valid = next(iter(data_lib.eval_batches(config, batch_size=num)))
  batch = {k: np.repeat(np.asarray(v)[:valid], samples, axis=0) for k, v in batch.items()}
  h, w = info.shape[:2]
  observed = observed_mask(mask, h, w)
  seed = config.seed if seed is None else seed
  key = jax.random.fold_in(jax.random.PRNGKey(seed), KEY_SALT)
  everywhere = np.broadcast_to(observed, (valid * samples, h, w))
  x = jax.jit(model.complete)(state, key, jax.tree.map(jnp.asarray, batch), everywhere)
  x = np.asarray(x).reshape((valid, samples) + tuple(info.shape))
  path = out or os.path.join(workdir, f'completion_{mask}.png')
  if jax.process_index() == 0:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    g = panel(batch['x'][::samples], x, observed, config.data.scale)
    images_lib.write_png(g, path)
  return {'path': path, 'step': step, 'num': valid, 'samples': samples, 'observed': observed}


def _define_flags():
  # Defined only when run as a program: importing this module (tests) must not register
  # flag names such as --workdir that other modules define too.
  from absl import flags  # noqa: PLC0415

  flags.DEFINE_string('workdir', None, 'Run directory written by train.py.')
  flags.DEFINE_string('mask', None, f'Pixels hidden: {" | ".join(MASKS)}.')
  flags.DEFINE_integer('num', 8, 'Test images completed: the first N of the eval split.')
  flags.DEFINE_integer('samples', 3, 'Completions per image.')
  flags.DEFINE_integer('seed', None, "Seed of the completion key (default: the run's seed).")
  flags.DEFINE_string('out', None, 'PNG written (default: RUN/completion_<mask>.png).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.mark_flags_as_required(['workdir', 'mask'])


def main(argv):
  from absl import flags  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  cli.start_tool(argv)
  f = flags.FLAGS
  try:
    result = run(
        f.workdir, f.mask, num=f.num, samples=f.samples, seed=f.seed, out=f.out, step=f.step
    )
  except (*cli.USER_ERRORS, CompletionError) as e:
    sys.exit(f'error: {e}')
  obs = result['observed']
  hidden = np.flatnonzero(~obs.reshape(-1))
  first = f', the first at raster index {hidden[0]}' if len(hidden) else ''
  print(
      f'Wrote {result["path"]}: {result["num"]} test images x {result["samples"]} completions '
      f'(step {result["step"]}), {len(hidden)} of {obs.size} pixels hidden{first}.'
  )


if __name__ == '__main__':
  from absl import app  # noqa: PLC0415

  from gen import cli  # noqa: PLC0415

  _define_flags()
  app.run(main, flags_parser=cli.parse_flags)
