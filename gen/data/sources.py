"""Datasets as random-access sources: ``load(name, split)`` -> ``get(indices)``.

Every source returns ``{'x': ..., 'label': ...}`` batches: images are uint8
NHWC (C=1 for grayscale) with ``info.levels`` intensity levels, 2D points are
float32 (N, 2), labels are int32 (absent for unlabelled datasets).

Files are read from ``<data dir>/<name>/``, where the data dir is the
``data_dir`` argument (the config key ``data.dir``), else the environment
variable ``GEN_DATA_DIR``.

- ``mnist`` (LeCun et al. 1998) and ``fashion_mnist`` (Xiao et al. 2017): the
  original gzipped IDX files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``;
  splits train (60000) and test (10000), 10 classes.
- ``binarized_mnist``: the fixed binarization of MNIST used for likelihood
  benchmarks (Larochelle & Murray 2011, "The Neural Autoregressive Distribution
  Estimator"), as ``binarized_mnist.npz`` with keys train/valid/test, each
  (N, 784) uint8 in {0, 1} (50000/10000/10000); levels=2, no labels.
- ``frey_face``: the Frey Face images used by Kingma & Welling 2014
  ("Auto-Encoding Variational Bayes"), ``frey_rawface.mat`` with variable
  ``ff`` uint8 (560, 1965), column i being a 28x20 image. There is no official
  split: here test = the last 200 images, train = the rest (the first 1765).
  No labels.
- ``cifar10`` (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny
  Images"): the official binary version, ``cifar-10-binary.tar.gz`` or its
  extracted folder ``cifar-10-batches-bin/``; splits train (50000, data_batch_1..5)
  and test (10000, test_batch), 32x32 RGB, 10 classes. ``tfds:cifar10`` (below)
  reads TFDS's prepared copy of the same data instead.
- ``digits``: scikit-learn's bundled 8x8 handwritten digits (UCI), values
  0..16 mapped to uint8 by round(v * 255 / 16); train = the first 1497
  images, test = the last 300. No files needed.
- ``ring8``, ``grid25``: 2D Gaussian mixtures, see ``gen.data.toy2d``.
- ``dsprites``: a rendered stand-in for dSprites (Matthey et al. 2017), 64x64 binary images
  (levels=2) with DeepMind's five factors; train = all 737,280, test = a fixed subset of
  10,000 of them. Rendered on demand, no files needed; batches carry ``'factors'`` (N, 5)
  int32 instead of ``'label'``. See ``gen.data.dsprites``.
- ``tfds:<name>``: a TFDS dataset with an ``image`` feature, prepared in
  array_record format under ``<data dir>/tfds`` (TFDS's default data dir when
  no data dir is set; see ``gen.data.prepare``), read with
  ``tfds.data_source`` (random access, no TensorFlow needed).

Loaded splits are cached per (name, split, data dir), so a second ``load`` is
free; cached arrays are read-only (``get`` returns fresh copies).
"""

import contextlib
import dataclasses
import functools
import gzip
import importlib.util
import math
import os
import tarfile
import zipfile
import zlib
from typing import Callable

import numpy as np

from gen.config import ConfigError
from gen.data import dsprites, toy2d

TFDS_PREFIX = 'tfds:'
ENV_VAR = 'GEN_DATA_DIR'


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  name: str
  kind: str  # 'image' or 'points'
  shape: tuple  # per-example shape of x
  levels: int | None  # discrete intensity levels of image x; None for points
  num_classes: int | None
  splits: tuple


class DatasetNotFoundError(FileNotFoundError):
  """The dataset's files (or prepared TFDS dataset) are not where we looked."""


class DatasetCorruptError(ValueError):
  """A dataset file exists but is malformed."""


