"""CIFAR-10 from its official binary files (gen.data.sources, name 'cifar10'), on small
synthetic files in exactly the official format; the real files only under $GEN_DATA_DIR."""

import io
import os
import tarfile

import numpy as np
import pytest

from gen.data import sources

FOLDER = 'cifar-10-batches-bin'
TRAIN_FILES = [f'data_batch_{i}.bin' for i in range(1, 6)]
TEST_FILE = 'test_batch.bin'
TRAIN_PER_FILE = [2, 1, 1, 2, 1]  # 7 train records over the 5 batch files
NUM_TEST = 3


def make_images(first_index, n):
  """n images, each pixel value distinct per (image, channel, row, col) modulo 256:
  x[i, h, w, c] = (7 (first_index + i) + 89 c + 13 h + 3 w) mod 256."""
  i = np.arange(first_index, first_index + n)[:, None, None, None]
  h, w = np.arange(32)[None, :, None, None], np.arange(32)[None, None, :, None]
  c = np.arange(3)[None, None, None, :]
  return ((7 * i + 89 * c + 13 * h + 3 * w) % 256).astype(np.uint8)


def to_records(images, labels):
  """The official layout: per record the label byte, then the R, G and B 32x32 planes."""
  planes = images.transpose(0, 3, 1, 2).reshape(len(images), 3 * 1024)  # channel-major
  return np.concatenate([labels.astype(np.uint8)[:, None], planes], axis=1).tobytes()


def dataset():
  """{file name: bytes} of the batch files, and the expected (images, labels) per split."""
  files, expected, start = {}, {}, 0
  train_images, train_labels = [], []
  for name, n in zip(TRAIN_FILES, TRAIN_PER_FILE):
    images, labels = make_images(start, n), (np.arange(start, start + n) * 3) % 10
    files[name] = to_records(images, labels)
    train_images.append(images)
    train_labels.append(labels)
    start += n
  expected['train'] = np.concatenate(train_images), np.concatenate(train_labels)
  test_images, test_labels = make_images(100, NUM_TEST), np.array([9, 0, 4])
  files[TEST_FILE] = to_records(test_images, test_labels)
  expected['test'] = test_images, test_labels
  return files, expected


def write_tarball(path, files):
  """A gzipped tar with the members cifar-10-batches-bin/<name> (and the meta file)."""
  members = dict(files, **{'batches.meta.txt': b'airplane\nautomobile\n'})
  with tarfile.open(path, 'w:gz') as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(f'{FOLDER}/{name}')
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))


def write_folder(folder, files):
  folder.mkdir(parents=True)
  for name, data in files.items():
    (folder / name).write_bytes(data)


def check_split(data_dir, split, expected):
  images, labels = expected
  source = sources.load('cifar10', split, data_dir=str(data_dir))
  assert len(source) == len(images)
  info = sources.DatasetInfo('cifar10', 'image', (32, 32, 3), 256, 10, ('train', 'test'))
  assert source.info == info
  batch = source.get(np.arange(len(images)))
  assert set(batch) == {'x', 'label'}
  assert batch['x'].dtype == np.uint8 and batch['x'].shape == (len(images), 32, 32, 3)
  assert batch['label'].dtype == np.int32
  np.testing.assert_array_equal(batch['x'], images)
  np.testing.assert_array_equal(batch['label'], labels)


