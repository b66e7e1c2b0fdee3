"""gen.nn.apply's mixed precision: the module computes in bfloat16, the caller sees float32."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen import nn as gnn
from gen.config import ConfigError

_SEEN = {}  # what the probe saw while being traced


class _Probe(nn.Module):
  """Dense, batch norm and a side output; records the dtypes it computes with."""

  @nn.compact
  def __call__(self, x, train: bool = True):
    _SEEN['input'] = x.dtype
    y = nn.Dense(3)(x)
    _SEEN['kernel'] = self.variables['params']['Dense_0']['kernel'].dtype
    _SEEN['dense'] = y.dtype
    y = nn.BatchNorm(use_running_average=not train, momentum=0.5)(y)
    _SEEN['batch_norm'] = y.dtype
    return y, {'sum': jnp.sum(y), 'count': jnp.int32(3)}


@pytest.fixture
def variables():
  x = jax.random.normal(jax.random.PRNGKey(0), (8, 4))
  params, stats = gnn.init_variables(_Probe(), jax.random.PRNGKey(1), x)
  return x, params, stats


def test_bfloat16_computes_in_bfloat16_and_returns_float32(variables):
  x, params, stats = variables
  (y, aux), new_stats = gnn.apply(_Probe(), params, stats, x, train=True, dtype=jnp.bfloat16)
  assert _SEEN == {
      'input': jnp.bfloat16,
      'kernel': jnp.bfloat16,
      'dense': jnp.bfloat16,
      'batch_norm': jnp.bfloat16,
  }
  assert y.dtype == jnp.float32 and aux['sum'].dtype == jnp.float32
  assert aux['count'].dtype == jnp.int32  # only floating outputs are cast
  # Batch statistics stay float32, and were updated from this batch.
  for new, old in zip(jax.tree.leaves(new_stats), jax.tree.leaves(stats), strict=True):
    assert new.dtype == old.dtype == jnp.float32
    assert not np.array_equal(new, old)
  # Close to the float32 result, but not equal to it: the arithmetic was bfloat16.
  (y32, _), stats32 = gnn.apply(_Probe(), params, stats, x, train=True)
  assert _SEEN['dense'] == jnp.float32
  np.testing.assert_allclose(y, y32, atol=0.1)
  assert not np.array_equal(y, y32)
  np.testing.assert_allclose(
      new_stats['BatchNorm_0']['mean'], stats32['BatchNorm_0']['mean'], atol=0.05
  )


def test_gradients_reach_float32_params_as_float32(variables):
  x, params, stats = variables

  def loss(p, x):
    (y, _), _ = gnn.apply(_Probe(), p, stats, x, dtype=jnp.bfloat16)
    return jnp.mean(y**2)

  grads, x_grad = jax.grad(loss, argnums=(0, 1))(params, x)
  assert {g.dtype for g in jax.tree.leaves(grads)} == {jnp.dtype(jnp.float32)}
  assert x_grad.dtype == jnp.float32  # e.g. a gradient penalty's input gradient


def test_compute_dtype_names():
  assert gnn.compute_dtype('float32') is None  # float32 runs are unchanged, no casts
  assert gnn.compute_dtype('bfloat16') == jnp.bfloat16
  message = r"config.train.compute_dtype='float16': must be one of float32, bfloat16"
  with pytest.raises(ConfigError, match=message):
    gnn.compute_dtype('float16')
