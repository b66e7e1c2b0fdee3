"""The FID Inception-v3 in Flax: network, weight conversion and feature extraction.

The network is the PyTorch port of TensorFlow's `inception-2015-12-05` graph
that TTUR (Heusel et al. 2017, arXiv:1706.08500), pytorch-fid
(`fid_inception_v3`, `FIDInceptionA/C/E_1/E_2`) and torch-fidelity
(`FeatureExtractorInceptionV3`) use, i.e. Inception-v3 (Szegedy et al. 2016,
"Rethinking the Inception Architecture for Computer Vision", arXiv:1512.00567)
as laid out in torchvision, with the differences of the TF graph:

* the pool branches of Mixed_5b-5d, 6b-6e and 7b average 3x3 windows (stride 1,
  pad 1) over the valid inputs only (TF's SAME AvgPool; PyTorch
  `count_include_pad=False`);
* Mixed_7c's pool branch is a 3x3 max pool (stride 1, pad 1);
* 1008 logits, no auxiliary head; batch-norm epsilon 1e-3.

Module and parameter names map 1:1 onto the state dict of
`pt_inception-2015-12-05-6726825d.pth` (`params_from_state_dict`).

Input pipeline as TTUR / torch-fidelity (not pytorch-fid, whose half-pixel
resize gives different FIDs): uint8 -> float32, TF1 `resize_bilinear` to
299x299 (align_corners=False, no half-pixel offset, no antialiasing), then
(x - 128) / 128. Outputs: `pool3` (2048, the FID / KID features), `logits`
(pool3 @ W.T + b, 1008) and `logits_unbiased` (pool3 @ W.T, what OpenAI's
Inception Score code feeds its softmax).

All convolutions and matmuls run at `Precision.HIGHEST`, so that GPUs do not
silently use TF32 and shift the features.
"""

from __future__ import annotations

import functools
import os
import warnings

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util
from jax import lax

from gen.eval import provenance, torch_pickle
from gen.train import sharding

WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'
WEIGHTS_URL = (
    'https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/' + WEIGHTS_FILE
)
WEIGHTS_SHA256 = '6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2'
WEIGHTS_BYTES = 95_628_359
ENV_VAR = 'GEN_INCEPTION_WEIGHTS'
INPUT_SIZE = 299
OUTPUT_DIMS = {'pool3': 2048, 'logits': 1008, 'logits_unbiased': 1008}

_PRECISION = lax.Precision.HIGHEST


# -- Network -------------------------------------------------------------------------------


def _pair(v) -> tuple[int, int]:
  return (v, v) if isinstance(v, int) else tuple(v)


class BasicConv2d(nn.Module):
  """Conv (no bias) -> batch norm (running statistics, eps 1e-3) -> ReLU."""

  features: int
  kernel_size: tuple[int, int] = (1, 1)
  strides: tuple[int, int] = (1, 1)
  padding: tuple[int, int] = (0, 0)  # PyTorch's symmetric (pad_h, pad_w)

  @nn.compact
  def __call__(self, x):
    ph, pw = self.padding
    x = nn.Conv(
        self.features,
        self.kernel_size,
        self.strides,
        padding=((ph, ph), (pw, pw)),
        use_bias=False,
        precision=_PRECISION,
        name='conv',
    )(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _conv(name: str, features: int, kernel=1, strides=1, padding=0) -> BasicConv2d:
  return BasicConv2d(features, _pair(kernel), _pair(strides), _pair(padding), name=name)


def _avg_pool_3x3(x):
  # TF's SAME average pool divides by the number of real inputs in the window.
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x):
  return nn.max_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)))  # pads with -inf


def _max_pool_3x3_s2(x):
  return nn.max_pool(x, (3, 3), (2, 2), padding='VALID')


