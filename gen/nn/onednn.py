"""oneDNN's convolution kernels (what PyTorch's CPU convolutions run on) inside XLA CPU programs.

XLA CPU's own convolution kernels (YNNPACK and Eigen) take 1.5 to 2x oneDNN's
time on this project's 2-core Zen 5 and are slowest at the weight gradient: 315 ms
for a 3x3 convolution 64x28x28x64 -> 128, where oneDNN's backward-weights kernel
takes about 40 ms (docs/RESULTS.md, "Speed against PyTorch"). jaxlib's PyPI wheels
do not call oneDNN for convolutions, so this module loads the oneDNN library of
Intel's PyPI package `onednn-cpu-gomp` (requirements.txt; Linux x86-64 only) with
ctypes and gives XLA programs its three convolution primitives:

  'forward'  (x, w)  -> y     y = conv(x, w, strides, padding)
  'input'    (dy, w) -> dx    its input gradient (the transposed convolution)
  'weight'   (x, dy) -> dw    its weight gradient
for float32 NHWC x, y and HWIO w. Each distinct shape gets one oneDNN primitive,
built when a program is lowered, and an XLA typed-FFI handler
(xla/ffi/api/c_api.h) written in Python: at run time XLA calls it with the
buffers' addresses and oneDNN writes the result in place, on its OpenMP threads.

The handler runs with the GIL held (ctypes.PyDLL): it is taken once per call,
not once per library call, so a busy Python thread elsewhere costs a call at most
one GIL switch interval (a DCGAN-sized step went from 0.2 to 1.2 s next to a busy
thread with the GIL released around each library call). It also serialises the
oneDNN calls a program runs concurrently, so their OpenMP teams never compete.

Everything falls back to the caller's lax form (`fallback`, the same computation
in `lax.conv_general_dilated`), with identical semantics:
  - where the library is missing or fails to load, or GEN_ONEDNN=0 is set
    (`available()` is False: callers use lax directly);
  - where oneDNN rejects a shape, or the program is lowered for another backend
    (the primitive's lowering is the fallback's);
  - while `disabled()` is active (bench/vs_torch.py counts XLA's FLOPs that way:
    XLA's cost analysis sees no FLOPs in a custom call).
The primitive has no derivative of its own: gen/nn/conv.py gives each of the
three a custom VJP made of the other two (they are bilinear).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes as C
import functools
import hashlib
import importlib.metadata
import os
import threading

import jax
import jax.numpy as jnp
import numpy as np
from jax.interpreters import batching, mlir

try:  # JAX internals (the pinned jax); without them the oneDNN path is off.
  from jax._src import dispatch as _dispatch
  from jax._src.core import ShapedArray as _ShapedArray
  from jax._src.interpreters import mlir as _mlir
  from jax.extend.core import Primitive as _Primitive
except ImportError:  # pragma: no cover - another jax
  _Primitive = None

KINDS = ('forward', 'input', 'weight')
Padding = tuple[tuple[int, int], tuple[int, int]]

_PACKAGE = 'onednn-cpu-gomp'
# oneDNN 3.x C API constants (oneapi/dnnl/dnnl_types.h, dnnl_common_types.h).
_CPU, _F32, _ANY, _IN_ORDER = 1, 3, 1, 1
_FORWARD_TRAINING, _CONVOLUTION_DIRECT, _QUERY_EXEC_ARG_MD = 64, 1, 255
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_SCRATCHPAD, _SCRATCHPAD_USER = 1, 17, 33, 80, 1
_ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS = 129, 145, 161
_Dims = C.c_int64 * 12  # dnnl_dims_t


class _ExecArg(C.Structure):
  _fields_ = [('arg', C.c_int), ('memory', C.c_void_p)]


# XLA FFI C API (jaxlib's include/xla/ffi/api/c_api.h, API version 0.3): the leading
# fields of the structures a handler reads.
_FFI_VERSION = (0, 3)
_EXTENSION_METADATA, _STAGE_EXECUTE, _ERROR_INTERNAL = 1, 3, 13


class _ExtensionBase(C.Structure):
  _fields_ = [('struct_size', C.c_size_t), ('type', C.c_int), ('next', C.c_void_p)]


class _ApiVersion(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('major_version', C.c_int),
      ('minor_version', C.c_int),
  ]


class _Metadata(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('api_version', _ApiVersion),
      ('traits', C.c_uint32),
      ('state_type_id', C.c_int64),
  ]


class _MetadataExtension(C.Structure):
  _fields_ = [('extension_base', _ExtensionBase), ('metadata', C.POINTER(_Metadata))]


class _Buffer(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('dtype', C.c_int),
      ('data', C.c_void_p),
      ('rank', C.c_int64),
      ('dims', C.POINTER(C.c_int64)),
  ]


class _Values(C.Structure):  # XLA_FFI_Args and XLA_FFI_Rets
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('size', C.c_int64),
      ('types', C.c_void_p),
      ('values', C.POINTER(C.POINTER(_Buffer))),
  ]


class _Attrs(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('size', C.c_int64),
      ('types', C.c_void_p),
      ('names', C.c_void_p),
      ('attrs', C.c_void_p),
  ]


class _CallFrame(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.POINTER(_ExtensionBase)),
      ('api', C.c_void_p),
      ('ctx', C.c_void_p),
      ('stage', C.c_int),
      ('args', _Values),
      ('rets', _Values),
      ('attrs', _Attrs),
      ('future', C.c_void_p),
  ]


class _ErrorCreateArgs(C.Structure):
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('message', C.c_char_p),
      ('errc', C.c_int),
  ]


class _Api(C.Structure):  # the leading fields of XLA_FFI_Api
  _fields_ = [
      ('struct_size', C.c_size_t),
      ('extension_start', C.c_void_p),
      ('api_version', _ApiVersion),
      ('internal_api', C.c_void_p),
      ('error_create', C.CFUNCTYPE(C.c_void_p, C.POINTER(_ErrorCreateArgs))),
  ]


_Handler = C.CFUNCTYPE(C.c_void_p, C.POINTER(_CallFrame))


class DnnlError(RuntimeError):
  pass


class _Library:
  """libdnnl with a CPU engine and one stream per calling thread."""

  def __init__(self, path: str):
    self.dll = C.PyDLL(path)  # calls keep the GIL (module docstring)
    self.dll.dnnl_primitive_desc_query_md.restype = C.c_void_p
    self.dll.dnnl_memory_desc_get_size.restype = C.c_size_t
    self.dll.dnnl_version.restype = C.c_void_p
    self.engine = C.c_void_p()
    self.check(self.dll.dnnl_engine_create(C.byref(self.engine), _CPU, C.c_size_t(0)), 'engine')
    self._local = threading.local()

  def check(self, status: int, what: str) -> None:
    if status != 0:
      raise DnnlError(f'oneDNN {what} failed with status {status}')

  def stream(self) -> C.c_void_p:
    stream = getattr(self._local, 'stream', None)
    if stream is None:
      stream = C.c_void_p()
      self.check(self.dll.dnnl_stream_create(C.byref(stream), self.engine, C.c_uint(_IN_ORDER)), 'stream')
      self._local.stream = stream
    return stream

  def desc(self, dims, strides=None) -> C.c_void_p:
    """A float32 memory descriptor: logical `dims` with `strides`, or format 'any'."""
    md = C.c_void_p()
    if strides is None:
      status = self.dll.dnnl_memory_desc_create_with_tag(C.byref(md), len(dims), _Dims(*dims), _F32, _ANY)
    else:
      status = self.dll.dnnl_memory_desc_create_with_strides(
          C.byref(md), len(dims), _Dims(*dims), _F32, _Dims(*strides)
      )
    self.check(status, 'memory descriptor')
    return md

  def primitive(self, pd: C.c_void_p) -> C.c_void_p:
    prim = C.c_void_p()
    self.check(self.dll.dnnl_primitive_create(C.byref(prim), pd), 'primitive creation')
    return prim

  def memory(self, md: C.c_void_p) -> C.c_void_p:
    """A memory object of `md` whose data pointer is set before each run."""
    mem = C.c_void_p()
    self.check(self.dll.dnnl_memory_create(C.byref(mem), md, self.engine, None), 'memory')
    return mem


def _find_library() -> str | None:
  try:
    files = importlib.metadata.files(_PACKAGE) or ()
  except importlib.metadata.PackageNotFoundError:
    return None
  for f in files:
    if f.name.startswith('libdnnl.so.'):
      return str(f.locate())
  return None


@functools.cache
def _library() -> _Library | None:
  """The loaded library, or None (not installed, GEN_ONEDNN=0, another jax, a load error)."""
  if _Primitive is None or os.environ.get('GEN_ONEDNN', '1') == '0':
    return None
  path = _find_library()
  if path is None:
    return None
  # Idle OpenMP threads sleep instead of spinning, so they leave the cores to XLA's
  # threads between convolutions (libgomp reads this once, when it loads).
  os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
  try:
    return _Library(path)
  except (OSError, DnnlError, AttributeError):
    return None


class _Version(C.Structure):  # dnnl_version_t
  _fields_ = [('major', C.c_int), ('minor', C.c_int), ('patch', C.c_int), ('hash', C.c_char_p)]


def version() -> str | None:
  """The loaded oneDNN's version, e.g. '3.2.0', or None where it is not loaded."""
  lib = _library()
  if lib is None:
    return None
  v = C.cast(lib.dll.dnnl_version(), C.POINTER(_Version)).contents
  return f'{v.major}.{v.minor}.{v.patch}'


