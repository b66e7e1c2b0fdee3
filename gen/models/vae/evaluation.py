"""The VAE family's evaluation: bounds on the test log-likelihood, active units, figures.

Per test example, with the fixed evaluation key (batch i: fold_in(key, i)):
  elbo, rec, kl    one draw z ~ q(z|x); KL in closed form where there is one
  elbo_mc          the same draw's log w: equal to iwae_1 exactly (the same z)
  iwae_<k>         L_k (Burda et al. 2016) for every k of eval.iwae_k; draws 0..k-1 share
                   their keys across k, so the bounds are computed on nested sample sets
  nll              -L_k at the largest k: the number papers report as the test NLL
  bits_per_dim     nll / (H W C ln 2) for discrete data (binary, or 8-bit under the
                   discretized logistic)
  active_units     per layer, units u with Var_x E_q[z_u | x] > 0.01 (Burda et al. 2016,
                   sec. 5.2; their `iwae.py` measures it on 500 training images, here on
                   the evaluated split)
"""

from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from gen.losses import bounds
from gen.models import labels as labels_lib
from gen.viz import images as images_lib
from gen.viz import latent as latent_viz

ACTIVE_THRESHOLD = 0.01


def active_units(means: np.ndarray, threshold: float = ACTIVE_THRESHOLD) -> int:
  """Units whose posterior mean varies across examples: Var_x E_q[z_u|x] > threshold."""
  return int(np.sum(np.var(np.asarray(means, np.float64), axis=0) > threshold))


def make_evaluate(net, eval_params, onehot, iwae_ks, chunk, opt, info, disentanglement=None):
  """evaluate(state, batches, key) -> the numbers of the module docstring; on dsprites
  with `disentanglement` (eval.disentanglement: num_train, num_eval, batch_size) also the
  beta-VAE disentanglement metric of z_1's posterior means (Higgins et al. 2017)."""
  # A pmf over {0, 1} on binary data or over 256 levels (logistic): bits/dim are defined
  # (on [0, 1] data the Bernoulli term is a cross-entropy, not a likelihood: the study's VAE).
  discrete = opt['likelihood'] == 'bernoulli' and opt.get('binary_data', True)
  discrete = discrete or opt['likelihood'] == 'logistic'
  num_dims = math.prod(info.shape)

  @jax.jit
  def batch_values(params, batch, key):
    x, y = batch['x'], onehot(batch)
    d = net.draw(params, x, y, jax.random.fold_in(key, 0))
    one = lambda k: net.draw(params, x, y, k).log_w
    out = {'elbo': d.rec - d.kl, 'rec': d.rec, 'kl': d.kl, 'elbo_mc': d.log_w}
    for k in iwae_ks:
      out[f'iwae_{k}'] = bounds.iwae_bound(one, key, k, math.gcd(k, chunk))
    return out, net.posterior_means(params, x, y)

  def evaluate(state, batches, key):
    params = eval_params(state)
    totals, count, means = {}, 0, [[] for _ in net.families]
    for i, (batch, valid) in enumerate(batches):
      batch = {k: jnp.asarray(v) for k, v in batch.items()}
      values, layer_means = batch_values(params, batch, jax.random.fold_in(key, i))
      for name, v in values.items():
        totals[name] = totals.get(name, 0.0) + float(np.sum(np.asarray(v, np.float64)[:valid]))
      for store, m in zip(means, layer_means):
        store.append(np.asarray(m)[:valid])
      count += valid
    out = {name: v / count for name, v in totals.items()}
    out['nll'] = -out[f'iwae_{max(iwae_ks)}']
    if discrete:
      out['bits_per_dim'] = out['nll'] / (num_dims * math.log(2))
    units = [active_units(np.concatenate(m)) for m in means]
    out.update(
        num_examples=count,
        active_units=sum(units),
        active_units_per_layer=units,
        latent_dims=list(opt['latent_dims']),
        iwae_k=list(iwae_ks),
    )
    if disentanglement and info.name == 'dsprites':
      from gen.data import dsprites  # pylint: disable=import-outside-toplevel
      from gen.eval import disentanglement as dis  # pylint: disable=import-outside-toplevel

      means_fn = jax.jit(lambda x: net.posterior_means(params, x, None)[0])
      score = dis.beta_vae_score(
          lambda x: np.asarray(means_fn(jnp.asarray(x))), dsprites, jax.random.fold_in(key, 7),
          **dict(disentanglement),
      )  # fmt: skip
      out['beta_vae_score'] = score['eval_accuracy']
      out['beta_vae_score_train'] = score['train_accuracy']
    return out

  return evaluate


