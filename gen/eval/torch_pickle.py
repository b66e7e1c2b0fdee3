"""Reads PyTorch `torch.save` state dicts without torch and without running pickled code.

A `.pth` file is a pickle whose tensors are rebuilt by calling
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`, where each
storage is a persistent id `('storage', <torch.FloatStorage etc.>, key, location,
numel[, view_metadata])` whose bytes lie outside the pickle. Layout as written
and read by `torch/serialization.py` (`_legacy_save` / `_legacy_load`, and
`_save` / `_load` for the zip format):

* legacy (torch < 1.6, e.g. the FID Inception weights): five pickles in a row --
  magic number 0x1950a86a20f9469cfc6c, protocol version 1001, sys_info, the
  object, the list of storage keys -- then for each key in that order an int64
  element count and the raw bytes, all little-endian;
* zip (torch >= 1.6): `<folder>/data.pkl` plus one record `<folder>/data/<key>`
  of raw bytes per storage.

Unpickling goes through `_RestrictedUnpickler`: `find_class` resolves only
`collections.OrderedDict`, the torch tensor-rebuild functions (replaced by
stand-ins that record offset, size and stride) and the storage classes
(replaced by dtype markers). Any other global raises `UnsafePickleError` naming
it, so no code from the file runs. Arrays are then cut out of the storage bytes
with `np.lib.stride_tricks.as_strided` and copied.

`save_state_dict_legacy` / `save_state_dict_zip` write the same formats with
the opcodes torch's pickler emits (including `state_dict()`'s `_metadata`), so
that tests can build synthetic weight files.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import ml_dtypes
import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# torch storage class -> element type (torch/storage.py `_dtype_to_storage_type_map`).
_STORAGE_DTYPES = {
    'DoubleStorage': np.dtype(np.float64),
    'FloatStorage': np.dtype(np.float32),
    'HalfStorage': np.dtype(np.float16),
    'BFloat16Storage': np.dtype(ml_dtypes.bfloat16),
    'LongStorage': np.dtype(np.int64),
    'IntStorage': np.dtype(np.int32),
    'ShortStorage': np.dtype(np.int16),
    'CharStorage': np.dtype(np.int8),
    'ByteStorage': np.dtype(np.uint8),
    'BoolStorage': np.dtype(np.bool_),
}
_STORAGE_NAMES = {dtype: name for name, dtype in _STORAGE_DTYPES.items()}


class UnsafePickleError(pickle.UnpicklingError, ValueError):
  """The pickle references a global outside the allow-list (it was not called)."""


class _StorageType:
  """Stand-in for `torch.FloatStorage` etc.: only its element type matters."""

  __slots__ = ('name', 'dtype')  # no __dict__: a BUILD opcode cannot alter it

  def __init__(self, name: str, dtype: np.dtype):
    self.name, self.dtype = name, dtype

  def __repr__(self):
    return f'torch.{self.name}'


class _StorageRef:
  """A storage named by a persistent id; `start` / `numel` select a legacy view."""

  __slots__ = ('key', 'dtype', 'start', 'numel')

  def __init__(self, key: str, dtype: np.dtype, start: int, numel: int):
    self.key, self.dtype, self.start, self.numel = key, dtype, start, numel


class _TensorRef:
  """What `_rebuild_tensor_v2` would build, before the storage bytes are read."""

  __slots__ = ('storage', 'offset', 'shape', 'stride')

  def __init__(self, storage, offset, shape, stride):
    if not isinstance(storage, _StorageRef):
      raise pickle.UnpicklingError(
          f'tensor rebuilt from a {type(storage).__name__}, ' 'not a storage'
      )
    self.storage, self.offset = storage, int(offset)
    self.shape, self.stride = tuple(int(s) for s in shape), tuple(int(s) for s in stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
  return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None
):
  del requires_grad, backward_hooks, metadata  # training-time state only
  return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
  del requires_grad, backward_hooks
  return data


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    **{('torch', name): _StorageType(name, dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
  """Resolves only the globals in `_ALLOWED`; records the storages it meets."""

  def __init__(self, file):
    super().__init__(file)
    self.storages: dict[str, tuple[np.dtype, int]] = {}  # root key -> (dtype, numel)

  def find_class(self, module, name):
    try:
      return _ALLOWED[(module, name)]
    except KeyError:
      raise UnsafePickleError(
          f'refusing to load global {module}.{name}: only collections.OrderedDict, '
          'torch._utils tensor rebuilders and torch.*Storage are allowed'
      ) from None

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == 'storage'):
      raise pickle.UnpicklingError(f'unsupported persistent id {str(pid)[:80]}')
    _, storage_type, key, _, numel = pid[:5]
    view = pid[5] if len(pid) == 6 else None
    if not isinstance(storage_type, _StorageType):
      raise pickle.UnpicklingError(f'storage {key!r} has type {storage_type!r}')
    key, numel = str(key), int(numel)
    known = self.storages.setdefault(key, (storage_type.dtype, numel))
    if known != (storage_type.dtype, numel):
      raise pickle.UnpicklingError(f'storage {key!r} is declared twice, differently')
    if view is None:
      return _StorageRef(key, storage_type.dtype, 0, numel)
    # Old torch wrote storage views as (view key, element offset, numel) of the root.
    _, start, view_numel = view
    return _StorageRef(key, storage_type.dtype, int(start), int(view_numel))


def _collect(obj, storages: dict[str, np.ndarray], path) -> dict[str, np.ndarray]:
  """Turns the unpickled {name: _TensorRef} mapping into {name: array}."""
  if not isinstance(obj, dict):
    raise ValueError(f'{os.fspath(path)}: holds a {type(obj).__name__}, not a state dict')
  out = {}
  for name, ref in obj.items():
    if not isinstance(ref, _TensorRef):
      raise ValueError(
          f'{os.fspath(path)}: entry {name!r} is a {type(ref).__name__}, ' 'not a tensor'
      )
    s = ref.storage
    data = storages[s.key][s.start : s.start + s.numel]
    if any(st < 0 for st in ref.stride) or len(ref.stride) != len(ref.shape):
      raise ValueError(
          f'{os.fspath(path)}: entry {name!r} has strides {ref.stride} ' f'for shape {ref.shape}'
      )
    last = ref.offset + sum((n - 1) * st for n, st in zip(ref.shape, ref.stride))
    if 0 not in ref.shape and (ref.offset < 0 or last >= len(data)):
      raise ValueError(
          f'{os.fspath(path)}: entry {name!r} reads past its storage ' f'({len(data)} elements)'
      )
    base = data[ref.offset :] if 0 not in ref.shape else data[:0]
    item = base.itemsize
    view = np.lib.stride_tricks.as_strided(
        base, ref.shape, tuple(st * item for st in ref.stride), writeable=False
    )
    out[str(name)] = np.array(view, dtype=base.dtype.newbyteorder('='))
  return out


def _unpickle_with_storages(f, path, what: str):
  """(object, storages met) of the next pickle in `f`, with errors naming the file."""
  unpickler = _RestrictedUnpickler(f)
  try:
    return unpickler.load(), unpickler.storages
  except UnsafePickleError as e:
    raise UnsafePickleError(f'{os.fspath(path)}: {e}') from None
  except Exception as e:  # garbage or truncation: EOFError, UnpicklingError, ...
    raise ValueError(
        f'{os.fspath(path)} is not a readable torch.save file: its {what} '
        f'does not unpickle ({type(e).__name__}: {e})'
    ) from None


def _unpickle(f, path, what: str):
  return _unpickle_with_storages(f, path, what)[0]


def _load_legacy(data: bytes, path) -> dict[str, np.ndarray]:
  f = io.BytesIO(data)
  magic = _unpickle(f, path, 'magic number')
  if magic != MAGIC_NUMBER:
    raise ValueError(f'{os.fspath(path)} is not a torch.save file: bad magic number {magic!r}')
  version = _unpickle(f, path, 'protocol version')
  if version != PROTOCOL_VERSION:
    raise ValueError(f'{os.fspath(path)}: unsupported torch.save protocol version {version!r}')
  sys_info = _unpickle(f, path, 'sys_info')
  if not (isinstance(sys_info, dict) and sys_info.get('little_endian', True)):
    raise ValueError(f'{os.fspath(path)}: big-endian torch.save files are not supported')
  obj, storage_types = _unpickle_with_storages(f, path, 'state dict')
  keys = _unpickle(f, path, 'list of storage keys')
  if not isinstance(keys, list) or set(map(str, keys)) != set(storage_types):
    raise ValueError(f'{os.fspath(path)}: storage key list does not match the tensors')
  pos, buf, storages = f.tell(), memoryview(data), {}
  for key in map(str, keys):
    dtype, numel = storage_types[key]
    if pos + 8 > len(data):
      raise ValueError(f'{os.fspath(path)} is truncated: no header for storage {key!r}')
    (count,) = struct.unpack_from('<q', data, pos)
    if count != numel:
      raise ValueError(
          f'{os.fspath(path)}: storage {key!r} holds {count} elements, ' f'the pickle says {numel}'
      )
    pos += 8
    nbytes = count * dtype.itemsize
    if pos + nbytes > len(data):
      raise ValueError(
          f'{os.fspath(path)} is truncated: storage {key!r} needs {nbytes} bytes, '
          f'{len(data) - pos} left'
      )
    storages[key] = np.frombuffer(buf[pos : pos + nbytes], dtype.newbyteorder('<'))
    pos += nbytes
  return _collect(obj, storages, path)


def _load_zip(path) -> dict[str, np.ndarray]:
  with zipfile.ZipFile(path) as zf:
    names = set(zf.namelist())
    pkls = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    if len(pkls) != 1:
      raise ValueError(
          f'{os.fspath(path)} is a zip but not a torch.save file '
          f'(expected one <folder>/data.pkl, found {len(pkls)})'
      )
    prefix = pkls[0][: -len('data.pkl')]
    if prefix + 'byteorder' in names and zf.read(prefix + 'byteorder').strip() != b'little':
      raise ValueError(f'{os.fspath(path)}: big-endian torch.save files are not supported')
    obj, storage_types = _unpickle_with_storages(io.BytesIO(zf.read(pkls[0])), path, 'data.pkl')
    storages = {}
    for key, (dtype, numel) in storage_types.items():
      record = f'{prefix}data/{key}'
      if record not in names:
        raise ValueError(f'{os.fspath(path)}: missing storage record {record}')
      raw = zf.read(record)
      if len(raw) < numel * dtype.itemsize:
        raise ValueError(f'{os.fspath(path)}: storage record {record} is truncated')
      storages[key] = np.frombuffer(raw, dtype.newbyteorder('<'), numel)
  return _collect(obj, storages, path)


def load_state_dict(path) -> dict[str, np.ndarray]:
  """Reads a `torch.save`d {name: tensor} dict (legacy or zip format) as NumPy arrays.

  Raises ValueError naming the file if it is not such a file (bad magic number,
  truncated, not a mapping of tensors) and `UnsafePickleError` (a ValueError)
  if its pickle references anything outside the allow-list.
  """
  with open(path, 'rb') as f:
    head = f.read(4)
  if head == b'PK\x03\x04':
    try:
      return _load_zip(path)
    except zipfile.BadZipFile as e:
      raise ValueError(f'{os.fspath(path)}: damaged zip archive ({e})') from None
  with open(path, 'rb') as f:
    data = f.read()
  return _load_legacy(data, path)


# -- Writing (tests): hand-emitted protocol-2 opcodes, as torch's pickler writes them.


class _Global:

  def __init__(self, module: str, name: str):
    self.module, self.name = module, name


class _Call:
  """REDUCE: `func(*args)` with `func` a `_Global`."""

  def __init__(self, func: _Global, args: tuple):
    self.func, self.args = func, args


class _PersistentId:

  def __init__(self, pid: tuple):
    self.pid = pid


_ORDERED_DICT = _Global('collections', 'OrderedDict')


def _emit(out: bytearray, obj) -> None:
  """Appends the protocol-2 opcodes that `pickle.Pickler` would write for `obj`."""
  if obj is None:
    out += pickle.NONE
  elif obj is True or obj is False:
    out += pickle.NEWTRUE if obj else pickle.NEWFALSE
  elif isinstance(obj, int):
    if 0 <= obj < 256:
      out += pickle.BININT1 + struct.pack('<B', obj)
    elif 0 <= obj < 65536:
      out += pickle.BININT2 + struct.pack('<H', obj)
    elif -(2**31) <= obj < 2**31:
      out += pickle.BININT + struct.pack('<i', obj)
    else:
      raw = obj.to_bytes((obj.bit_length() + 8) // 8, 'little', signed=True)
      out += pickle.LONG1 + struct.pack('<B', len(raw)) + raw
  elif isinstance(obj, str):
    raw = obj.encode('utf-8')
    out += pickle.BINUNICODE + struct.pack('<I', len(raw)) + raw
  elif isinstance(obj, tuple):
    if not obj:
      out += pickle.EMPTY_TUPLE
      return
    if len(obj) > 3:
      out += pickle.MARK
    for item in obj:
      _emit(out, item)
    out += {1: pickle.TUPLE1, 2: pickle.TUPLE2, 3: pickle.TUPLE3}.get(len(obj), pickle.TUPLE)
  elif isinstance(obj, _Global):
    out += pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode('ascii')
  elif isinstance(obj, _Call):
    _emit(out, obj.func)
    _emit(out, obj.args)
    out += pickle.REDUCE
  elif isinstance(obj, _PersistentId):
    _emit(out, obj.pid)
    out += pickle.BINPERSID
  elif isinstance(obj, dict):  # OrderedDict: REDUCE, SETITEMS, then BUILD with its __dict__
    ordered = isinstance(obj, collections.OrderedDict)
    if ordered:
      _emit(out, _Call(_ORDERED_DICT, ()))
    else:
      out += pickle.EMPTY_DICT
    if obj:
      out += pickle.MARK
      for key, value in obj.items():
        _emit(out, key)
        _emit(out, value)
      out += pickle.SETITEMS
    if ordered and vars(obj):
      _emit(out, dict(vars(obj)))
      out += pickle.BUILD
  else:
    raise TypeError(f'cannot emit {type(obj).__name__}')


def _plan(tensors: dict[str, np.ndarray]):
  """Assigns storages as torch would: views of one C-contiguous array share it."""
  storages: dict[int, tuple[str, np.ndarray]] = {}  # id(root) -> (key, flat root)
  records = []
  for name, arr in tensors.items():
    arr = np.asarray(arr)
    if arr.dtype not in _STORAGE_NAMES:
      raise TypeError(f'{name}: no torch storage type for dtype {arr.dtype}')
    root = arr
    while isinstance(root.base, np.ndarray):
      root = root.base
    item = arr.itemsize
    byte_offset = arr.__array_interface__['data'][0] - root.__array_interface__['data'][0]
    shared = (
        root is not arr
        and root.dtype == arr.dtype
        and root.flags.c_contiguous
        and byte_offset % item == 0
        and all(s >= 0 and s % item == 0 for s in arr.strides)
    )
    if shared:
      offset, stride = byte_offset // item, tuple(s // item for s in arr.strides)
    else:
      root, offset = np.ascontiguousarray(arr), 0
      stride = tuple(int(np.prod(arr.shape[i + 1 :], dtype=np.int64)) for i in range(arr.ndim))
    if id(root) not in storages:
      storages[id(root)] = (str(len(storages)), root.reshape(-1))
    key, flat = storages[id(root)]
    records.append((name, key, flat, offset, arr.shape, stride))
  return records, dict(storages.values())


def _state_dict_pickle(records, legacy: bool) -> bytes:
  state = collections.OrderedDict()
  for name, key, flat, offset, shape, stride in records:
    storage_type = _Global('torch', _STORAGE_NAMES[flat.dtype])
    pid = ('storage', storage_type, key, 'cpu', flat.size) + ((None,) if legacy else ())
    state[name] = _Call(
        _Global('torch._utils', '_rebuild_tensor_v2'),
        (_PersistentId(pid), offset, tuple(shape), tuple(stride), False, _Call(_ORDERED_DICT, ())),
    )
  # Module.state_dict() attaches {module prefix: {'version': 1}} as `_metadata`.
  prefixes = {''}
  for name in state:
    parts = name.split('.')[:-1]
    prefixes.update('.'.join(parts[:i]) for i in range(1, len(parts) + 1))
  state._metadata = collections.OrderedDict((p, {'version': 1}) for p in sorted(prefixes))
  out = bytearray(pickle.PROTO + b'\x02')
  _emit(out, state)
  out += pickle.STOP
  return bytes(out)


def _little_endian_bytes(flat: np.ndarray) -> bytes:
  return flat.astype(flat.dtype.newbyteorder('<'), copy=False).tobytes()


def save_state_dict_legacy(path, tensors: dict[str, np.ndarray]) -> None:
  """Writes {name: array} as torch < 1.6 `torch.save(state_dict)` does.

  Arrays that are views of one C-contiguous array share its storage (with
  offset and strides), as tensors that share storage do.
  """
  records, storages = _plan(tensors)
  sys_info = dict(
      protocol_version=PROTOCOL_VERSION, little_endian=True, type_sizes=dict(short=2, int=4, long=4)
  )
  with open(path, 'wb') as f:
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
      f.write(pickle.dumps(header, protocol=2))
    f.write(_state_dict_pickle(records, legacy=True))
    keys = sorted(storages)  # torch writes the storages in sorted-key order
    f.write(pickle.dumps(keys, protocol=2))
    for key in keys:
      f.write(struct.pack('<q', storages[key].size))
      f.write(_little_endian_bytes(storages[key]))


def save_state_dict_zip(path, tensors: dict[str, np.ndarray]) -> None:
  """Writes {name: array} in the zip format of torch >= 1.6."""
  records, storages = _plan(tensors)
  with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as zf:
    zf.writestr('archive/data.pkl', _state_dict_pickle(records, legacy=False))
    zf.writestr('archive/byteorder', 'little')
    for key, flat in storages.items():
      zf.writestr(f'archive/data/{key}', _little_endian_bytes(flat))
    zf.writestr('archive/version', '3\n')
