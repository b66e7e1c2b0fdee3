"""Tests of gen.data.sources, gen.data.toy2d and gen.data.prepare.

Real datasets are read from $GEN_DATA_DIR when it is set (skipped otherwise);
everything else runs on synthetic files in tmp dirs or bundled data.
"""

import gzip
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from gen.data import sources, toy2d

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def no_env_data_dir(monkeypatch):
  monkeypatch.delenv(sources.ENV_VAR, raising=False)


# ------------------------------------------------------ bundled and generated


def test_digits_load_without_data_dir(no_env_data_dir):
  train, test = sources.load('digits', 'train'), sources.load('digits', 'test')
  assert (len(train), len(test)) == (1497, 300)
  expected = sources.DatasetInfo('digits', 'image', (8, 8, 1), 256, 10, ('train', 'test'))
  assert train.info == expected
  batch = train.get(np.arange(len(train)))
  assert batch['x'].dtype == np.uint8 and batch['x'].shape == (1497, 8, 8, 1)
  assert batch['x'].max() == 255  # 16 maps to 255
  assert batch['label'].dtype == np.int32
  assert set(np.unique(batch['label'])) == set(range(10))


def test_digits_are_sklearns_load_digits_without_importing_sklearn():
  from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel

  digits = load_digits()
  table = sources._digits_table()  # pylint: disable=protected-access
  np.testing.assert_array_equal(table[:, :-1].reshape(-1, 8, 8), digits.images)
  np.testing.assert_array_equal(table[:, -1], digits.target)
  code = (
      'import sys; from gen.data import sources; sources._digits_table(); '
      'print("sklearn" in sys.modules)'
  )
  out = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True, text=True)
  assert out.stdout.strip() == 'False', out.stderr[-2000:]


@pytest.mark.parametrize('name, num_components', [('ring8', 8), ('grid25', 25)])
def test_mixture_datasets(no_env_data_dir, name, num_components):
  expected = sources.DatasetInfo(name, 'points', (2,), None, num_components, ('train', 'test'))
  for split, size in [('train', 100_000), ('test', 10_000)]:
    source = sources.load(name, split)
    assert source.info == expected
    assert len(source) == size
    batch = source.get(np.arange(size))
    assert batch['x'].dtype == np.float32 and batch['x'].shape == (size, 2)
    assert batch['label'].dtype == np.int32
    assert set(np.unique(batch['label'])) == set(range(num_components))


def test_ring8_points_lie_near_their_labelled_centre():
  batch = sources.load('ring8', 'train').get(np.arange(100_000))
  mixture = toy2d.MIXTURES['ring8']
  offsets = batch['x'] - mixture.centres[batch['label']]
  # Both coordinates within 3 std: probability 0.9973**2 ~ 0.9946.
  assert np.mean(np.all(np.abs(offsets) < 3 * mixture.std, axis=1)) > 0.99


def test_ring8_centres():
  mixture = toy2d.MIXTURES['ring8']
  assert mixture.centres.shape == (8, 2) and mixture.centres.dtype == np.float64
  np.testing.assert_allclose(np.linalg.norm(mixture.centres, axis=1), 2.0)
  angles = np.arctan2(mixture.centres[:, 1], mixture.centres[:, 0]) % (2 * np.pi)
  np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
  assert mixture.std == 0.02


def test_grid25_centres():
  mixture = toy2d.MIXTURES['grid25']
  assert mixture.centres.shape == (25, 2) and mixture.centres.dtype == np.float64
  expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
  assert {tuple(c) for c in mixture.centres.tolist()} == expected
  np.testing.assert_allclose(mixture.centres.mean(axis=0), 0.0)
  assert mixture.std == 0.05  # variance 0.0025 (VEEGAN)