def make_figures(net, eval_params, onehot, opt, info, scale):
  """figures(state, batches, key, prefix) for eval.py: reconstructions, interpolations
  between test images, and for one Gaussian layer the latent traversals, the prior hole
  (aggregate posterior against the prior) and, for a 2-D latent, the manifold; for a
  conditional model a sample grid with one row per class."""
  one_gaussian = net.depth == 1 and opt['posterior'] == 'gaussian'
  dim = opt['latent_dims'][0]

  @jax.jit
  def encode(params, batch):
    x, y = batch['x'], onehot(batch)
    if one_gaussian:
      h, _ = net.apply(net.encoders[0], params['enc'], net._input(x, y))  # pylint: disable=protected-access
      return net.families[0].parse(h)
    means = net.posterior_means(params, x, y)
    return means[0], jnp.zeros_like(means[0])

  decode = jax.jit(lambda params, z, y: net.decode(params, z, y))
  sample = jax.jit(lambda params, key, y: net.generate(params, key, y.shape[0], y))

  def figures(state, batches, key, prefix):
    params = eval_params(state)
    first, means, log_vars, labels = None, [], [], []
    for batch, valid in batches:
      batch = {k: jnp.asarray(v) for k, v in batch.items()}
      first = batch if first is None else first
      m, lv = encode(params, batch)
      means.append(np.asarray(m)[:valid])
      log_vars.append(np.asarray(lv)[:valid])
      if 'label' in batch:
        labels.append(np.asarray(batch['label'])[:valid])
    means, variances = np.concatenate(means), np.exp(np.concatenate(log_vars))
    y = onehot(first)  # a conditional model decodes every figure with the first image's label

    def dec(z, label_rows=None):
      rows = None if y is None else (y[: len(z)] if label_rows else jnp.repeat(y[:1], len(z), 0))
      return np.asarray(decode(params, jnp.asarray(z, jnp.float32), rows))

    os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
    paths = {}

    def path(name):
      paths[name] = f'{prefix}{name}.png'
      return paths[name]

    n = min(32, len(means))
    x = np.asarray(first['x'][:n])
    latent_viz.save_reconstructions(x, dec(means[:n], label_rows=True), path('reconstructions'), scale)
    half = n // 2
    latent_viz.save_interpolations(
        dec, means[:half], means[half : 2 * half], path('interpolations'), steps=10,
        mode='slerp' if opt['posterior'] == 'vmf' else 'linear', scale=scale,
        x_a=x[:half], x_b=x[half : 2 * half],
    )  # fmt: skip
    if one_gaussian:
      kl_per_unit = np.mean(0.5 * (means**2 + variances - 1.0 - np.log(variances)), axis=0)
      latent_viz.save_traversals(
          dec, means[0], path('traversals'), scale=scale, scores=kl_per_unit, top=min(dim, 10),
          title='latent traversals of the first test image, rows by KL',
      )  # fmt: skip
      latent_viz.save_prior_hole(
          means, path('prior_hole'), labels=np.concatenate(labels) if labels else None,
          variances=variances, projection='first2' if dim <= 2 else 'pca',
          title='posterior means over the prior',
      )  # fmt: skip
      if dim == 2:
        latent_viz.save_manifold(dec, path('manifold'), n=20, latent_dim=2, scale=scale)
    if y is not None:
      classes = y.shape[-1]
      grid_labels = jax.nn.one_hot(labels_lib.default_labels(classes * classes, classes), classes)
      grid = sample(params, jax.random.fold_in(key, 1), grid_labels)
      images_lib.save_grid(np.asarray(grid), path('samples_by_class'), scale)
    return paths

  return figures