class InceptionA(nn.Module):
  """Mixed_5b-5d (35x35): 1x1, 5x5, double 3x3 and pool branches."""

  pool_features: int

  @nn.compact
  def __call__(self, x):
    b1 = _conv('branch1x1', 64)(x)
    b5 = _conv('branch5x5_1', 48)(x)
    b5 = _conv('branch5x5_2', 64, 5, padding=2)(b5)
    b3 = _conv('branch3x3dbl_1', 64)(x)
    b3 = _conv('branch3x3dbl_2', 96, 3, padding=1)(b3)
    b3 = _conv('branch3x3dbl_3', 96, 3, padding=1)(b3)
    bp = _conv('branch_pool', self.pool_features)(_avg_pool_3x3(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  """Mixed_6a: 35x35 -> 17x17 reduction."""

  @nn.compact
  def __call__(self, x):
    b3 = _conv('branch3x3', 384, 3, strides=2)(x)
    bd = _conv('branch3x3dbl_1', 64)(x)
    bd = _conv('branch3x3dbl_2', 96, 3, padding=1)(bd)
    bd = _conv('branch3x3dbl_3', 96, 3, strides=2)(bd)
    return jnp.concatenate([b3, bd, _max_pool_3x3_s2(x)], axis=-1)


class InceptionC(nn.Module):
  """Mixed_6b-6e (17x17): factorised 7x7 branches."""

  channels_7x7: int

  @nn.compact
  def __call__(self, x):
    c7 = self.channels_7x7
    b1 = _conv('branch1x1', 192)(x)
    b7 = _conv('branch7x7_1', c7)(x)
    b7 = _conv('branch7x7_2', c7, (1, 7), padding=(0, 3))(b7)
    b7 = _conv('branch7x7_3', 192, (7, 1), padding=(3, 0))(b7)
    bd = _conv('branch7x7dbl_1', c7)(x)
    bd = _conv('branch7x7dbl_2', c7, (7, 1), padding=(3, 0))(bd)
    bd = _conv('branch7x7dbl_3', c7, (1, 7), padding=(0, 3))(bd)
    bd = _conv('branch7x7dbl_4', c7, (7, 1), padding=(3, 0))(bd)
    bd = _conv('branch7x7dbl_5', 192, (1, 7), padding=(0, 3))(bd)
    bp = _conv('branch_pool', 192)(_avg_pool_3x3(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  """Mixed_7a: 17x17 -> 8x8 reduction."""

  @nn.compact
  def __call__(self, x):
    b3 = _conv('branch3x3_1', 192)(x)
    b3 = _conv('branch3x3_2', 320, 3, strides=2)(b3)
    b7 = _conv('branch7x7x3_1', 192)(x)
    b7 = _conv('branch7x7x3_2', 192, (1, 7), padding=(0, 3))(b7)
    b7 = _conv('branch7x7x3_3', 192, (7, 1), padding=(3, 0))(b7)
    b7 = _conv('branch7x7x3_4', 192, 3, strides=2)(b7)
    return jnp.concatenate([b3, b7, _max_pool_3x3_s2(x)], axis=-1)


class InceptionE(nn.Module):
  """Mixed_7b / 7c (8x8): expanded 1x3 + 3x1 branches; `max_pool` for 7c (FID graph)."""

  max_pool: bool = False

  @nn.compact
  def __call__(self, x):
    b1 = _conv('branch1x1', 320)(x)
    b3 = _conv('branch3x3_1', 384)(x)
    b3 = jnp.concatenate(
        [
            _conv('branch3x3_2a', 384, (1, 3), padding=(0, 1))(b3),
            _conv('branch3x3_2b', 384, (3, 1), padding=(1, 0))(b3),
        ],
        axis=-1,
    )
    bd = _conv('branch3x3dbl_1', 448)(x)
    bd = _conv('branch3x3dbl_2', 384, 3, padding=1)(bd)
    bd = jnp.concatenate(
        [
            _conv('branch3x3dbl_3a', 384, (1, 3), padding=(0, 1))(bd),
            _conv('branch3x3dbl_3b', 384, (3, 1), padding=(1, 0))(bd),
        ],
        axis=-1,
    )
    pooled = _max_pool_3x3(x) if self.max_pool else _avg_pool_3x3(x)
    bp = _conv('branch_pool', 192)(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class _Logits(nn.Module):
  """fc: returns (pool3 @ W.T, pool3 @ W.T + b), in torch-fidelity's order of operations."""

  features: int = 1008

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    unbiased = jnp.dot(x, kernel, precision=_PRECISION)
    return unbiased, unbiased + bias


class FIDInceptionV3(nn.Module):
  """(N, 299, 299, 3) inputs scaled to [-1, 1) -> {pool3, logits, logits_unbiased}."""

  @nn.compact
  def __call__(self, x):
    x = _conv('Conv2d_1a_3x3', 32, 3, strides=2)(x)  # 149x149
    x = _conv('Conv2d_2a_3x3', 32, 3)(x)  # 147x147
    x = _conv('Conv2d_2b_3x3', 64, 3, padding=1)(x)  # 147x147
    x = _max_pool_3x3_s2(x)  # 73x73
    x = _conv('Conv2d_3b_1x1', 80)(x)  # 73x73
    x = _conv('Conv2d_4a_3x3', 192, 3)(x)  # 71x71
    x = _max_pool_3x3_s2(x)  # 35x35
    x = InceptionA(32, name='Mixed_5b')(x)  # 256
    x = InceptionA(64, name='Mixed_5c')(x)  # 288
    x = InceptionA(64, name='Mixed_5d')(x)  # 288
    x = InceptionB(name='Mixed_6a')(x)  # 17x17x768
    x = InceptionC(128, name='Mixed_6b')(x)
    x = InceptionC(160, name='Mixed_6c')(x)
    x = InceptionC(160, name='Mixed_6d')(x)
    x = InceptionC(192, name='Mixed_6e')(x)
    x = InceptionD(name='Mixed_7a')(x)  # 8x8x1280
    x = InceptionE(name='Mixed_7b')(x)  # 8x8x2048
    x = InceptionE(max_pool=True, name='Mixed_7c')(x)  # 8x8x2048
    pool3 = jnp.mean(x, axis=(1, 2))
    logits_unbiased, logits = _Logits(name='fc')(pool3)
    return {'pool3': pool3, 'logits': logits, 'logits_unbiased': logits_unbiased}


_MODEL = FIDInceptionV3()


@functools.lru_cache(maxsize=None)
def _abstract_variables():
  x = jax.ShapeDtypeStruct((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32)
  return jax.eval_shape(_MODEL.init, jax.random.key(0), x)


def parameter_count() -> int:
  """Elements in all variables (weights, biases, running statistics): 23,885,392
  for the 1008-class FID network, i.e. the state dict less its num_batches_tracked."""
  return sum(int(np.prod(v.shape)) for v in jax.tree.leaves(_abstract_variables()))


# -- Weights -------------------------------------------------------------------------------

# flax (collection, leaf) -> torch suffix.
_LEAF_NAMES = {
    ('params', 'kernel'): 'weight',
    ('params', 'scale'): 'weight',
    ('params', 'bias'): 'bias',
    ('batch_stats', 'mean'): 'running_mean',
    ('batch_stats', 'var'): 'running_var',
}


def _torch_shape(path: tuple[str, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
  if path[-1] == 'kernel' and len(shape) == 4:  # (H, W, I, O) -> (O, I, H, W)
    return (shape[3], shape[2], shape[0], shape[1])
  if path[-1] == 'kernel':  # Dense (in, out) -> Linear (out, in)
    return shape[::-1]
  return shape


def _to_flax(path: tuple[str, ...], value: np.ndarray) -> np.ndarray:
  if path[-1] == 'kernel':
    value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T
  return np.ascontiguousarray(value, dtype=np.float32)


@functools.lru_cache(maxsize=None)
def _layout() -> dict[str, tuple[str | None, tuple[str, ...], tuple[int, ...]]]:
  """torch name -> (flax collection or None if dropped, flax path, torch shape)."""
  table = {}
  for collection, tree in _abstract_variables().items():
    for path, leaf in traverse_util.flatten_dict(tree).items():
      name = '.'.join(path[:-1] + (_LEAF_NAMES[(collection, path[-1])],))
      table[name] = (collection, path, _torch_shape(path, tuple(leaf.shape)))
      if path[-1] == 'mean':
        table['.'.join(path[:-1] + ('num_batches_tracked',))] = (None, path, ())
  return dict(sorted(table.items()))


def torch_state_dict_shapes() -> dict[str, tuple[int, ...]]:
  """The state dict this network loads: {torch name: torch shape}, 566 entries."""
  return {name: shape for name, (_, _, shape) in _layout().items()}


def params_from_state_dict(state_dict: dict[str, np.ndarray]) -> dict:
  """Converts the FID Inception state dict to flax variables {params, batch_stats}.

  Every entry must be present with its shape; missing, unexpected or misshapen
  entries raise ValueError naming them. num_batches_tracked (a training
  counter) is checked and dropped.
  """
  layout = _layout()
  missing = [n for n in layout if n not in state_dict]
  extra = sorted(n for n in state_dict if n not in layout)
  if missing or extra:
    raise ValueError(
        f'State dict does not match the FID Inception-v3: {len(missing)} missing '
        f'{missing[:8]}, {len(extra)} unexpected {extra[:8]}.'
    )
  flat = {'params': {}, 'batch_stats': {}}
  for name, (collection, path, shape) in layout.items():
    value = np.asarray(state_dict[name])
    if value.shape != shape:
      raise ValueError(f'State dict entry {name} has shape {value.shape}, expected {shape}.')
    if collection is not None:
      flat[collection][path] = _to_flax(path, value)
  return {c: traverse_util.unflatten_dict(f) for c, f in flat.items()}


_HOW_TO_GET = (
    f'FID / IS / KID need the FID Inception-v3 weights {WEIGHTS_FILE} '
    f'({WEIGHTS_BYTES:,} bytes, SHA-256 {WEIGHTS_SHA256}), the pytorch-fid release asset '
    f'{WEIGHTS_URL}. Download it where there is network access and pass its path with '
    f'--inception_weights=PATH or the environment variable {ENV_VAR}=PATH.'
)


def resolve_weights_path(flag_value: str | None = None) -> str:
  """The weights file: `flag_value`, else $GEN_INCEPTION_WEIGHTS; FileNotFoundError if neither
  names an existing file (the message says where to get it)."""
  source = '--inception_weights' if flag_value else ENV_VAR
  path = flag_value or os.environ.get(ENV_VAR)
  if not path:
    raise FileNotFoundError(f'No Inception weights given. {_HOW_TO_GET}')
  path = os.path.expanduser(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f'Inception weights {path!r} (from {source}) do not exist. ' f'{_HOW_TO_GET}'
    )
  return path


class WeightsError(ValueError):
  """A weights file that is not a state dict of the FID Inception-v3."""


@functools.lru_cache(maxsize=1)
def _load_variables(path: str, mtime_ns: int, size: int, check_sha256: bool):
  del mtime_ns, size  # cache keys: a rewritten file is read again
  try:
    variables = params_from_state_dict(torch_pickle.load_state_dict(path))
  except ValueError as e:  # not a torch.save file, an unsafe pickle, other entries or shapes
    detail = str(e).rstrip('.')
    detail = detail[len(path) :] if detail.startswith(path) else f': {detail}'  # name it once
    raise WeightsError(f'Inception weights {path}{detail}. {_HOW_TO_GET}') from None
  if check_sha256:  # after reading, so that a file that cannot be used gets its error alone
    digest = provenance.sha256_file(path)
    if digest != WEIGHTS_SHA256:
      warnings.warn(
          f'{path} has SHA-256 {digest}, not that of {WEIGHTS_FILE} '
          f'({WEIGHTS_SHA256}): features, and FIDs, are not comparable with '
          'published numbers.',
          stacklevel=3,
      )
  return variables


def load_variables(path, check_sha256: bool = True) -> dict:
  """Flax variables from a weights file (cached for the last file read); WeightsError, naming
  the file and the one to get, if it is not the FID Inception-v3's state dict."""
  path = os.path.abspath(os.fspath(path))
  st = os.stat(path)
  return _load_variables(path, st.st_mtime_ns, st.st_size, check_sha256)


# -- Preprocessing and feature extraction -------------------------------------------------


def tf1_resize_weights(in_size: int, out_size: int) -> np.ndarray:
  """(out_size, in_size) float64 matrix of TF1 `resize_bilinear` along one axis.

  align_corners=False, half_pixel_centers=False (TF `LegacyScaler`,
  `compute_interpolation_weights` in resize_bilinear_op.cc): src = dst * scale
  with scale = in / out, both in float32 as TF computes them; neighbours
  floor(src) and min(ceil(src), in - 1); weight src - floor(src) on the upper.
  """
  scale = np.float32(in_size) / np.float32(out_size)
  src = np.arange(out_size, dtype=np.float32) * scale
  lower = np.floor(src).astype(np.int64)
  upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
  lerp = (src - np.floor(src)).astype(np.float64)
  m = np.zeros((out_size, in_size), np.float64)
  rows = np.arange(out_size)
  np.add.at(m, (rows, lower), 1.0 - lerp)
  np.add.at(m, (rows, upper), lerp)
  return m


def tf1_resize(x, height: int, width: int) -> jax.Array:
  """TF1 bilinear resize of float (N, H, W, C) to (N, height, width, C), separably in float32."""
  rows = jnp.asarray(tf1_resize_weights(x.shape[1], height), jnp.float32)
  cols = jnp.asarray(tf1_resize_weights(x.shape[2], width), jnp.float32)
  x = jnp.einsum('oh,nhwc->nowc', rows, x, precision=_PRECISION)
  return jnp.einsum('pw,nowc->nopc', cols, x, precision=_PRECISION)


def preprocess(images) -> jax.Array:
  """uint8 (N, H, W, 3 or 1) -> float32 (N, 299, 299, 3): TF1 bilinear resize, (x - 128) / 128."""
  x = jnp.asarray(images).astype(jnp.float32)
  if x.shape[-1] == 1:
    x = jnp.broadcast_to(x, x.shape[:-1] + (3,))
  return (tf1_resize(x, INPUT_SIZE, INPUT_SIZE) - 128.0) / 128.0


@jax.jit
def _features(variables, images):
  return _MODEL.apply(variables, preprocess(images))


def _check_images(images) -> np.ndarray:
  images = np.asarray(images)
  if images.dtype != np.uint8:
    raise TypeError(
        f'Inception features take uint8 images, got {images.dtype}; convert '
        'floats in [0, 1] with np.clip(np.round(x * 255), 0, 255).astype(np.uint8).'
    )
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f'Expected images of shape (N, H, W, 3) or (N, H, W, 1), got {images.shape}.')
  return images


def fid_features(
    images, weights_path=None, batch_size: int = 200, *, check_sha256: bool = True
) -> dict[str, np.ndarray]:
  """FID Inception outputs of uint8 images (N, H, W, 3) or grayscale (N, H, W, 1).

  Returns float32 NumPy {pool3: (N, 2048), logits: (N, 1008), logits_unbiased:
  (N, 1008)}. `weights_path` goes through `resolve_weights_path` (None: the
  environment variable). Batches are zero-padded to one static size (a
  multiple of the device count; smaller when N is smaller) and sharded on the
  batch axis over `sharding.make_mesh()`, the weights replicated. Single-process
  only: every process would need all the images.
  """
  images = _check_images(images)
  if jax.process_count() > 1:
    raise NotImplementedError('fid_features runs in a single process.')
  variables = load_variables(resolve_weights_path(weights_path), check_sha256)
  n, n_dev = len(images), jax.device_count()
  batch = -(-min(batch_size, max(n, 1)) // n_dev) * n_dev
  mesh = sharding.make_mesh()
  variables = jax.device_put(variables, sharding.replicated(mesh))
  batch_sharding = sharding.batch_sharding(mesh)
  parts = {k: [] for k in OUTPUT_DIMS}

  def collect(out, count):
    for k in parts:
      parts[k].append(np.asarray(out[k])[:count])

  pending = None  # dispatch batch i + 1 before pulling batch i to the host
  for start in range(0, n, batch):
    chunk = images[start : start + batch]
    count = len(chunk)
    if chunk.shape[-1] == 1:
      chunk = np.repeat(chunk, 3, axis=-1)
    if count < batch:
      chunk = np.concatenate([chunk, np.zeros((batch - count,) + chunk.shape[1:], np.uint8)])
    out = _features(variables, jax.device_put(chunk, batch_sharding))
    if pending is not None:
      collect(*pending)
    pending = (out, count)
  if pending is not None:
    collect(*pending)
  return {
      k: (np.concatenate(v) if v else np.zeros((0, OUTPUT_DIMS[k]), np.float32))
      for k, v in parts.items()
  }