_DISABLED = contextvars.ContextVar('gen_onednn_disabled', default=False)


@contextlib.contextmanager
def disabled():
  """Within this context, programs are traced with the lax forms instead."""
  token = _DISABLED.set(True)
  try:
    yield
  finally:
    _DISABLED.reset(token)


def available() -> bool:
  """Whether convolutions traced now run on oneDNN: the library loaded, the default
  backend the CPU, and not `disabled()`."""
  return not _DISABLED.get() and jax.default_backend() == 'cpu' and _library() is not None


def usable(a, b, padding: Padding) -> bool:
  """Whether the primitives may take these operands: `available()`, float32, pads >= 0."""
  return (
      a.dtype == np.float32
      and b.dtype == np.float32
      and min(min(p) for p in padding) >= 0
      and available()
  )


def out_shape(x_shape, w_shape, strides, padding) -> tuple[int, ...]:
  """y's shape for x (N, H, W, C) and w (kh, kw, C, O)."""
  hw = [(x_shape[1 + d] + sum(padding[d]) - w_shape[d]) // strides[d] + 1 for d in range(2)]
  return (x_shape[0], *hw, w_shape[3])


def _aligned(nbytes: int):
  """(buffer, its first 64-byte aligned address) for `nbytes` bytes."""
  buffer = np.zeros(nbytes + 64, np.uint8)
  return buffer, buffer.ctypes.data + (-buffer.ctypes.data) % 64


def _nhwc(lib, n, h, w, c):
  return lib.desc((n, c, h, w), (h * w * c, 1, w * c, c))


def _hwio(lib, kh, kw, c, o):  # an HWIO kernel seen as oneDNN's logical OIHW
  return lib.desc((o, c, kh, kw), (1, o, kw * c * o, c * o))


class _ConvOp:
  """One of the three primitives for one shape. Kernels go through the blocked layout
  oneDNN chooses for them, reordered from or to HWIO on each call."""

  def __init__(self, lib, kind, x_shape, w_shape, strides, padding):
    (n, h, w, c), (kh, kw, _, o) = x_shape, w_shape
    _, ho, wo, _ = out_shape(x_shape, w_shape, strides, padding)
    if kind == 'weight' and (kh, kw) == (1, 1) and tuple(strides) != (1, 1):
      # oneDNN 3.2's jit_1x1 backward-weights kernel for strided 1x1 convolutions on few
      # input channels is right on its first run only (tests/nn/test_onednn.py).
      raise DnnlError('strided 1x1 weight gradient: left to XLA')
    self.lib, self.kind, self.lock = lib, kind, threading.Lock()
    self.name = f'{kind} kernel of conv({x_shape}, {w_shape}, {strides}, {padding})'
    x_md, y_md, plain_w = _nhwc(lib, n, h, w, c), _nhwc(lib, n, ho, wo, o), _hwio(lib, kh, kw, c, o)
    any_w = lib.desc((o, c, kh, kw))
    # A scratchpad of the op's own: in oneDNN's default ('library') mode some kernels
    # (the gemm-based ones) fail when run from another thread than their first run's,
    # and XLA calls from any of its worker threads.
    attr = C.c_void_p()
    lib.check(lib.dll.dnnl_primitive_attr_create(C.byref(attr)), 'attributes')
    lib.check(lib.dll.dnnl_primitive_attr_set_scratchpad_mode(attr, _SCRATCHPAD_USER), 'attributes')
    geometry = (
        _Dims(*strides), _Dims(0, 0),
        _Dims(padding[0][0], padding[1][0]), _Dims(padding[0][1], padding[1][1]),
    )  # fmt: skip
    forward = C.c_void_p()
    lib.check(
        lib.dll.dnnl_convolution_forward_primitive_desc_create(
            C.byref(forward), lib.engine, _FORWARD_TRAINING, _CONVOLUTION_DIRECT, x_md, any_w,
            None, y_md, *geometry, attr,
        ),
        'forward descriptor',
    )  # fmt: skip
    if kind == 'forward':
      pd, args, w_arg = forward, (_ARG_SRC, _ARG_WEIGHTS, _ARG_DST), _ARG_WEIGHTS
      mds = (x_md, None, y_md)
    elif kind == 'input':
      pd = C.c_void_p()
      lib.check(
          lib.dll.dnnl_convolution_backward_data_primitive_desc_create(
              C.byref(pd), lib.engine, _CONVOLUTION_DIRECT, x_md, any_w, y_md, *geometry,
              forward, attr,
          ),
          'backward-data descriptor',
      )  # fmt: skip
      args, w_arg, mds = (_ARG_DIFF_DST, _ARG_WEIGHTS, _ARG_DIFF_SRC), _ARG_WEIGHTS, (y_md, None, x_md)
    else:
      pd = C.c_void_p()
      lib.check(
          lib.dll.dnnl_convolution_backward_weights_primitive_desc_create(
              C.byref(pd), lib.engine, _CONVOLUTION_DIRECT, x_md, any_w, None, y_md, *geometry,
              forward, attr,
          ),
          'backward-weights descriptor',
      )  # fmt: skip
      args, w_arg, mds = (_ARG_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS), _ARG_DIFF_WEIGHTS, (x_md, y_md, None)
    self.prim = lib.primitive(pd)
    blocked_w = C.c_void_p(lib.dll.dnnl_primitive_desc_query_md(pd, _QUERY_EXEC_ARG_MD, w_arg))
    self.w_slot = mds.index(None)  # which of (a, b, result) is the HWIO kernel
    self.reorder = None
    if lib.dll.dnnl_memory_desc_equal(blocked_w, plain_w):
      self.mems = [lib.memory(plain_w if md is None else md) for md in mds]
    else:
      src, dst = (blocked_w, plain_w) if kind == 'weight' else (plain_w, blocked_w)
      rpd = C.c_void_p()
      lib.check(
          lib.dll.dnnl_reorder_primitive_desc_create(C.byref(rpd), src, lib.engine, dst, lib.engine, None),
          'reorder descriptor',
      )
      self.reorder = lib.primitive(rpd)
      # The blocked kernel lives in a buffer of this op's own.
      self.scratch, scratch = _aligned(lib.dll.dnnl_memory_desc_get_size(blocked_w))
      self.mems = [lib.memory(blocked_w if md is None else md) for md in mds]
      lib.check(lib.dll.dnnl_memory_set_data_handle(self.mems[self.w_slot], C.c_void_p(scratch)), 'data handle')  # fmt: skip
      self.plain_mem = lib.memory(plain_w)
      pair = (self.mems[self.w_slot], self.plain_mem)
      src_mem, dst_mem = pair if kind == 'weight' else pair[::-1]
      self.reorder_args = (_ExecArg * 2)(_ExecArg(_ARG_SRC, src_mem), _ExecArg(_ARG_DST, dst_mem))
    scratchpad_md = C.c_void_p(lib.dll.dnnl_primitive_desc_query_md(pd, _QUERY_EXEC_ARG_MD, _ARG_SCRATCHPAD))
    self.scratchpad, address = _aligned(lib.dll.dnnl_memory_desc_get_size(scratchpad_md))
    scratchpad = lib.memory(scratchpad_md)
    lib.check(lib.dll.dnnl_memory_set_data_handle(scratchpad, C.c_void_p(address)), 'data handle')
    self.exec_args = (_ExecArg * 4)(
        *(_ExecArg(a, m) for a, m in zip(args, self.mems)), _ExecArg(_ARG_SCRATCHPAD, scratchpad)
    )

  def __call__(self, a: int, b: int, out: int) -> None:
    """Runs on buffer addresses: the two operands in the order of KINDS' comment, then
    the result. One call at a time, as the scratch kernel buffer is the op's own."""
    lib, dll = self.lib, self.lib.dll
    addresses = (a, b, out)
    with self.lock:
      for slot, (mem, address) in enumerate(zip(self.mems, addresses)):
        if slot == self.w_slot and self.reorder is not None:  # the plain side of the reorder
          mem = self.plain_mem
        lib.check(dll.dnnl_memory_set_data_handle(mem, C.c_void_p(address)), 'data handle')
      stream = lib.stream()
      steps = [(self.prim, self.exec_args, 4)]
      if self.reorder is not None:  # HWIO -> blocked before, or blocked -> HWIO after
        reorder = (self.reorder, self.reorder_args, 2)
        steps = steps + [reorder] if self.kind == 'weight' else [reorder] + steps
      for prim, exec_args, count in steps:
        lib.check(dll.dnnl_primitive_execute(prim, stream, count, exec_args), f'{self.name} execute')
      lib.check(dll.dnnl_stream_wait(stream), 'stream wait')


def _ffi_handler(op: _ConvOp) -> _Handler:
  """An XLA typed-FFI handler running `op` on its two arguments and one result."""

  def handler(frame_ptr):
    frame = frame_ptr.contents
    ext = frame.extension_start
    if ext and ext.contents.type == _EXTENSION_METADATA:  # XLA asks which API we speak
      meta = C.cast(ext, C.POINTER(_MetadataExtension)).contents.metadata.contents
      meta.api_version.major_version, meta.api_version.minor_version = _FFI_VERSION
      meta.traits = 0
      return None
    if frame.stage != _STAGE_EXECUTE:
      return None
    try:
      args, rets = frame.args.values, frame.rets.values
      op(args[0].contents.data, args[1].contents.data, rets[0].contents.data)
      return None
    except Exception as e:  # pylint: disable=broad-except  # reported to XLA as the call's error
      api = C.cast(frame.api, C.POINTER(_Api)).contents
      err = _ErrorCreateArgs(C.sizeof(_ErrorCreateArgs), None, str(e).encode(), _ERROR_INTERNAL)
      return api.error_create(C.byref(err))

  return _Handler(handler)


_TARGETS: dict[tuple, tuple[str, _Handler, _ConvOp]] = {}
_TARGETS_LOCK = threading.Lock()


def _target(key: tuple) -> str | None:
  """The FFI target of primitive `key` (kind, x_shape, w_shape, strides, padding),
  registered on first use; None where oneDNN cannot compute it."""
  with _TARGETS_LOCK:
    if key in _TARGETS:
      return _TARGETS[key][0]
    lib = _library()
    if lib is None:
      return None
    try:
      op = _ConvOp(lib, *key)
    except DnnlError:
      return None
    # The name depends on the shapes only, so the persistent compilation cache's entries
    # find their targets again in a later process.
    name = f'gen_onednn_{key[0]}_' + hashlib.sha1(repr(key).encode()).hexdigest()[:16]
    handler = _ffi_handler(op)
    jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(handler), platform='cpu')
    _TARGETS[key] = (name, handler, op)  # kept alive: XLA holds raw pointers to both
    return name


