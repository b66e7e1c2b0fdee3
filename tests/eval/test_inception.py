"""FID Inception-v3: safe .pth reader, layout, TF1 resize, and the network against a NumPy
reference written from pytorch-fid's forward code, on synthetic weights."""

import ast
import io
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from gen.eval import inception, provenance, torch_pickle

# One worker runs this module, so its module-scoped fixtures are built once (under
# --dist loadgroup, ungrouped tests spread over the workers and each would build them).
pytestmark = pytest.mark.xdist_group('inception')

REFERENCE = Path(__file__).parents[2].parent / 'shared' / 'reference'
LAYOUT_FILE = REFERENCE / 'fid_inception_state_dict.txt'


def _reference_layout():
  layout = {}
  for line in LAYOUT_FILE.read_text().splitlines():
    if line.strip():
      name, shape = line.split(' ', 1)
      layout[name] = tuple(ast.literal_eval(shape.strip()))
  return layout


@pytest.fixture(scope='module')
def layout():
  """The reference list of the real file's tensors; the model's own layout where absent."""
  return _reference_layout() if LAYOUT_FILE.exists() else inception.torch_state_dict_shapes()


@pytest.fixture(scope='module')
def state_dict(layout):
  """Random weights with the real names and shapes, scaled so activations stay O(1)."""
  rng = np.random.default_rng(0)
  sd = {}
  for name, shape in layout.items():
    if name.endswith('num_batches_tracked'):
      sd[name] = np.array(int(rng.integers(1000)), np.int64)
    elif name.endswith('running_var'):
      sd[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif name.endswith('bn.weight'):
      sd[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif name.endswith('conv.weight') or name == 'fc.weight':
      fan_in = int(np.prod(shape[1:]))
      sd[name] = rng.standard_normal(shape, np.float32) * np.float32(np.sqrt(2 / fan_in))
    else:  # biases, running means
      sd[name] = (0.1 * rng.standard_normal(shape, np.float32)).astype(np.float32)
  return sd


@pytest.fixture(scope='module')
def weights_file(state_dict, tmp_path_factory):
  path = tmp_path_factory.mktemp('inception') / 'synthetic.pth'
  torch_pickle.save_state_dict_legacy(path, state_dict)
  yield path
  path.unlink()  # 95 MB; pytest keeps recent temporary folders


@pytest.fixture(scope='module')
def images():
  return np.random.default_rng(1).integers(0, 256, (2, 24, 20, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def features(images, weights_file):
  return inception.fid_features(images, weights_file, batch_size=2, check_sha256=False)


# -- Layout ------------------------------------------------------------------------------


def test_layout_matches_the_reference_list():
  if not LAYOUT_FILE.exists():
    pytest.skip(f'reference list {LAYOUT_FILE.name} is not next to the repository')
  ref = _reference_layout()
  assert len(ref) == 566
  assert inception.torch_state_dict_shapes() == ref
  n_params = sum(int(np.prod(s)) for n, s in ref.items() if not n.endswith('num_batches_tracked'))
  assert inception.parameter_count() == n_params == 23_885_392


# -- Safe reader -------------------------------------------------------------------------


def test_legacy_file_round_trips_every_entry(state_dict, weights_file):
  loaded = torch_pickle.load_state_dict(weights_file)
  assert list(loaded) == list(state_dict)
  for name, value in state_dict.items():
    assert loaded[name].dtype == value.dtype and loaded[name].shape == value.shape, name
    np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_writer_emits_torch_opcodes(state_dict, weights_file):
  f = io.BytesIO(Path(weights_file).read_bytes())
  ops = [list(pickletools.genops(f)) for _ in range(5)]  # magic, version, sys_info, dict, keys
  assert ops[0][1][1] == torch_pickle.MAGIC_NUMBER and ops[1][1][1] == 1001
  globals_ = {arg for op, arg, _ in ops[3] if op.name == 'GLOBAL'}
  assert globals_ == {
      'collections OrderedDict',
      'torch._utils _rebuild_tensor_v2',
      'torch FloatStorage',
      'torch LongStorage',
  }
  assert sum(op.name == 'BINPERSID' for op, _, _ in ops[3]) == len(state_dict)
  assert [op.name for op, _, _ in ops[3]][-2:] == ['BUILD', 'STOP']  # state_dict()._metadata
  assert pickle.loads(_pickles(weights_file)[4]) == sorted(map(str, range(len(state_dict))))


def test_shared_strided_views_and_zip_format(tmp_path):
  base = np.arange(24, dtype=np.float32)
  grid = base.reshape(4, 6)
  tensors = {
      'rows': grid[1:, ::2],
      'transposed': grid.T,
      'slice': base[5:9],
      'count': np.array(3, np.int64),
      'half': np.full((2, 2), 0.5, np.float16),
      'empty': np.zeros((0, 3), np.float32),
  }
  for save in (torch_pickle.save_state_dict_legacy, torch_pickle.save_state_dict_zip):
    path = tmp_path / save.__name__
    save(path, tensors)
    loaded = torch_pickle.load_state_dict(path)
    for name, value in tensors.items():
      assert loaded[name].dtype == value.dtype, name
      np.testing.assert_array_equal(loaded[name], value, err_msg=name)
      assert loaded[name].flags.writeable and loaded[name].base is None  # copied out
  keys = pickle.loads(_pickles(tmp_path / 'save_state_dict_legacy')[4])
  assert len(keys) == 4  # the three views share one storage


def _pickles(path):
  """The byte strings of the five leading pickles of a legacy file."""
  f, out = io.BytesIO(Path(path).read_bytes()), []
  for _ in range(5):
    start = f.tell()
    list(pickletools.genops(f))
    out.append(f.getvalue()[start : f.tell()])
  return out


def test_refuses_pickled_code(tmp_path):
  marker = tmp_path / 'executed'
  command = f'touch {marker}'.encode()
  evil = b'\x80\x02cos\nsystem\nX' + struct.pack('<I', len(command)) + command + b'\x85R.'
  path = tmp_path / 'evil.pth'
  heads = [
      pickle.dumps(h, protocol=2)
      for h in (torch_pickle.MAGIC_NUMBER, torch_pickle.PROTOCOL_VERSION, {'little_endian': True})
  ]
  path.write_bytes(b''.join(heads) + evil + pickle.dumps([], protocol=2))
  with pytest.raises(torch_pickle.UnsafePickleError, match=r'os\.system'):
    torch_pickle.load_state_dict(path)
  zpath = tmp_path / 'evil.zip'
  with zipfile.ZipFile(zpath, 'w') as zf:
    zf.writestr('archive/data.pkl', evil)
  with pytest.raises(torch_pickle.UnsafePickleError, match=r'os\.system'):
    torch_pickle.load_state_dict(zpath)
  assert not marker.exists()


def test_rejects_files_that_are_not_torch_saves(tmp_path):
  garbage = tmp_path / 'garbage.pth'
  garbage.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(100))
  with pytest.raises(ValueError, match='garbage.pth'):
    torch_pickle.load_state_dict(garbage)
  wrong_magic = tmp_path / 'wrong_magic.pth'
  wrong_magic.write_bytes(pickle.dumps(12345, protocol=2))
  with pytest.raises(ValueError, match='bad magic number'):
    torch_pickle.load_state_dict(wrong_magic)
  good = tmp_path / 'good.pth'
  torch_pickle.save_state_dict_legacy(good, {'w': np.ones((4, 4), np.float32)})
  data = good.read_bytes()
  for cut, why in (
      (len(data) - 3, 'truncated'),
      (len(data) - 64 - 4, 'truncated'),
      (60, 'does not unpickle'),
  ):
    bad = tmp_path / f'cut{cut}.pth'
    bad.write_bytes(data[:cut])
    with pytest.raises(ValueError, match=why):
      torch_pickle.load_state_dict(bad)


# -- Weight conversion -------------------------------------------------------------------


def test_params_cover_the_state_dict(state_dict):
  variables = inception.params_from_state_dict(state_dict)
  leaves = [v for tree in variables.values() for v in _leaves(tree)]
  dropped = [n for n in state_dict if n.endswith('num_batches_tracked')]
  assert len(dropped) == 94 and len(leaves) == len(state_dict) - len(dropped)
  assert sum(v.size for v in leaves) == inception.parameter_count()
  stem = variables['params']['Conv2d_1a_3x3']['conv']['kernel']
  np.testing.assert_array_equal(stem, state_dict['Conv2d_1a_3x3.conv.weight'].transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(variables['params']['fc']['kernel'], state_dict['fc.weight'].T)
  np.testing.assert_array_equal(
      variables['batch_stats']['Mixed_7c']['branch_pool']['bn']['var'],
      state_dict['Mixed_7c.branch_pool.bn.running_var'],
  )


def _leaves(tree):
  for v in tree.values():
    yield from (_leaves(v) if isinstance(v, dict) else [v])


def test_params_name_what_does_not_match(state_dict):
  partial = {k: v for k, v in state_dict.items() if k != 'Mixed_6b.branch7x7_2.conv.weight'}
  with pytest.raises(ValueError, match='Mixed_6b.branch7x7_2.conv.weight'):
    inception.params_from_state_dict(partial)
  with pytest.raises(ValueError, match='AuxLogits.fc.weight'):
    inception.params_from_state_dict({**state_dict, 'AuxLogits.fc.weight': np.zeros((1008, 768))})
  bad = dict(state_dict)
  bad['Mixed_6b.branch7x7_2.conv.weight'] = bad['Mixed_6b.branch7x7_2.conv.weight'].transpose(
      0, 1, 3, 2
  )  # a 7x1 kernel where a 1x7 belongs
  with pytest.raises(ValueError, match=r'Mixed_6b\.branch7x7_2\.conv\.weight has shape'):
    inception.params_from_state_dict(bad)


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
  monkeypatch.delenv(inception.ENV_VAR, raising=False)
  with pytest.raises(FileNotFoundError, match='GEN_INCEPTION_WEIGHTS') as e:
    inception.resolve_weights_path(None)
  assert inception.WEIGHTS_FILE in str(e.value) and inception.WEIGHTS_SHA256 in str(e.value)
  assert '--inception_weights' in str(e.value)
  with pytest.raises(FileNotFoundError, match='GEN_INCEPTION_WEIGHTS'):
    inception.resolve_weights_path(str(tmp_path / 'nope.pth'))
  present = tmp_path / 'w.pth'
  present.write_bytes(b'')
  monkeypatch.setenv(inception.ENV_VAR, str(present))
  assert inception.resolve_weights_path() == str(present)
  with pytest.raises(FileNotFoundError, match='--inception_weights'):
    inception.resolve_weights_path(str(tmp_path / 'flag_wins.pth'))


def test_warns_on_other_weights(weights_file):
  with pytest.warns(UserWarning, match='SHA-256'):
    inception.load_variables(weights_file, check_sha256=True)
  assert provenance.sha256_file(weights_file) != inception.WEIGHTS_SHA256


# -- Preprocessing -----------------------------------------------------------------------


def test_tf1_resize_by_hand():
  x = np.array([[0.0, 10.0], [20.0, 30.0]], np.float32)[None, :, :, None]
  # src = dst * 2/4 = 0, .5, 1, 1.5; 1.5 has floor 1 and ceil 2 -> clamped to 1.
  expected = np.array([[0, 5, 10, 10], [10, 15, 20, 20], [20, 25, 30, 30], [20, 25, 30, 30]])
  np.testing.assert_allclose(
      np.asarray(inception.tf1_resize(x, 4, 4))[0, :, :, 0], expected, atol=1e-5
  )
  np.testing.assert_array_equal(inception.tf1_resize_weights(7, 7), np.eye(7))
  # 3 -> 5: src = 0, .6, 1.2, 1.8, 2.4 (float32); 2.4 clamps to the last pixel.
  w35 = [[1, 0, 0], [0.4, 0.6, 0], [0, 0.8, 0.2], [0, 0.2, 0.8], [0, 0, 1]]
  np.testing.assert_allclose(inception.tf1_resize_weights(3, 5), w35, atol=1e-6)
  np.testing.assert_allclose(inception.tf1_resize_weights(5, 3).sum(1), 1)
  # Downscale 6 -> 4 samples rows 0, 1.5, 3, 4.5: no smoothing (no antialias).
  np.testing.assert_allclose(inception.tf1_resize_weights(6, 4)[1], [0, 0.5, 0.5, 0, 0, 0])


def test_preprocess_scales_to_minus_one_one():
  levels = np.stack([np.full((5, 7, 3), v, np.uint8) for v in (0, 128, 255)])
  x = np.asarray(inception.preprocess(levels))
  assert x.shape == (3, 299, 299, 3) and x.dtype == np.float32
  np.testing.assert_allclose(x[0], -1, atol=1e-6)
  np.testing.assert_allclose(x[1], 0, atol=1e-6)
  np.testing.assert_allclose(x[2], 127 / 128, atol=1e-6)


# -- Network -----------------------------------------------------------------------------


def test_feature_shapes_and_heads(features, state_dict):
  assert features['pool3'].shape == (2, 2048)
  assert features['logits'].shape == features['logits_unbiased'].shape == (2, 1008)
  assert all(v.dtype == np.float32 and np.isfinite(v).all() for v in features.values())
  assert (features['pool3'] >= 0).all() and features['pool3'].std() > 1e-3
  np.testing.assert_allclose(
      features['logits'] - features['logits_unbiased'],
      np.broadcast_to(state_dict['fc.bias'], (2, 1008)),
      atol=1e-4,
  )
  np.testing.assert_allclose(
      features['logits_unbiased'],
      features['pool3'] @ state_dict['fc.weight'].T,
      rtol=1e-4,
      atol=1e-4,
  )


def test_matches_numpy_reference(features, images, state_dict):
  """Float64 NHWC NumPy forward with the torch weights as stored: paddings, strides,
  pool types, concat orders and the TF1 resize are checked end to end."""
  x = _np_tf1_resize(images[:1].astype(np.float64), 299)
  pool3 = _np_inception(state_dict, (x - 128) / 128)
  # Observed: 3e-7 of the largest feature; count_include_pad=True, an average pool in
  # Mixed_7c, BGR input or a half-pixel resize each move pool3 by 2e-2 or more.
  np.testing.assert_allclose(
      features['pool3'][0], pool3[0], rtol=1e-4, atol=1e-4 * np.abs(pool3).max()
  )
  logits = pool3 @ state_dict['fc.weight'].T.astype(np.float64) + state_dict['fc.bias']
  np.testing.assert_allclose(
      features['logits'][0], logits[0], rtol=1e-4, atol=1e-4 * np.abs(logits).max()
  )


def test_grayscale_equals_repeated_channels(weights_file):
  gray = np.random.default_rng(2).integers(0, 256, (2, 24, 20, 1), dtype=np.uint8)
  a = inception.fid_features(gray, weights_file, batch_size=2, check_sha256=False)
  b = inception.fid_features(np.repeat(gray, 3, -1), weights_file, batch_size=2, check_sha256=False)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


_TWO_DEVICES = """
import sys, jax, numpy as np
from gen.eval import inception
images = np.load(sys.argv[1])
one = inception.fid_features(images, sys.argv[2], batch_size=3, check_sha256=False)
two = inception.fid_features(images, sys.argv[2], batch_size=2, check_sha256=False)
np.savez(sys.argv[3], devices=jax.device_count(), **{'one_' + k: v for k, v in one.items()},
         **{'two_' + k: v for k, v in two.items()})
"""


def test_sharded_padded_batches_agree(features, images, weights_file, tmp_path):
  """2 devices: batch 3 rounds up to 4 (one padded batch); batch 2 gives a padded second one."""
  three = np.concatenate([images, images[:1, ::-1]])
  np.save(tmp_path / 'images.npy', three)
  env = {
      **os.environ,
      'JAX_PLATFORMS': 'cpu',
      'XLA_FLAGS': '--xla_force_host_platform_device_count=2',
  }
  proc = subprocess.run(
      [
          sys.executable,
          '-c',
          _TWO_DEVICES,
          str(tmp_path / 'images.npy'),
          str(weights_file),
          str(tmp_path / 'out.npz'),
      ],
      cwd=ROOT,
      env=env,
      capture_output=True,
      text=True,
      timeout=300,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = np.load(tmp_path / 'out.npz')
  assert out['devices'] == 2
  for k, v in features.items():
    for run in ('one', 'two'):
      got = out[f'{run}_{k}']
      assert got.shape == (3, v.shape[1])
      np.testing.assert_allclose(got[:2], v, rtol=1e-5, atol=1e-5 * np.abs(v).max())
    np.testing.assert_allclose(
        out[f'one_{k}'][2], out[f'two_{k}'][2], rtol=1e-5, atol=1e-5 * np.abs(v).max()
    )


def test_rejects_float_images(weights_file):
  with pytest.raises(TypeError, match='uint8'):
    inception.fid_features(np.zeros((1, 8, 8, 3), np.float32), weights_file)


# -- NumPy reference (pytorch-fid semantics: OIHW weights, explicit symmetric padding) ------


def _np_tf1_resize(x, size):
  """TF1 resize_bilinear (legacy scaler) by gathers and lerps, as resize_bilinear_op.cc."""

  def axis(n):
    src = np.arange(size, dtype=np.float32) * (np.float32(n) / np.float32(size))
    lo = np.floor(src).astype(int)
    return lo, np.minimum(np.ceil(src).astype(int), n - 1), (src - lo).astype(np.float64)

  (y0, y1, ly), (x0, x1, lx) = axis(x.shape[1]), axis(x.shape[2])
  lx = lx[None, None, :, None]
  top = x[:, y0][:, :, x0] + (x[:, y0][:, :, x1] - x[:, y0][:, :, x0]) * lx
  bottom = x[:, y1][:, :, x0] + (x[:, y1][:, :, x1] - x[:, y1][:, :, x0]) * lx
  return top + (bottom - top) * ly[None, :, None, None]


def _np_unit(sd, name, x, stride=1, pad=(0, 0)):
  w = sd[f'{name}.conv.weight'].astype(np.float64)  # (O, I, kh, kw)
  _, _, kh, kw = w.shape
  x = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1]), (0, 0)))
  oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
  y = 0
  for a in range(kh):
    for b in range(kw):  # one matmul per tap; contiguous rows so that NumPy uses BLAS
      patch = x[:, a : a + stride * (oh - 1) + 1 : stride, b : b + stride * (ow - 1) + 1 : stride]
      y = y + (np.ascontiguousarray(patch).reshape(-1, x.shape[-1]) @ w[:, :, a, b].T)
  y = y.reshape(x.shape[0], oh, ow, -1)
  bn = {
      k: sd[f'{name}.bn.{k}'].astype(np.float64)
      for k in ('weight', 'bias', 'running_mean', 'running_var')
  }
  y = (y - bn['running_mean']) / np.sqrt(bn['running_var'] + 1e-3) * bn['weight'] + bn['bias']
  return np.maximum(y, 0)


def _np_pool(x, kind, stride=1, pad=0):
  fill = -np.inf if kind == 'max' else 0.0
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=fill)
  ones = np.pad(np.ones(x.shape[1:3]), pad)
  oh, ow = (xp.shape[1] - 3) // stride + 1, (xp.shape[2] - 3) // stride + 1
  win = [
      xp[:, a : a + stride * (oh - 1) + 1 : stride, b : b + stride * (ow - 1) + 1 : stride]
      for a in range(3)
      for b in range(3)
  ]
  if kind == 'max':
    return np.max(win, axis=0)
  count = sum(
      ones[a : a + stride * (oh - 1) + 1 : stride, b : b + stride * (ow - 1) + 1 : stride]
      for a in range(3)
      for b in range(3)
  )
  return np.sum(win, axis=0) / count[None, :, :, None]  # count_include_pad=False