def test_reads_the_tarball(tmp_path):
  files, expected = dataset()
  (tmp_path / 'cifar10').mkdir()
  write_tarball(tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz', files)
  for split in ('train', 'test'):
    check_split(tmp_path, split, expected[split])
  # Spot checks of the layout by hand: record 0 of data_batch_1 is image 0, label 0; its
  # pixel (row 1, col 2) is R = 13 + 6, G = 89 + 19, B = 178 + 19; record 3 (image 3) is
  # the first record of data_batch_3, label 9.
  x = sources.load('cifar10', 'train', data_dir=str(tmp_path)).get(np.array([0, 3]))
  np.testing.assert_array_equal(x['x'][0, 1, 2], [19, 108, 197])
  assert x['label'].tolist() == [0, 9]
  assert files['data_batch_1.bin'][0] == 0 and files['data_batch_1.bin'][1 + 32 + 2] == 19


def test_reads_the_extracted_folder(tmp_path):
  files, expected = dataset()
  write_folder(tmp_path / 'cifar10' / FOLDER, files)
  for split in ('train', 'test'):
    check_split(tmp_path, split, expected[split])


def test_complete_folder_is_read_before_the_tarball(tmp_path):
  files, expected = dataset()
  write_folder(tmp_path / 'cifar10' / FOLDER, files)
  other = {name: bytes(len(data)) for name, data in files.items()}  # all zeros
  write_tarball(tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz', other)
  check_split(tmp_path, 'test', expected['test'])


def test_partial_folder_falls_back_to_the_tarball(tmp_path):
  files, expected = dataset()
  write_folder(tmp_path / 'cifar10' / FOLDER, {TEST_FILE: files[TEST_FILE]})
  write_tarball(tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz', files)
  check_split(tmp_path, 'train', expected['train'])


def test_truncated_batch_file_is_corrupt(tmp_path):
  files, _ = dataset()
  files['data_batch_4.bin'] = files['data_batch_4.bin'][:-100]
  write_folder(tmp_path / 'cifar10' / FOLDER, files)
  with pytest.raises(sources.DatasetCorruptError, match='3073-byte records') as error:
    sources.load('cifar10', 'train', data_dir=str(tmp_path))
  assert str(tmp_path / 'cifar10' / FOLDER / 'data_batch_4.bin') in str(error.value)
  check_split(tmp_path, 'test', dataset()[1]['test'])  # the other split is intact


def test_truncated_member_in_the_tarball_is_corrupt(tmp_path):
  files, _ = dataset()
  files[TEST_FILE] = files[TEST_FILE][:3073 + 5]
  path = tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz'
  path.parent.mkdir()
  write_tarball(path, files)
  with pytest.raises(sources.DatasetCorruptError) as error:
    sources.load('cifar10', 'test', data_dir=str(tmp_path))
  assert f'{path}:{FOLDER}/{TEST_FILE}' in str(error.value)


def test_truncated_tarball_is_corrupt(tmp_path):
  files, _ = dataset()
  path = tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz'
  path.parent.mkdir()
  write_tarball(path, files)
  path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
  with pytest.raises(sources.DatasetCorruptError) as error:
    sources.load('cifar10', 'test', data_dir=str(tmp_path))
  assert str(path) in str(error.value)


def test_tarball_without_the_batches_is_corrupt(tmp_path):
  files, _ = dataset()
  path = tmp_path / 'cifar10' / 'cifar-10-binary.tar.gz'
  path.parent.mkdir()
  write_tarball(path, {TEST_FILE: files[TEST_FILE]})
  with pytest.raises(sources.DatasetCorruptError, match='data_batch_1.bin') as error:
    sources.load('cifar10', 'train', data_dir=str(tmp_path))
  assert str(path) in str(error.value)


def test_bad_label_is_corrupt(tmp_path):
  files, _ = dataset()
  files[TEST_FILE] = b'\x0a' + files[TEST_FILE][1:]
  write_folder(tmp_path / 'cifar10' / FOLDER, files)
  with pytest.raises(sources.DatasetCorruptError, match='label 10 in record 0'):
    sources.load('cifar10', 'test', data_dir=str(tmp_path))


def test_missing_files_are_not_found(tmp_path, monkeypatch):
  monkeypatch.delenv(sources.ENV_VAR, raising=False)
  with pytest.raises(sources.DatasetNotFoundError) as error:
    sources.load('cifar10', 'train', data_dir=str(tmp_path / 'empty'))
  message = str(error.value)
  assert 'cifar-10-binary.tar.gz or cifar-10-batches-bin/' in message and 'GEN_DATA_DIR' in message
  assert str(tmp_path / 'empty' / 'cifar10') in message
  with pytest.raises(sources.DatasetNotFoundError, match='no data dir'):
    sources.load('cifar10', 'test')
  # A folder lacking a batch of the split, and no tarball.
  files, _ = dataset()
  del files['data_batch_2.bin']
  write_folder(tmp_path / 'partial' / 'cifar10' / FOLDER, files)
  with pytest.raises(sources.DatasetNotFoundError, match=r"lacks \['data_batch_2.bin'\]"):
    sources.load('cifar10', 'train', data_dir=str(tmp_path / 'partial'))


def test_real_cifar10():
  root = os.environ.get(sources.ENV_VAR)
  folder = os.path.join(root or '', 'cifar10')
  names = ('cifar-10-binary.tar.gz', FOLDER)
  if not root or not any(os.path.exists(os.path.join(folder, n)) for n in names):
    pytest.skip(f'no cifar10 files under ${sources.ENV_VAR}/cifar10')
  for split, size in [('train', 50_000), ('test', 10_000)]:
    source = sources.load('cifar10', split, data_dir=root)
    assert len(source) == size
    labels = source.get(np.arange(size))['label']
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [size // 10] * 10)