class ArraySource:
  """Random access over in-memory arrays ``x`` (N, ...) and ``label`` (N,)."""

  def __init__(self, info: DatasetInfo, x: np.ndarray, label: np.ndarray | None = None):
    if label is not None and len(label) != len(x):
      raise ValueError(f'{info.name}: {len(x)} examples but {len(label)} labels')
    self.info = info
    self.x = x
    self.label = label

  def __len__(self) -> int:
    return len(self.x)

  def get(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    indices = np.asarray(indices)
    batch = {'x': self.x[indices]}
    if self.label is not None:
      batch['label'] = self.label[indices]
    return batch


class TfdsSource:
  """Same interface as ``ArraySource`` over a ``tfds.data_source``."""

  def __init__(self, info: DatasetInfo, data_source, has_label: bool):
    self.info = info
    self._source = data_source
    self._has_label = has_label

  def __len__(self) -> int:
    return len(self._source)

  def get(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    keys = np.asarray(indices).reshape(-1).tolist()
    examples = self._read(keys)
    x = np.asarray([e['image'] for e in examples], dtype=np.uint8)
    batch = {'x': x.reshape((len(keys),) + self.info.shape)}
    if self._has_label:
      batch['label'] = np.asarray([e['label'] for e in examples], dtype=np.int32)
    return batch

  def _read(self, keys: list[int]) -> list[dict]:
    # __getitems__ reads a batch in one parallel array_record lookup.
    getitems = getattr(self._source, '__getitems__', None)
    if getitems is not None:
      return getitems(keys)
    return [self._source[k] for k in keys]


def resolve_data_dir(data_dir: str | None) -> str | None:
  """``data_dir`` if given (non-empty), else ``$GEN_DATA_DIR``, else None."""
  return data_dir or os.environ.get(ENV_VAR) or None


def tfds_data_dir(data_dir: str | None) -> str | None:
  """TFDS data dir for a resolved data dir: ``<data_dir>/tfds``, else None (TFDS default)."""
  return None if data_dir is None else os.path.join(data_dir, 'tfds')


# ---------------------------------------------------------------- file readers


@contextlib.contextmanager
def _parsing(path: str):
  """Turns a parser's failure on a malformed file into DatasetCorruptError."""
  try:
    yield
  except (DatasetCorruptError, FileNotFoundError, PermissionError):
    raise
  except (EOFError, OSError, ValueError, zlib.error, zipfile.BadZipFile, tarfile.TarError) as e:
    raise DatasetCorruptError(
        f'{path}: cannot parse it ({type(e).__name__}: {e}); the file is truncated '
        'or not in the expected format: download it again.'
    ) from e


def read_idx(path: str, magic: int) -> np.ndarray:
  """Reads a gzipped IDX file of unsigned bytes whose magic number must be ``magic``.

  IDX (LeCun et al. 1998): big-endian uint32 magic 0x0000TTDD (TT=0x08 for
  unsigned bytes, DD = number of dimensions), DD uint32 sizes, then the data.
  """
  with _parsing(path), gzip.open(path, 'rb') as f:
    raw = f.read()
  found = int.from_bytes(raw[:4], 'big')
  if found != magic:
    raise DatasetCorruptError(
        f'{path}: bad magic number {found} (expected {magic}); '
        'it is not the expected IDX file: download it again.'
    )
  ndim = magic & 0xFF
  header_bytes = 4 * (1 + ndim)
  if len(raw) < header_bytes:
    raise DatasetCorruptError(
        f'{path}: {len(raw)} bytes, shorter than its IDX header: download it again.'
    )
  shape = tuple(np.frombuffer(raw, dtype='>u4', count=ndim, offset=4).tolist())
  if len(raw) - header_bytes != math.prod(shape):
    raise DatasetCorruptError(
        f'{path}: header says shape {shape} ({math.prod(shape)} bytes of data) '
        f'but the file has {len(raw) - header_bytes}: download it again.'
    )
  return np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape(shape)


_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_IDX_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}


def _read_mnist_like(directory: str, split: str):
  images_path, labels_path = (os.path.join(directory, f) for f in _IDX_FILES[split])
  images = read_idx(images_path, _IDX_IMAGES_MAGIC)
  labels = read_idx(labels_path, _IDX_LABELS_MAGIC)
  if images.shape[1:] != (28, 28):
    raise DatasetCorruptError(
        f'{images_path}: images are {images.shape[1:]}, expected (28, 28): download it again.'
    )
  if len(labels) != len(images):
    raise DatasetCorruptError(
        f'{images_path} has {len(images)} images but {labels_path} has {len(labels)} '
        'labels: download both again.'
    )
  return images[..., None], labels.astype(np.int32)


def _read_binarized_mnist(directory: str, split: str):
  path = os.path.join(directory, 'binarized_mnist.npz')
  with _parsing(path), np.load(path, allow_pickle=False) as npz:
    if split not in npz.files:
      raise DatasetCorruptError(
          f'{path}: no key {split!r} (keys: {npz.files}); expected train/valid/test, '
          'each (N, 784) uint8 in {0, 1}.'
      )
    flat = npz[split]
  if flat.ndim != 2 or flat.shape[1] != 784 or flat.dtype != np.uint8 or flat.max(initial=0) > 1:
    raise DatasetCorruptError(
        f'{path}: {split!r} is {flat.dtype} {flat.shape} with max {flat.max(initial=0)}, '
        'expected (N, 784) uint8 in {0, 1}.'
    )
  return flat.reshape(-1, 28, 28, 1), None


_FREY_TEST_SIZE = 200


def _read_frey_face(directory: str, split: str):
  path = os.path.join(directory, 'frey_rawface.mat')
  with _parsing(path):
    import scipy.io  # pylint: disable=import-outside-toplevel  (slow to import; Frey Face only)

    mat = scipy.io.loadmat(path)
  if 'ff' not in mat:
    found = sorted(k for k in mat if not k.startswith('__'))
    raise DatasetCorruptError(
        f"{path}: no variable 'ff' (found {found}); expected ff, uint8 (560, N), "
        'one 28x20 image per column: download frey_rawface.mat again.'
    )
  ff = mat['ff']
  bad_shape = ff.ndim != 2 or ff.shape[0] != 28 * 20 or ff.shape[1] <= _FREY_TEST_SIZE
  if bad_shape or ff.dtype != np.uint8:
    raise DatasetCorruptError(
        f"{path}: 'ff' is {ff.dtype} {ff.shape}, expected uint8 (560, N) with "
        f'N > {_FREY_TEST_SIZE} (1965 in the original file).'
    )
  images = np.ascontiguousarray(ff.T).reshape(-1, 28, 20, 1)
  part = slice(None, -_FREY_TEST_SIZE) if split == 'train' else slice(-_FREY_TEST_SIZE, None)
  return images[part], None


_CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz'
_CIFAR10_FOLDER = 'cifar-10-batches-bin'
_CIFAR10_BATCHES = {
    'train': tuple(f'data_batch_{i}.bin' for i in range(1, 6)),
    'test': ('test_batch.bin',),
}
_CIFAR10_RECORD_BYTES = 1 + 3 * 32 * 32


def _read_cifar10(directory: str, split: str):
  """CIFAR-10 from the official binary files, never from the "python version": its
  batches are pickles, and unpickling a file can execute arbitrary code.

  Each batch file is a sequence of 3073-byte records (10000 per original file): 1 label
  byte (0..9), then 1024 red, 1024 green and 1024 blue bytes, each a row-major 32x32
  plane; returned as NHWC. Reads ``cifar-10-batches-bin/<batch>`` under ``directory``
  when the folder holds every batch of the split, else the members of the same names in
  ``cifar-10-binary.tar.gz`` (read into memory, nothing is extracted to disk).
  """
  folder = os.path.join(directory, _CIFAR10_FOLDER)
  archive = os.path.join(directory, _CIFAR10_ARCHIVE)
  paths = [os.path.join(folder, name) for name in _CIFAR10_BATCHES[split]]
  missing = [os.path.basename(p) for p in paths if not os.path.isfile(p)]
  if not missing:
    raws = []
    for path in paths:
      with _parsing(path), open(path, 'rb') as f:
        raws.append((path, f.read()))
  elif os.path.isfile(archive):
    raws = _read_tar_members(archive, [f'{_CIFAR10_FOLDER}/{n}' for n in _CIFAR10_BATCHES[split]])
  else:
    raise DatasetNotFoundError(
        f"dataset 'cifar10' ({split!r} split): {folder} lacks {missing} and there is no "
        f'{archive}: put the official cifar-10-binary.tar.gz there, or extract all of it.'
    )
  images, labels = zip(*(_cifar10_records(where, raw) for where, raw in raws))
  return np.concatenate(images), np.concatenate(labels)


def _read_tar_members(archive: str, members: list[str]) -> list[tuple[str, bytes]]:
  """The bytes of ``members`` of a .tar.gz, in one pass over it, as (``archive:member``, bytes)."""
  found = {}
  with _parsing(archive), tarfile.open(archive, 'r:gz') as tar:
    for info in tar:
      name = info.name.removeprefix('./')
      if name in members and info.isfile():
        found[name] = tar.extractfile(info).read()
        if len(found) == len(members):
          break
  absent = [m for m in members if m not in found]
  if absent:
    raise DatasetCorruptError(
        f'{archive}: no member(s) {absent}; it is not the binary CIFAR-10 archive '
        f'(cifar-10-binary.tar.gz, with {_CIFAR10_FOLDER}/*.bin): download it again.'
    )
  return [(f'{archive}:{m}', found[m]) for m in members]


def _cifar10_records(where: str, raw: bytes):
  """(images (N, 32, 32, 3) uint8, labels (N,) int32) of one batch file's bytes."""
  if not raw or len(raw) % _CIFAR10_RECORD_BYTES:
    raise DatasetCorruptError(
        f'{where}: {len(raw)} bytes, not a whole number of {_CIFAR10_RECORD_BYTES}-byte '
        'records (10000 in an original batch file): the file is truncated or not '
        'binary CIFAR-10: download it again.'
    )
  records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _CIFAR10_RECORD_BYTES)
  labels = records[:, 0]
  if labels.max() > 9:
    raise DatasetCorruptError(
        f'{where}: label {labels.max()} in record {int(np.argmax(labels > 9))}, expected 0..9; '
        'it is not binary CIFAR-10: download it again.'
    )
  images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
  return np.ascontiguousarray(images), labels.astype(np.int32)