def test_mixture_samples_are_deterministic_per_split():
  batch = sources.load('grid25', 'train').get(np.arange(100_000))
  points, labels = batch['x'], batch['label']
  again_points, again_labels = toy2d.sample_split('grid25', 'train')  # bypasses the cache
  np.testing.assert_array_equal(points, again_points)
  np.testing.assert_array_equal(labels, again_labels)
  test_points = sources.load('grid25', 'test').get(np.arange(10_000))['x']
  assert not np.array_equal(points[:10_000], test_points)


def test_sample_shapes_and_seeds():
  points, labels = toy2d.sample('ring8', 7, seed=3)
  assert points.shape == (7, 2) and points.dtype == np.float32
  assert labels.shape == (7,) and labels.dtype == np.int32
  np.testing.assert_array_equal(points, toy2d.sample('ring8', 7, seed=3)[0])
  assert not np.array_equal(points, toy2d.sample('ring8', 7, seed=4)[0])
  with pytest.raises(ValueError, match='ring8'):
    toy2d.sample('ring9', 7, seed=0)


def test_second_load_is_cached():
  assert sources.load('ring8', 'test') is sources.load('ring8', 'test')


def test_get_returns_fresh_copies():
  source = sources.load('ring8', 'test')
  batch = source.get(np.array([0, 1]))
  batch['x'][:] = 0  # must not reach the cached arrays
  assert np.any(source.get(np.array([0, 1]))['x'] != 0)


def test_unknown_name_or_split_lists_valid_ones():
  with pytest.raises(ValueError, match="'mnits'.*mnist.*tfds:"):
    sources.load('mnits', 'train')
  with pytest.raises(ValueError, match="'valid'.*train"):
    sources.load('digits', 'valid')
  local = {
      'mnist', 'fashion_mnist', 'binarized_mnist', 'frey_face', 'digits', 'dsprites', 'ring8',
      'grid25', 'cifar10',
  }  # fmt: skip
  assert set(sources.names()) == local


def test_resolve_data_dir(monkeypatch):
  monkeypatch.setenv(sources.ENV_VAR, 'from_env')
  assert sources.resolve_data_dir('given') == 'given'
  assert sources.resolve_data_dir('') == 'from_env'
  assert sources.resolve_data_dir(None) == 'from_env'
  monkeypatch.delenv(sources.ENV_VAR)
  assert sources.resolve_data_dir(None) is None


# ------------------------------------------------------- synthetic file formats


def write_idx(path, array, magic):
  header = np.array([magic, *array.shape], dtype='>u4').tobytes()
  with gzip.open(path, 'wb') as f:
    f.write(header + array.astype(np.uint8).tobytes())


