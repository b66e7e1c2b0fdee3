"""The GAN model's game mechanics: unrolling, clipping, BEGAN's k_t, penalties."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import ROOT
import runs
from gen import config as config_lib
from gen.config import ConfigError
from gen.models.gan import networks
from gen.train import loop

_setup = runs.setup_model


# Tiny unrolled GAN; G by SGD with lr 1, so G's update is minus its gradient.
TINY = {
    'model.z_dim': 3,
    'model.g_hidden': '(5,)',
    'model.d_hidden': '(6,)',
    'train.batch_size': 16,
    'optim.g.name': 'sgd',
    'optim.g.lr': 1.0,
}


def _reference(config, state, real, key, k_steps):
  """(D's new params, G's gradient) of the minimax unrolled GAN (Metz et al.
  2017, eq. 5-7): a plain Python loop over D steps with Adam written out."""
  c = config.model
  gen_net = networks.MLPGenerator(c.g_hidden, 2)
  disc_net = networks.MLPDiscriminator(c.d_hidden)
  d_opt = config.optim.d
  n = real.shape[0]

  def D(p, x):
    return disc_net.apply({'params': p}, x)

  def G(p, z):
    return gen_net.apply({'params': p}, z)

  def d_loss(p, fake):  # -log D(x) - log(1 - D(G(z)))
    return jnp.mean(jax.nn.softplus(-D(p, real))) + jnp.mean(jax.nn.softplus(D(p, fake)))

  def adam(p, m, v, t, g):
    m = jax.tree.map(lambda m, g: d_opt.b1 * m + (1 - d_opt.b1) * g, m, g)
    v = jax.tree.map(lambda v, g: d_opt.b2 * v + (1 - d_opt.b2) * g * g, v, g)

    def step(p, m, v):
      m_hat, v_hat = m / (1 - d_opt.b1**t), v / (1 - d_opt.b2**t)
      return p - d_opt.lr * m_hat / (jnp.sqrt(v_hat + d_opt.eps_root) + 1e-8)

    return jax.tree.map(step, p, m, v), m, v

  d0 = state.params['d']
  zeros = jax.tree.map(jnp.zeros_like, d0)
  if k_steps == 0:
    # The plain alternating game: D steps on detached fakes from its own noise
    # (fold_in(key, 0)), then G's minimax loss against D_1 with noise from fold_in(key, 1).
    k_zd = jax.random.split(jax.random.split(jax.random.fold_in(key, 0), 1)[0])[0]
    k_zg = jax.random.split(jax.random.fold_in(key, 1))[0]
    fake_d = G(state.params['g'], jax.random.normal(k_zd, (n, c.z_dim)))
    d1 = adam(d0, zeros, zeros, 1, jax.grad(d_loss)(d0, fake_d))[0]
    g_loss = lambda g: -jnp.mean(jax.nn.softplus(D(d1, G(g, jax.random.normal(k_zg, (n, c.z_dim))))))  # noqa: E731
    return d1, jax.grad(g_loss)(state.params['g'])

  z = jax.random.normal(jax.random.split(key)[0], (n, c.z_dim))

  def unrolled(p_d, g_params):
    fake = G(g_params, z)
    p, m, v = p_d, zeros, zeros
    for t in range(1, k_steps + 1):
      p, m, v = adam(p, m, v, t, jax.grad(d_loss)(p, fake))
      if t == 1:
        first = p
    return -d_loss(p, fake), first  # G minimises V(G, D_K) = -L_D(D_K)

  return unrolled(d0, state.params['g'])[1], jax.grad(lambda g: unrolled(d0, g)[0])(
      state.params['g']
  )


@pytest.mark.parametrize('k_steps', [0, 1, 3])
def test_unrolled_gradient_matches_a_python_loop(k_steps):
  config, model, batch = _setup(
      'configs/unrolled_gan.py:smoke', **TINY, **{'model.unroll_steps': k_steps}
  )
  key = jax.random.PRNGKey(7)
  state = model.init(jax.random.PRNGKey(0), batch)
  new, _ = jax.jit(model.train_step)(state, batch, key)
  with jax.default_matmul_precision('highest'):
    d1, ref = _reference(config, state, batch['x'], key, k_steps)
  got = jax.tree.map(lambda a, b: a - b, state.params['g'], new.params['g'])
  chex.assert_trees_all_close(got, ref, rtol=2e-4, atol=1e-7)
  # D keeps only its own first step, whatever K.
  chex.assert_trees_all_close(new.params['d'], d1, rtol=1e-5, atol=1e-7)


def test_unrolling_changes_the_generator_gradient():
  grads = []
  for k in (0, 2):
    config, model, batch = _setup(
        'configs/unrolled_gan.py:smoke', **TINY, **{'model.unroll_steps': k}
    )
    state = model.init(jax.random.PRNGKey(0), batch)
    new, _ = jax.jit(model.train_step)(state, batch, jax.random.PRNGKey(7))
    grads.append(jax.tree.leaves(jax.tree.map(jnp.subtract, state.params['g'], new.params['g'])))
  assert not all(np.allclose(a, b) for a, b in zip(*grads))


def test_unrolled_with_k0_is_the_minimax_gan():
  outs = []
  k0 = {'model.unroll_steps': 0, 'optim.g.eps_root': 0.0, 'optim.d.eps_root': 0.0}
  for spec, extra in [('configs/unrolled_gan.py:smoke', k0), ('configs/mm_gan.py:smoke', {})]:
    _, model, batch = _setup(spec, **extra)
    state = model.init(jax.random.PRNGKey(0), batch)
    outs.append(jax.jit(model.train_step)(state, batch, jax.random.PRNGKey(3))[0].params)
  # With K = 0 and the same Adam, the unrolled GAN is the minimax GAN, bit for bit.
  chex.assert_trees_all_equal(outs[0], outs[1], strict=True)


def test_wgan_clips_every_critic_weight_after_each_update():
  config, model, batch = _setup('configs/wgan.py:smoke', **{'optim.d.lr': 0.1})
  state = model.init(jax.random.PRNGKey(0), batch)
  assert float(max(jnp.abs(w).max() for w in jax.tree.leaves(state.params['d']))) > 0.01
  state, metrics = jax.jit(model.train_step)(state, batch, jax.random.PRNGKey(1))
  leaves = jax.tree.leaves(state.params['d'])
  assert max(float(jnp.abs(w).max()) for w in leaves) <= 0.01
  # A large learning rate drives many weights onto the bound.
  assert np.mean([float(jnp.mean(jnp.abs(w) == 0.01)) for w in leaves]) > 0.5
  assert batch['x'].shape[0] == 5  # n_critic = 5 real batches per step
  assert 'd/wasserstein' in metrics


def test_began_k_follows_proportional_control():
  config, model, batch = _setup('configs/began.py:smoke')
  state = model.init(jax.random.PRNGKey(0), batch)
  assert float(state.extra['k']) == 0.0
  step = jax.jit(model.train_step)
  ks = []
  for i in range(5):
    prev = float(state.extra['k'])
    state, m = step(state, batch, jax.random.PRNGKey(i))
    lam = config.model.began_lambda_k
    expected = np.clip(prev + lam * float(m['began/balance']), 0.0, 1.0)
    assert np.isclose(float(state.extra['k']), expected, atol=1e-7)
    ks.append(float(state.extra['k']))
    assert np.isclose(
        float(m['began/m_global']),
        float(m['d/loss_real']) + abs(float(m['began/balance'])),
        rtol=1e-5,
    )
  assert all(0.0 <= k <= 1.0 for k in ks)


@pytest.mark.parametrize('spec', ['configs/wgan_gp.py:mnist', 'configs/dragan.py:mnist'])
def test_penalty_rejects_batch_norm_in_d(spec):
  config = config_lib.load(f'{ROOT}/{spec}')
  assert config.model.d_norm == 'layer'
  config_lib.override(config, 'model.d_norm', 'batch')
  config_lib.override(config, 'data.name', 'digits')
  with pytest.raises(ConfigError, match='d_norm'):
    loop.setup(config)


def test_wgan_gp_penalty_metric_is_the_penalty_of_the_critic():
  # With lambda = 0 the critic's loss is the plain Wasserstein loss and the
  # logged penalty is still (|grad| - 1)^2 at the interpolates.
  _, model, batch = _setup('configs/wgan_gp.py:smoke', **{'model.penalty_weight': 0.0})
  state = model.init(jax.random.PRNGKey(0), batch)
  _, m = jax.jit(model.train_step)(state, batch, jax.random.PRNGKey(1))
  assert np.isclose(float(m['d/loss']), -float(m['d/wasserstein']), rtol=1e-5)
  assert float(m['d/penalty']) >= 0 and float(m['d/penalty_grad_norm']) > 0


def test_unknown_game_and_penalty_are_config_errors():
  for key, value in [('model.game', 'wgan'), ('model.penalty', 'gp'), ('model.arch', 'resnet')]:
    config = config_lib.load(f'{ROOT}/configs/ns_gan.py:smoke')
    config_lib.override(config, key, value)
    with pytest.raises(ConfigError, match=key.split('.')[1]):
      loop.setup(config)


@pytest.mark.parametrize(
    'spec, overrides',
    [
        ('configs/ns_gan.py:smoke', {'model.minibatch': 'features'}),
        ('configs/ns_gan.py:smoke', {'model.minibatch': 'stddev'}),
        ('configs/ns_gan.py:mnist', {'data.name': 'digits', 'model.arch': 'infogan'}),
        ('configs/ns_gan.py:mnist', {'data.name': 'digits', 'model.minibatch': 'features'}),
        ('configs/began.py:mnist', {'data.name': 'digits', 'model.features': 8}),
        ('configs/wgan_gp.py:mnist', {'data.name': 'digits', 'model.features': 8}),
        ('configs/unrolled_gan.py:mnist', {'data.name': 'digits', 'model.features': 8}),
    ],
)
def test_image_and_minibatch_variants_take_finite_steps(spec, overrides):
  overrides = {'train.batch_size': 16, 'model.unroll_steps': 2, **overrides}
  if 'unrolled' not in spec:
    overrides.pop('model.unroll_steps')
  _, model, batch = _setup(spec, **overrides)
  state = model.init(jax.random.PRNGKey(0), batch)
  step = jax.jit(model.train_step)
  new = state
  for i in range(2):
    new, metrics = step(new, batch, jax.random.PRNGKey(i))
    assert all(np.isfinite(float(v)) for v in metrics.values())
  changed = jax.tree.map(lambda a, b: not np.array_equal(a, b), state.params, new.params)
  assert any(jax.tree.leaves(changed['g'])) and any(jax.tree.leaves(changed['d']))
  x = model.sample(new, jax.random.PRNGKey(9), 4)
  assert x.shape == (4,) + tuple(batch['x'].shape[-3:] if batch['x'].ndim > 2 else (2,))