_DIGITS_TEST_SIZE = 300


def _digits_table() -> np.ndarray:
  """scikit-learn's digits file (1797 rows: 64 pixel values 0..16, then the label), read as
  `sklearn.datasets.load_digits` reads it but without importing sklearn, which takes 1.5-2 s
  of a command-line run's start-up (most runs of the smoke presets train on digits); the
  loader itself where the file is not where sklearn has kept it."""
  spec = importlib.util.find_spec('sklearn')  # finds the package without importing it
  folders = spec.submodule_search_locations if spec is not None else None
  path = os.path.join(folders[0], 'datasets', 'data', 'digits.csv.gz') if folders else ''
  if not os.path.isfile(path):
    from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel

    x, y = load_digits(return_X_y=True)
    return np.concatenate([x, y[:, None]], axis=1)
  with gzip.open(path, 'rt') as f:
    return np.loadtxt(f, delimiter=',')


def _read_digits(directory: None, split: str):
  table = _digits_table()
  images = np.round(table[:, :-1].reshape(-1, 8, 8) * 255 / 16).astype(np.uint8)[..., None]
  labels = table[:, -1].astype(np.int32)
  part = slice(None, -_DIGITS_TEST_SIZE) if split == 'train' else slice(-_DIGITS_TEST_SIZE, None)
  return images[part], labels[part]