def test_idx_round_trip(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
  write_idx(tmp_path / 'images.gz', images, 2051)
  np.testing.assert_array_equal(sources.read_idx(str(tmp_path / 'images.gz'), 2051), images)
  labels = np.array([5, 0, 4], np.uint8)
  write_idx(tmp_path / 'labels.gz', labels, 2049)
  np.testing.assert_array_equal(sources.read_idx(str(tmp_path / 'labels.gz'), 2049), labels)


def test_idx_bad_magic(tmp_path):
  path = tmp_path / 'labels.gz'
  write_idx(path, np.zeros(4, np.uint8), 2049)
  with pytest.raises(sources.DatasetCorruptError, match='bad magic number 2049') as error:
    sources.read_idx(str(path), 2051)
  assert str(path) in str(error.value)


def test_idx_truncated_gzip(tmp_path):
  path = tmp_path / 'images.gz'
  write_idx(path, np.random.default_rng(0).integers(0, 256, (20, 28, 28)), 2051)
  path.write_bytes(path.read_bytes()[:-100])
  with pytest.raises(sources.DatasetCorruptError) as error:
    sources.read_idx(str(path), 2051)
  assert str(path) in str(error.value)


def test_idx_data_shorter_than_header_says(tmp_path):
  path = tmp_path / 'images.gz'
  with gzip.open(path, 'wb') as f:
    f.write(np.array([2051, 10, 28, 28], '>u4').tobytes() + bytes(28 * 28))
  with pytest.raises(sources.DatasetCorruptError, match='header says') as error:
    sources.read_idx(str(path), 2051)
  assert str(path) in str(error.value)


def test_mnist_from_synthetic_files(tmp_path):
  rng = np.random.default_rng(0)
  folder = tmp_path / 'mnist'
  folder.mkdir()
  data = {}
  for split, n, prefix in [('train', 5, 'train'), ('test', 3, 't10k')]:
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    data[split] = images, rng.integers(0, 10, n, dtype=np.uint8)
    write_idx(folder / f'{prefix}-images-idx3-ubyte.gz', data[split][0], 2051)
    write_idx(folder / f'{prefix}-labels-idx1-ubyte.gz', data[split][1], 2049)
  for split, (images, labels) in data.items():
    source = sources.load('mnist', split, data_dir=str(tmp_path))
    batch = source.get(np.array([2, 0]))
    assert batch['x'].shape == (2, 28, 28, 1) and batch['x'].dtype == np.uint8
    np.testing.assert_array_equal(batch['x'][..., 0], images[[2, 0]])
    assert batch['label'].dtype == np.int32
    np.testing.assert_array_equal(batch['label'], labels[[2, 0]])


def test_missing_dataset_names_name_paths_and_env_var(tmp_path, no_env_data_dir):
  with pytest.raises(sources.DatasetNotFoundError) as error:
    sources.load('mnist', 'train', data_dir=str(tmp_path))
  message = str(error.value)
  assert 'mnist' in message and str(tmp_path / 'mnist') in message and 'GEN_DATA_DIR' in message
  assert isinstance(error.value, FileNotFoundError)
  with pytest.raises(sources.DatasetNotFoundError, match='frey_face.*no data dir.*GEN_DATA_DIR'):
    sources.load('frey_face', 'train')


def test_binarized_mnist_from_synthetic_npz(tmp_path):
  rng = np.random.default_rng(0)
  sizes = {'train': 6, 'valid': 2, 'test': 3}
  arrays = {split: rng.integers(0, 2, (n, 784), dtype=np.uint8) for split, n in sizes.items()}
  (tmp_path / 'binarized_mnist').mkdir()
  np.savez(tmp_path / 'binarized_mnist' / 'binarized_mnist.npz', **arrays)
  for split, flat in arrays.items():
    source = sources.load('binarized_mnist', split, data_dir=str(tmp_path))
    assert source.info.levels == 2 and source.info.splits == ('train', 'valid', 'test')
    batch = source.get(np.arange(len(flat)))
    assert set(batch) == {'x'}
    assert batch['x'].shape == (len(flat), 28, 28, 1) and batch['x'].dtype == np.uint8
    np.testing.assert_array_equal(batch['x'].reshape(len(flat), 784), flat)


def test_binarized_mnist_missing_key(tmp_path):
  (tmp_path / 'binarized_mnist').mkdir()
  path = tmp_path / 'binarized_mnist' / 'binarized_mnist.npz'
  np.savez(path, train=np.zeros((2, 784), np.uint8))
  with pytest.raises(sources.DatasetCorruptError, match="no key 'valid'") as error:
    sources.load('binarized_mnist', 'valid', data_dir=str(tmp_path))
  assert str(path) in str(error.value)


def test_frey_face_from_synthetic_mat(tmp_path):
  ff = np.random.default_rng(0).integers(0, 256, (560, 210), dtype=np.uint8)
  (tmp_path / 'frey_face').mkdir()
  scipy.io.savemat(tmp_path / 'frey_face' / 'frey_rawface.mat', {'ff': ff})
  train = sources.load('frey_face', 'train', data_dir=str(tmp_path))
  test = sources.load('frey_face', 'test', data_dir=str(tmp_path))
  assert (len(train), len(test)) == (10, 200)
  expected = sources.DatasetInfo('frey_face', 'image', (28, 20, 1), 256, None, ('train', 'test'))
  assert train.info == expected
  first = train.get(np.array([0]))
  assert set(first) == {'x'} and first['x'].dtype == np.uint8
  np.testing.assert_array_equal(first['x'][0, :, :, 0], ff[:, 0].reshape(28, 20))
  last = test.get(np.array([199]))['x'][0, :, :, 0]
  np.testing.assert_array_equal(last, ff[:, -1].reshape(28, 20))


def test_frey_face_without_ff(tmp_path):
  (tmp_path / 'frey_face').mkdir()
  path = tmp_path / 'frey_face' / 'frey_rawface.mat'
  scipy.io.savemat(path, {'faces': np.zeros((560, 210), np.uint8)})
  with pytest.raises(sources.DatasetCorruptError, match="no variable 'ff'") as error:
    sources.load('frey_face', 'train', data_dir=str(tmp_path))
  assert str(path) in str(error.value)


# ------------------------------------------------------------------ real data


def real_data_dir(name: str, files: list[str]) -> str:
  """$GEN_DATA_DIR if it holds the files of ``name``; skips the test otherwise."""
  root = os.environ.get(sources.ENV_VAR)
  if not root:
    pytest.skip(f'{sources.ENV_VAR} is not set: no real {name} data to test')
  missing = [f for f in files if not os.path.isfile(os.path.join(root, name, f))]
  if missing:
    pytest.skip(f'{name} files {missing} not under ${sources.ENV_VAR}/{name}')
  return root


IDX_NAMES = [
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
]


@pytest.mark.parametrize('name', ['mnist', 'fashion_mnist'])
def test_real_mnist_like(name):
  root = real_data_dir(name, IDX_NAMES)
  for split, size in [('train', 60_000), ('test', 10_000)]:
    source = sources.load(name, split, data_dir=root)
    assert len(source) == size
    batch = source.get(np.arange(size))
    assert batch['x'].shape == (size, 28, 28, 1) and batch['x'].dtype == np.uint8
    assert batch['label'].dtype == np.int32
    assert set(np.unique(batch['label'])) == set(range(10))
  if name == 'mnist':
    assert sources.load('mnist', 'train', data_dir=root).get(np.array([0]))['label'][0] == 5


def test_real_binarized_mnist():
  root = real_data_dir('binarized_mnist', ['binarized_mnist.npz'])
  for split, size in [('train', 50_000), ('valid', 10_000), ('test', 10_000)]:
    x = sources.load('binarized_mnist', split, data_dir=root).get(np.arange(size))['x']
    assert x.shape == (size, 28, 28, 1)
    assert set(np.unique(x)) == {0, 1}


def test_real_frey_face():
  root = real_data_dir('frey_face', ['frey_rawface.mat'])
  sizes = [len(sources.load('frey_face', split, data_dir=root)) for split in ('train', 'test')]
  assert sizes == [1765, 200]


# ----------------------------------------------------------------------- TFDS


def build_tiny_tfds_mnist(tfds_dir, images, labels):
  """Writes a real array_record 'mnist' dataset (train split only) with TFDS.

  tfds.testing.mock_data cannot serve this test: its mocked array_record
  source breaks on __getitems__ and it never reports the dataset prepared.
  So a subclass of TFDS's own MNIST builder (same name, version and
  features, unregistered) writes tiny real files instead. Images are given
  as PIL images because TFDS encodes numpy images to PNG with TensorFlow.
  """
  import tensorflow_datasets as tfds
  from PIL import Image
  from tensorflow_datasets.image_classification import mnist as tfds_mnist

  class TinyMnist(tfds_mnist.MNIST, skip_registration=True):
    name = 'mnist'

    def _split_generators(self, dl_manager):
      return {'train': self._generate_examples()}

    def _generate_examples(self):
      for i, (image, label) in enumerate(zip(images, labels)):
        yield i, {'image': Image.fromarray(image[..., 0]), 'label': int(label)}

  TinyMnist(data_dir=tfds_dir).download_and_prepare(
      file_format='array_record',
      download_config=tfds.download.DownloadConfig(try_download_gcs=False),
  )


def test_tfds_source_reads_real_array_record(tmp_path):
  pytest.importorskip('tensorflow_datasets')
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
  labels = rng.integers(0, 10, 5)
  build_tiny_tfds_mnist(str(tmp_path / 'tfds'), images, labels)
  source = sources.load('tfds:mnist', 'train', data_dir=str(tmp_path))
  assert isinstance(source, sources.TfdsSource) and len(source) == 5
  expected = sources.DatasetInfo('tfds:mnist', 'image', (28, 28, 1), 256, 10, ('train',))
  assert source.info == expected
  batch = source.get(np.arange(5))
  assert batch['x'].shape == (5, 28, 28, 1) and batch['x'].dtype == np.uint8
  assert batch['label'].dtype == np.int32
  # TFDS shuffles examples when writing: compare as a set of (image, label) pairs.
  written = {(image.tobytes(), int(label)) for image, label in zip(images, labels)}
  read = {(image.tobytes(), int(label)) for image, label in zip(batch['x'], batch['label'])}
  assert read == written
  np.testing.assert_array_equal(source.get(np.array([3, 1]))['x'], batch['x'][[3, 1]])
  assert source.get(np.array([], int))['x'].shape == (0, 28, 28, 1)
  with pytest.raises(ValueError, match="'test'"):
    sources.load('tfds:mnist', 'test', data_dir=str(tmp_path))


def test_tfds_through_mock_data(monkeypatch):
  tfds = pytest.importorskip('tensorflow_datasets')
  from tensorflow_datasets.core.data_sources import base

  # Under tfds 4.9.10's mock the batched read fails (the mocked reader's
  # _getitems misses an argument); read one example at a time instead, the
  # source's own fallback. The real batched read is tested above.
  monkeypatch.delattr(base.BaseDataSource, '__getitems__')
  with tfds.testing.mock_data(num_examples=12):
    source = sources.load('tfds:mnist', 'train')
    assert isinstance(source, sources.TfdsSource) and len(source) == 12
    assert source.info.shape == (28, 28, 1) and source.info.num_classes == 10
    batch = source.get(np.array([4, 0, 7]))
  assert batch['x'].shape == (3, 28, 28, 1) and batch['x'].dtype == np.uint8
  assert batch['label'].dtype == np.int32 and batch['label'].shape == (3,)


def test_tfds_not_prepared(tmp_path):
  pytest.importorskip('tensorflow_datasets')
  with pytest.raises(sources.DatasetNotFoundError) as error:
    sources.load('tfds:mnist', 'train', data_dir=str(tmp_path))
  message = str(error.value)
  assert str(tmp_path / 'tfds') in message and 'python -m gen.data.prepare mnist' in message


def test_tfds_source_reads_one_by_one_without_getitems():
  info = sources.DatasetInfo('tfds:fake', 'image', (2, 2, 1), 256, None, ('train',))
  examples = [{'image': np.full((2, 2, 1), i, np.uint8)} for i in range(3)]
  batch = sources.TfdsSource(info, examples, has_label=False).get(np.array([2, 1]))
  assert set(batch) == {'x'}
  np.testing.assert_array_equal(batch['x'][:, 0, 0, 0], [2, 1])


# -------------------------------------------------------------------- prepare


def test_prepare_without_tensorflow_says_how_to_install(tmp_path):
  if importlib.util.find_spec('tensorflow') is not None:
    pytest.skip('tensorflow is installed: the missing-tensorflow message cannot be triggered')
  result = subprocess.run(
      [sys.executable, '-m', 'gen.data.prepare', 'mnist', '--manual_dir', str(tmp_path)],
      cwd=REPO_ROOT,
      capture_output=True,
      text=True,
      timeout=120,
  )
  assert result.returncode != 0
  assert 'requirements-prepare.txt' in result.stderr