def _result_shape(kind, x_shape, w_shape, strides, padding):
  return {'forward': out_shape(x_shape, w_shape, strides, padding), 'input': x_shape, 'weight': w_shape}[kind]


# vmap with one operand batched: its axis B folds into an axis that the convolution treats
# independently, so one call computes every index. Per (kind, batched operand 'a' or 'b'):
# (the operand's axis it joins, the result's axis it comes back from, the (shape, axis)
# pairs it widens). forward(x, w) -> y, input(dy, w) -> dx, weight(x, dy) -> dw; images
# NHWC, kernels HWIO.
_FOLD = {
    ('forward', 'a'): (0, 0, (('x', 0),)),  # conv(x_B, w): examples N
    ('forward', 'b'): (3, 3, (('w', 3),)),  # conv(x, w_B): output channels O
    ('input', 'a'): (0, 0, (('x', 0),)),  # dx(dy_B, w): examples N
    ('input', 'b'): (2, 3, (('w', 2), ('x', 3))),  # dx(dy, w_B): input channels C
    ('weight', 'a'): (3, 2, (('x', 3), ('w', 2))),  # dw(x_B, dy): input channels C
    ('weight', 'b'): (3, 3, (('w', 3),)),  # dw(x, dy_B): output channels O
}


def _fold(v, axis: int):
  """(B, ...) -> ... with B merged into `axis` (B outer, so slices stay contiguous)."""
  v = jnp.moveaxis(v, 0, axis)  # B just before the axis it joins
  shape = v.shape[:axis] + (v.shape[axis] * v.shape[axis + 1],) + v.shape[axis + 2 :]
  return v.reshape(shape)