def _read_mixture(name: str, directory: None, split: str):
  return toy2d.sample_split(name, split)


# ------------------------------------------------------------------- registry


@dataclasses.dataclass(frozen=True)
class _LocalDataset:
  info: DatasetInfo
  read: Callable  # (directory | None, split) -> (x, label | None)
  # Needed under <data dir>/<name>/; empty: no files needed. An entry that is a tuple is a
  # set of alternatives, any one of which will do; a name ending in '/' is a folder.
  files: tuple = ()
  origin: str = ''  # where to get the files, for error messages
  # (split, info) -> source, for a dataset rendered on demand rather than read into arrays.
  make_source: Callable | None = None


def _image_info(name, shape, levels, num_classes, splits=('train', 'test')):
  return DatasetInfo(name, 'image', shape, levels, num_classes, splits)


def _points_info(name):
  num_components = len(toy2d.MIXTURES[name].centres)
  return DatasetInfo(name, 'points', (2,), None, num_components, tuple(toy2d.SPLITS))


_IDX_ALL_FILES = tuple(f for pair in _IDX_FILES.values() for f in pair)
_DATASETS = {
    'mnist': _LocalDataset(
        _image_info('mnist', (28, 28, 1), 256, 10),
        _read_mnist_like,
        _IDX_ALL_FILES,
        'the original MNIST files, e.g. from https://storage.googleapis.com/cvdf-datasets/mnist/',
    ),
    'fashion_mnist': _LocalDataset(
        _image_info('fashion_mnist', (28, 28, 1), 256, 10),
        _read_mnist_like,
        _IDX_ALL_FILES,
        'the original files from https://github.com/zalandoresearch/fashion-mnist',
    ),
    'binarized_mnist': _LocalDataset(
        _image_info('binarized_mnist', (28, 28, 1), 2, None, ('train', 'valid', 'test')),
        _read_binarized_mnist,
        ('binarized_mnist.npz',),
        'an .npz with keys train/valid/test, each (N, 784) uint8 0/1, made from '
        'binarized_mnist_{train,valid,test}.amat of Larochelle & Murray 2011',
    ),
    'frey_face': _LocalDataset(
        _image_info('frey_face', (28, 20, 1), 256, None),
        _read_frey_face,
        ('frey_rawface.mat',),
        'from https://cs.nyu.edu/~roweis/data/frey_rawface.mat',
    ),
    'cifar10': _LocalDataset(
        _image_info('cifar10', (32, 32, 3), 256, 10),
        _read_cifar10,
        ((_CIFAR10_ARCHIVE, _CIFAR10_FOLDER + '/'),),
        'the binary version from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, '
        'or its extracted folder; not the python version, whose pickles run code when loaded',
    ),
    'digits': _LocalDataset(_image_info('digits', (8, 8, 1), 256, 10), _read_digits),
    'dsprites': _LocalDataset(
        _image_info('dsprites', dsprites.SHAPE, dsprites.levels, None, dsprites.SPLITS),
        read=None,
        make_source=dsprites.source,
    ),
    'ring8': _LocalDataset(_points_info('ring8'), functools.partial(_read_mixture, 'ring8')),
    'grid25': _LocalDataset(_points_info('grid25'), functools.partial(_read_mixture, 'grid25')),
}