def _np_inception(sd, x):
  u = lambda name, h, **kw: _np_unit(sd, name, h, **kw)
  x = u('Conv2d_1a_3x3', x, stride=2)
  x = u('Conv2d_2a_3x3', x)
  x = u('Conv2d_2b_3x3', x, pad=(1, 1))
  x = _np_pool(x, 'max', stride=2)
  x = u('Conv2d_3b_1x1', x)
  x = u('Conv2d_4a_3x3', x)
  x = _np_pool(x, 'max', stride=2)
  for m in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):  # FIDInceptionA
    b5 = u(f'{m}.branch5x5_2', u(f'{m}.branch5x5_1', x), pad=(2, 2))
    bd = u(f'{m}.branch3x3dbl_1', x)
    bd = u(f'{m}.branch3x3dbl_3', u(f'{m}.branch3x3dbl_2', bd, pad=(1, 1)), pad=(1, 1))
    bp = u(f'{m}.branch_pool', _np_pool(x, 'avg', pad=1))
    x = np.concatenate([u(f'{m}.branch1x1', x), b5, bd, bp], -1)
  bd = u('Mixed_6a.branch3x3dbl_2', u('Mixed_6a.branch3x3dbl_1', x), pad=(1, 1))
  x = np.concatenate(
      [
          u('Mixed_6a.branch3x3', x, stride=2),  # InceptionB
          u('Mixed_6a.branch3x3dbl_3', bd, stride=2),
          _np_pool(x, 'max', stride=2),
      ],
      -1,
  )
  for m in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):  # FIDInceptionC
    b7 = u(f'{m}.branch7x7_1', x)
    b7 = u(f'{m}.branch7x7_3', u(f'{m}.branch7x7_2', b7, pad=(0, 3)), pad=(3, 0))
    bd = u(f'{m}.branch7x7dbl_1', x)
    for i, p in zip(range(2, 6), [(3, 0), (0, 3), (3, 0), (0, 3)]):
      bd = u(f'{m}.branch7x7dbl_{i}', bd, pad=p)
    bp = u(f'{m}.branch_pool', _np_pool(x, 'avg', pad=1))
    x = np.concatenate([u(f'{m}.branch1x1', x), b7, bd, bp], -1)
  b3 = u('Mixed_7a.branch3x3_2', u('Mixed_7a.branch3x3_1', x), stride=2)  # InceptionD
  b7 = u('Mixed_7a.branch7x7x3_1', x)
  b7 = u('Mixed_7a.branch7x7x3_3', u('Mixed_7a.branch7x7x3_2', b7, pad=(0, 3)), pad=(3, 0))
  x = np.concatenate(
      [b3, u('Mixed_7a.branch7x7x3_4', b7, stride=2), _np_pool(x, 'max', stride=2)], -1
  )
  for m, pool in (('Mixed_7b', 'avg'), ('Mixed_7c', 'max')):  # FIDInceptionE_1 / E_2
    b3 = u(f'{m}.branch3x3_1', x)
    b3 = np.concatenate(
        [u(f'{m}.branch3x3_2a', b3, pad=(0, 1)), u(f'{m}.branch3x3_2b', b3, pad=(1, 0))], -1
    )
    bd = u(f'{m}.branch3x3dbl_2', u(f'{m}.branch3x3dbl_1', x), pad=(1, 1))
    bd = np.concatenate(
        [u(f'{m}.branch3x3dbl_3a', bd, pad=(0, 1)), u(f'{m}.branch3x3dbl_3b', bd, pad=(1, 0))], -1
    )
    bp = u(f'{m}.branch_pool', _np_pool(x, pool, pad=1))
    x = np.concatenate([u(f'{m}.branch1x1', x), b3, bd, bp], -1)
  return x.mean(axis=(1, 2))