def _unfold(v, axis: int, size: int):
  """The inverse of `_fold`: the merged `axis` split into (B, rest), B moved to the front."""
  v = v.reshape(v.shape[:axis] + (size, v.shape[axis] // size) + v.shape[axis + 1 :])
  return jnp.moveaxis(v, axis, 0)


def _apply_fallback(a, b, *, kind, x_shape, w_shape, strides, padding, fallback):
  size = w_shape[:2] if kind == 'weight' else x_shape[1:3]
  return fallback(a, b, strides, padding, size)


if _Primitive is not None:
  conv_p = _Primitive('onednn_conv')
  conv_p.def_impl(functools.partial(_dispatch.apply_primitive, conv_p))
  conv_p.def_abstract_eval(
      lambda a, b, *, kind, x_shape, w_shape, strides, padding, fallback: _ShapedArray(
          _result_shape(kind, x_shape, w_shape, strides, padding), a.dtype
      )
  )

  def _fallback_lowering(ctx, a, b, **params):
    return mlir.lower_fun(functools.partial(_apply_fallback, **params), multiple_results=False)(ctx, a, b)

  def _cpu_lowering(ctx, a, b, **params):
    key = tuple(params[k] for k in ('kind', 'x_shape', 'w_shape', 'strides', 'padding'))
    name = _target(key)
    if name is None:
      return _fallback_lowering(ctx, a, b, **params)
    (out,) = ctx.avals_out
    return _mlir.custom_call(
        name,
        result_types=[_mlir.aval_to_ir_type(ctx.module_context, out)],
        operands=[a, b],
        backend_config={},
        api_version=4,
    ).results

  def _batch(args, dims, **params):
    """vmap (the VAE's k draws, jax.jacrev): one oneDNN call with the vmapped axis B
    folded into an axis of the operands that the convolution treats independently,
    where the other operand is not batched (`_FOLD`); with both batched, one call per
    index (B = 1: a squeeze, no loop)."""
    a, b = (x if d is None else jnp.moveaxis(x, d, 0) for x, d in zip(args, dims))
    which = 'ab' if None not in dims else ('a' if dims[1] is None else 'b')
    size = (a if which != 'b' else b).shape[0]
    if which == 'ab':
      if size == 1:
        return conv_p.bind(a[0], b[0], **params)[None], 0
      return jax.lax.map(lambda ab: conv_p.bind(*ab, **params), (a, b)), 0
    operand_axis, out_axis, widened = _FOLD[(params['kind'], which)]
    shapes = {'x': list(params['x_shape']), 'w': list(params['w_shape'])}
    for role, axis in widened:
      shapes[role][axis] *= size
    if which == 'a':
      a = _fold(a, operand_axis)
    else:
      b = _fold(b, operand_axis)
    params = {**params, 'x_shape': tuple(shapes['x']), 'w_shape': tuple(shapes['w'])}
    return _unfold(conv_p.bind(a, b, **params), out_axis, size), 0

  mlir.register_lowering(conv_p, _cpu_lowering, platform='cpu')
  mlir.register_lowering(conv_p, _fallback_lowering)
  batching.primitive_batchers[conv_p] = _batch


def conv(kind: str, a, b, x_shape, w_shape, strides, padding: Padding, fallback):
  """The primitive `kind` (KINDS) on operands (a, b) of y = conv(x, w, strides, padding),
  x and w of the given shapes. `fallback(a, b, strides, padding, size)`, a module-level
  function, computes the same in lax (size: x's spatial size for 'input', the
  kernel's for 'weight', unused for 'forward'). Call only where `usable(a, b, padding)`."""
  return conv_p.bind(
      a, b, kind=kind, x_shape=tuple(int(d) for d in x_shape),
      w_shape=tuple(int(d) for d in w_shape), strides=tuple(int(s) for s in strides),
      padding=tuple((int(lo), int(hi)) for lo, hi in padding), fallback=fallback,
  )  # fmt: skip