def names() -> list[str]:
  """Every accepted local name; any ``tfds:<tfds name>`` is accepted too."""
  return list(_DATASETS)


def local_info(name: str) -> DatasetInfo | None:
  """The info of a built-in or file dataset, without reading it; None for ``tfds:`` and
  unknown names (TFDS splits and shapes are known only once the dataset is opened)."""
  dataset = _DATASETS.get(name)
  return None if dataset is None else dataset.info


# ----------------------------------------------------------------------- load


def load(name: str, split: str, data_dir: str | None = None) -> ArraySource | TfdsSource:
  """The source of one split; ``data_dir`` defaults to ``$GEN_DATA_DIR``."""
  root = resolve_data_dir(data_dir)
  if root is not None:
    root = os.path.abspath(os.path.expanduser(root))
  if name.startswith(TFDS_PREFIX):
    return _load_tfds(name[len(TFDS_PREFIX) :], split, root)
  if name not in _DATASETS:
    raise ConfigError(
        f'unknown dataset {name!r}; valid: {names()} '
        f'or {TFDS_PREFIX}<TFDS name> (e.g. tfds:mnist)'
    )
  dataset = _DATASETS[name]
  _check_split(dataset.info, split)
  # Datasets without files do not depend on the data dir: one cache entry.
  return _load_local(name, split, root if dataset.files else None)


def _check_split(info: DatasetInfo, split: str) -> None:
  if split not in info.splits:
    raise ConfigError(f'unknown split {split!r} of {info.name!r}; valid: {list(info.splits)}')


@functools.lru_cache(maxsize=None)
def _load_local(name: str, split: str, root: str | None) -> ArraySource:
  dataset = _DATASETS[name]
  if dataset.make_source is not None:
    return dataset.make_source(split, dataset.info)
  directory = None
  if dataset.files:
    directory = _require_files(dataset, root)
  x, label = dataset.read(directory, split)
  x.flags.writeable = False  # shared through the cache
  if label is not None:
    label.flags.writeable = False
  return ArraySource(dataset.info, x, label)


def _require_files(dataset: _LocalDataset, root: str | None) -> str:
  """The dataset's directory, or DatasetNotFoundError saying where to put what."""
  name = dataset.info.name
  entries = [entry if isinstance(entry, tuple) else (entry,) for entry in dataset.files]
  how = (
      f'Put {", ".join(" or ".join(entry) for entry in entries)} ({dataset.origin}) in '
      f'<data dir>/{name}/, where the data dir is the data_dir argument (config key '
      f'data.dir), else ${ENV_VAR}.'
  )
  if root is None:
    raise DatasetNotFoundError(
        f'dataset {name!r} needs files but no data dir is set (looked at no path): '
        f'set the environment variable {ENV_VAR} or the config key data.dir. {how}'
    )
  directory = os.path.join(root, name)
  paths = [os.path.join(directory, f) for entry in entries for f in entry]
  missing = [entry for entry in entries if not any(_present(directory, f) for f in entry)]
  if missing:
    raise DatasetNotFoundError(
        f'dataset {name!r} not found: looked for {paths}; '
        f'missing: {[" or ".join(entry) for entry in missing]}. {how}'
    )
  return directory


def _present(directory: str, name: str) -> bool:
  path = os.path.join(directory, name)
  return os.path.isdir(path) if name.endswith('/') else os.path.isfile(path)


@functools.lru_cache(maxsize=None)
def _load_tfds(name: str, split: str, root: str | None) -> TfdsSource:
  import tensorflow_datasets as tfds  # imported here: only tfds: names need it

  tfds_dir = tfds_data_dir(root)
  try:
    source = tfds.data_source(name, split=split, data_dir=tfds_dir, download=False)
  except Exception as e:  # TFDS raises several types for a dataset it cannot serve
    if tfds.builder(name, data_dir=tfds_dir).is_prepared():
      raise  # prepared, so the problem is elsewhere (e.g. the split or the file format)
    raise _tfds_not_prepared(name, tfds_dir, root) from e
  info, has_label = _tfds_info(name, source.dataset_info, split)
  return TfdsSource(info, source, has_label)


def _tfds_not_prepared(name: str, tfds_dir: str | None, root: str | None) -> DatasetNotFoundError:
  where = (
      f'the TFDS data dir {tfds_dir} (<data dir>/tfds)'
      if tfds_dir
      else 'the default TFDS data dir, since neither data_dir (config key data.dir) '
      f'nor ${ENV_VAR} is set'
  )
  # The local layout <data dir>/<name>/ holds the original files TFDS needs.
  manual_dir = os.path.join(root, name) if root else None
  if manual_dir is None or not os.path.isdir(manual_dir):
    manual_dir = 'DIR_WITH_THE_ORIGINAL_FILES'
  return DatasetNotFoundError(
      f'TFDS dataset {name!r} is not prepared (in array_record format) in {where}. '
      f'Prepare it with: python -m gen.data.prepare {name} --manual_dir {manual_dir}'
      + (f' --data_dir {tfds_dir}' if tfds_dir else '')
      + ' (needs pip install -r requirements-prepare.txt).'
  )


def _tfds_info(name: str, dataset_info, split: str) -> tuple[DatasetInfo, bool]:
  features = dataset_info.features
  image = features['image'] if 'image' in features else None
  if image is None or image.np_dtype != np.uint8 or None in image.shape:
    raise ValueError(
        f'TFDS dataset {name!r} needs a fixed-shape uint8 feature "image"; features: {features}'
    )
  label = features['label'] if 'label' in features else None
  info = DatasetInfo(
      name=TFDS_PREFIX + name,
      kind='image',
      shape=tuple(image.shape),
      levels=256,
      num_classes=getattr(label, 'num_classes', None),
      splits=tuple(dataset_info.splits) or (split,),
  )
  return info, label is not None
