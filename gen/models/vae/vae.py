"""The VAE family as one model: VAE (Kingma & Welling 2014), IWAE (Burda et al. 2016),
hierarchical VAEs with bottom-up or Ladder inference (Sønderby et al. 2016), the
conditional VAE, beta-VAE (Higgins et al. 2017) and its capacity schedule (Burgess et
al. 2018), the S-VAE (Davidson et al. 2018) and the VampPrior (Tomczak & Welling 2018).
Config keys are in configs/vae.py's `_base`; hierarchy.py holds the networks and one draw.

Training objectives, per example, over `k` draws z_i ~ q(z|x) (log w_i = log p(x, z_i) -
log q(z_i|x), rec_i = log p(x|z_i), KL_i closed form where there is one, else log q - log p):
  'elbo'  mean_i [rec_i - beta_t KL_i]; beta_t = beta * min(1, step / kl_warmup_steps)
          (KL warm-up, Sønderby et al. 2016, sec. 2.3); with capacity.gamma > 0 instead
          rec - gamma |KL - C_t|, C_t rising linearly from 0 to capacity.max_nats over
          capacity.steps (Burgess et al. 2018, eq. 8, on the batch means as 1Konny/Beta-VAE)
  'iwae'  log (1/k) sum_i w_i (Burda et al. 2016, eq. 8)
A vMF latent's rejection sampler adds its gradient correction (gen/distributions/vmf.py).

arch='infogan' is the VAE of Lucic et al. 2018 (compare_gan src/gans/VAE.py): the study's
InfoGAN D trunk as encoder (batch norm per `norm`, compare_gan's searched
discriminator_batchnorm) and its G with ReLU as decoder (batch norm always). Batch norm
trains on batch statistics; the running averages (decay 0.999 with layers=compare_gan) are
updated from the step's first draw at the step's parameters, in a second forward pass
(the loss's pass runs under the draws' vmap and discards them). Bounds, reconstructions and
figures use the running averages (a per-example model); `sample` normalises with the
sampled batch's statistics, as gen's GAN generators do, so that short runs are not judged
through running averages that still carry their initial values (after 1,000 steps at
decay 0.999 they are 37 % initial). `sample_z='uniform'` decodes z ~ U(-1, 1) instead of
prior draws: compare_gan v1 evaluates every model of the study, the VAE included, so.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from gen import config as config_lib
from gen import nn as gnn
from gen.losses import bounds
from gen.losses import likelihood
from gen.models import labels as labels_lib
from gen.models.gan import networks as gan_networks
from gen.models.vae import evaluation, hierarchy, latents, networks
from gen.distributions import vmf
from gen.train import optim
from gen.train import state as state_lib
from gen.train.model import Model

LIKELIHOODS = ('bernoulli', 'gaussian', 'logistic')
ARCHS = ('mlp', 'conv', 'infogan')
SAMPLE_Z = ('prior', 'uniform')
POSTERIORS = ('gaussian', 'vmf')
OBJECTIVES = ('elbo', 'iwae')
# Keys added after the first VAE: runs saved before them read these values.
DEFAULTS = dict(
    activation='tanh', conv_down=2, inference='bottom_up', posterior='gaussian',
    prior='standard', num_pseudo=500, pseudo_init=(0.05, 0.01), conditional=False,
    objective='elbo', k=1, beta=1.0, kl_warmup_steps=0,
    capacity=dict(gamma=0.0, max_nats=25.0, steps=100_000),
    norm='batch', layers='compare_gan', sample_z='prior',
)  # fmt: skip


def options(cfg) -> dict:
  """The model's keys with DEFAULTS filled in, layer sizes as per-layer tuples."""
  opt = {**DEFAULTS, **cfg.to_dict()}
  dims = opt['latent_dim']
  opt['latent_dims'] = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
  hidden = tuple(opt['hidden'])
  nested = bool(hidden) and isinstance(hidden[0], (tuple, list))
  opt['hiddens'] = tuple(tuple(h) for h in hidden) if nested else (hidden,)
  return opt


def _check(opt, info):
  """Every model key against its meaning and the data, before any network is built."""
  req = config_lib.require
  for key, choices in (('arch', ARCHS), ('likelihood', LIKELIHOODS), ('posterior', POSTERIORS),
                       ('prior', hierarchy.PRIORS), ('inference', hierarchy.INFERENCES),
                       ('objective', OBJECTIVES), ('activation', tuple(networks.ACTIVATIONS))):  # fmt: skip
    config_lib.require_choice(opt[key], f'model.{key}', choices)
  dims, hiddens = opt['latent_dims'], opt['hiddens']
  if isinstance(opt['latent_dim'], (tuple, list)):
    config_lib.require_sizes(opt['latent_dim'], 'model.latent_dim')
  else:
    config_lib.require_int(opt['latent_dim'], 'model.latent_dim')
  if len(hiddens) == 1 and not isinstance(opt['hidden'][0], (tuple, list)):
    config_lib.require_sizes(opt['hidden'], 'model.hidden')
  else:
    ok = all(isinstance(h, tuple) and h and all(config_lib.is_int(v) and v >= 1 for v in h) for h in hiddens)  # fmt: skip
    req(ok, 'model.hidden', opt['hidden'], 'must be a tuple of integers >= 1 per stochastic layer, e.g. ((200, 200), (100, 100))')  # fmt: skip
  req(len(hiddens) == len(dims), 'model.hidden', opt['hidden'],
      f'needs one tuple of widths per stochastic layer ({len(dims)} in model.latent_dim)')  # fmt: skip
  for key in ('features', 'conv_down', 'k', 'num_pseudo'):
    config_lib.require_int(opt[key], f'model.{key}')
  config_lib.require_int(opt['kl_warmup_steps'], 'model.kl_warmup_steps', 0)
  config_lib.require_number(opt['beta'], 'model.beta', 0.0)
  config_lib.require_number(opt['capacity']['gamma'], 'model.capacity.gamma', 0.0)
  config_lib.require_number(opt['capacity']['max_nats'], 'model.capacity.max_nats', 0.0)
  config_lib.require_int(opt['capacity']['steps'], 'model.capacity.steps')
  req(info.kind == 'image', 'data.name', info.name, 'is 2D points; the VAE models images (e.g. data.name=digits)')  # fmt: skip
  vmf_latent = opt['posterior'] == 'vmf'
  if vmf_latent:
    req(len(dims) == 1, 'model.posterior', 'vmf', 'takes one stochastic layer (the S-VAE)')
    req(dims[0] >= 2, 'model.latent_dim', dims[0],
        'must be >= 2 for a vMF latent: its sphere S^{m-1} lives in R^m, m >= 2')  # fmt: skip
  good = ('uniform', 'vamp') if vmf_latent else ('standard', 'vamp')
  req(opt['prior'] in good, 'model.prior', opt['prior'], f'with a {opt["posterior"]} posterior must be one of {", ".join(good)}')  # fmt: skip
  req(not (opt['conditional'] and opt['prior'] == 'vamp'), 'model.prior', 'vamp',
      'has unlabelled pseudo-inputs: a conditional VAE takes prior=standard')  # fmt: skip
  if opt['objective'] == 'iwae':
    plain = opt['beta'] == 1.0 and not opt['kl_warmup_steps'] and not opt['capacity']['gamma']
    req(plain, 'model.objective', 'iwae', 'is the bound itself: beta, kl_warmup_steps and capacity need objective=elbo')  # fmt: skip
  config_lib.require_choice(opt['sample_z'], 'model.sample_z', SAMPLE_Z)
  if opt['arch'] == 'infogan':
    _check_infogan(opt, info)
  else:
    for key in ('norm', 'layers'):
      req(opt[key] == DEFAULTS[key], f'model.{key}', opt[key], 'only the infogan networks take it; set model.arch=infogan')  # fmt: skip
  if opt['sample_z'] == 'uniform':
    req(opt['prior'] == 'standard' and len(dims) == 1 and opt['posterior'] == 'gaussian', 'model.sample_z', 'uniform', 'replaces the draws of a one-layer Gaussian model with a standard prior')  # fmt: skip
  if opt['arch'] == 'conv':
    scale = 2 ** opt['conv_down']
    req(info.shape[0] % scale == 0 and info.shape[1] % scale == 0, 'model.arch', 'conv',
        f'needs a height and width divisible by {scale} (model.conv_down={opt["conv_down"]}); '
        f'{info.name} is {info.shape[0]}x{info.shape[1]}: use model.arch=mlp')  # fmt: skip


def _check_infogan(opt, info):
  """The study's VAE: one Gaussian layer, unconditional, square images of a size / 4."""
  req = config_lib.require
  config_lib.require_choice(opt['norm'], 'model.norm', ('batch', 'none'))
  config_lib.require_choice(opt['layers'], 'model.layers', gan_networks.LAYERS)
  kinds = (opt['posterior'], opt['prior'])
  one = len(opt['latent_dims']) == 1 and kinds == ('gaussian', 'standard')
  req(one, 'model.arch', 'infogan', 'is the one-layer Gaussian VAE of Lucic et al. 2018: set model.latent_dim to one size, model.posterior=gaussian, model.prior=standard')  # fmt: skip
  req(not opt['conditional'], 'model.conditional', True, 'is not available with model.arch=infogan')
  h, w = info.shape[0], info.shape[1]
  req(h == w and h % 4 == 0, 'model.arch', 'infogan', f'needs square images of a size divisible by 4; {info.name} is {h}x{w}')  # fmt: skip


def _check_logistic(data, info, binary: bool):
  """The discretized logistic is a pmf on the 8-bit grid of [-1, 1]."""
  req = config_lib.require
  req(info.levels == 256 and not binary, 'model.likelihood', 'logistic',
      f'models 8-bit pixels; {info.name} has {2 if binary else info.levels} levels here: '
      'use model.likelihood=bernoulli for binary data')  # fmt: skip
  req(data.scale == 'symmetric', 'data.scale', data.scale,
      'must be symmetric with model.likelihood=logistic (the 8-bit grid of [-1, 1])')
  req(not data.dequantize, 'data.dequantize', True,
      'is off for model.likelihood=logistic: it scores the pixel levels themselves')


def _check_eval(eval_cfg):
  config_lib.require_sizes(eval_cfg.get('iwae_k', (1,)), 'eval.iwae_k')
  config_lib.require_int(eval_cfg.get('iwae_chunk', 1), 'eval.iwae_chunk')
  for key, value in dict(eval_cfg.get('disentanglement') or {}).items():
    config_lib.require_choice(key, 'eval.disentanglement', ('num_train', 'num_eval', 'batch_size'))
    config_lib.require_int(value, f'eval.disentanglement.{key}')


def _hierarchy(opt, info, apply) -> hierarchy.Hierarchy:
  act = networks.ACTIVATIONS[opt['activation']]
  dims, hiddens, shape = opt['latent_dims'], opt['hiddens'], tuple(info.shape)
  families = tuple(latents.family(opt['posterior'], d) for d in dims)
  channels = shape[-1] * (2 if opt['likelihood'] == 'gaussian' else 1)
  if opt['likelihood'] == 'logistic':  # one component in openai's layout, per pixel
    channels = 10 if shape[-1] == 3 else 3  # [logit, (mean, log-scale, coeff) x C] or 3
  if opt['arch'] == 'infogan':
    enc0 = networks.InfoGANEncoder(shape[0], families[0].out_size, opt['norm'], opt['layers'])
    dec0 = networks.InfoGANDecoder(shape[0], channels, opt['layers'])
  elif opt['arch'] == 'conv':
    enc0 = networks.ConvEncoder(opt['features'], families[0].out_size, opt['conv_down'], act)
    dec0 = networks.ConvDecoder(opt['features'], shape, channels, opt['conv_down'], act)
  else:
    enc0 = networks.MLPEncoder(hiddens[0], families[0].out_size, act)
    dec0 = networks.MLPDecoder(hiddens[0][::-1], shape, channels, act)
  # Upper layers: MLPs of the layer's widths up, and mirrored down (IWAE's 2-layer model).
  encoders = (enc0,) + tuple(networks.MLPEncoder(h, f.out_size, act) for h, f in zip(hiddens[1:], families[1:]))  # fmt: skip
  decoders = (dec0,) + tuple(networks.MLPEncoder(h[::-1], f.out_size, act) for h, f in zip(hiddens[1:], families[:-1]))  # fmt: skip

  if opt['likelihood'] == 'bernoulli':
    log_lik, mean = (lambda out, x: likelihood.bernoulli(out, x)), jax.nn.sigmoid
  elif opt['likelihood'] == 'logistic':
    # A discretized logistic per pixel on the 8-bit grid of [-1, 1], one component of
    # PixelCNN++'s mixture (Salimans et al. 2017; as the decoders of Kingma et al. 2016,
    # IAF, from memory): a pmf over the 256 levels, so NLL and bits/dim are exact.
    def log_lik(out, x):
      return jnp.sum(likelihood.discretized_logistic_mixture_logprob(x, out), axis=(1, 2))

    mean = lambda out: likelihood.discretized_logistic_mixture_mean(out, shape[-1])
  else:
    def log_lik(out, x):
      mu, log_var = jnp.split(out, 2, axis=-1)
      return likelihood.gaussian(x, jax.nn.sigmoid(mu), log_var)

    mean = lambda out: jax.nn.sigmoid(jnp.split(out, 2, axis=-1)[0])
  return hierarchy.Hierarchy(
      families=families, encoders=encoders, decoders=decoders, inference=opt['inference'],
      prior=opt['prior'], log_likelihood=log_lik, data_mean=mean, data_shape=shape,
      num_pseudo=opt['num_pseudo'], pseudo_init=tuple(opt['pseudo_init']), apply=apply,
      image_input=opt['arch'] != 'mlp',
  )  # fmt: skip


class WithStats(NamedTuple):
  """A batch-norm network's entry in the params the Hierarchy reads: its params and
  running statistics (constants to the loss's gradient)."""

  params: Any
  batch_stats: Any


def with_stats(params: dict, stats: dict) -> dict:
  return {n: WithStats(p, stats[n]) if n in stats else p for n, p in params.items()}


def build(config, info) -> Model:
  opt = options(config.model)
  _check(opt, info)
  _check_eval(config.eval)
  opt['binary_data'] = info.levels == 2 or bool(config.data.get('binarize', False))
  if opt['likelihood'] == 'logistic':
    _check_logistic(config.data, info, opt['binary_data'])
  classes = labels_lib.num_classes(config, info, 'VAE') if opt['conditional'] else 0
  dtype = gnn.compute_dtype(config.train.get('compute_dtype', 'float32'))

  def make_apply(train: bool):
    """(module, params or WithStats, *args) -> output; batch norm on the batch's
    statistics (train) or the running averages."""

    def apply(module, variables, *args):
      if isinstance(variables, WithStats):
        return gnn.apply(module, variables.params, variables.batch_stats, *args, train=train, dtype=dtype)[0]  # fmt: skip
      return gnn.apply(module, variables, {}, *args, dtype=dtype)[0]

    return apply

  net = _hierarchy(opt, info, make_apply(False))  # evaluation: running averages
  net_batch = dataclasses.replace(net, apply=make_apply(True))  # training and sampling
  tx = optim.make(config.optim, 'optim')
  k, beta, warmup, cap = opt['k'], opt['beta'], opt['kl_warmup_steps'], opt['capacity']
  onehot = lambda batch: jax.nn.one_hot(batch['label'], classes) if classes else None

  def draws(params, batch, key, n):
    """n draws per example, stacked on a leading axis: a Draw of (n, N) arrays."""
    x, y = batch['x'], onehot(batch)
    one = lambda i: net_batch.draw(params, x, y, jax.random.fold_in(key, i))
    return jax.vmap(one)(jnp.arange(n))

  def loss_fn(params, stats, batch, key, step):
    d = draws(with_stats(params, stats), batch, key, k)
    if opt['objective'] == 'iwae':
      per_example = vmf.surrogate(bounds.logmeanexp(d.log_w), jnp.sum(d.ell, axis=0))
      loss = -jnp.mean(per_example)
      extra = {'vae/iwae': -loss}
    else:
      beta_t = beta * (jnp.minimum(1.0, step / warmup) if warmup else 1.0)
      if cap['gamma']:
        target = cap['max_nats'] * jnp.minimum(1.0, step / cap['steps'])
        rec = vmf.surrogate(d.rec, d.ell)
        loss = -jnp.mean(rec) + cap['gamma'] * jnp.abs(jnp.mean(d.kl) - target)
        extra = {'vae/capacity': target}
      else:
        loss = -jnp.mean(vmf.surrogate(d.rec - beta_t * d.kl, d.ell))
        extra = {'vae/beta': beta_t}
    elbo = d.rec - d.kl
    return loss, {'vae/elbo': jnp.mean(elbo), 'vae/rec': jnp.mean(d.rec), 'vae/kl': jnp.mean(d.kl), **extra}  # fmt: skip

  def init(key, batch):
    k_net, k_rng = jax.random.split(key)
    params, stats = net.init(k_net, batch['x'], onehot(batch))
    return state_lib.create(k_rng, params, {'vae': tx.init(params)}, batch_stats=stats)

  def running_stats(params, stats, batch, key):
    """Batch norm's running averages after this step: the forward pass of the loss's
    first draw (the same z) at the step's parameters (the infogan arch: one layer)."""
    if not stats:
      return stats
    fam, new = net.families[0], dict(stats)
    (h, _), enc_stats = gnn.apply(net.encoders[0], params['enc'], stats.get('enc', {}), batch['x'], train=True, dtype=dtype)  # fmt: skip
    if 'enc' in stats:
      new['enc'] = enc_stats
    z, _ = fam.sample(jax.random.split(jax.random.fold_in(key, 0), 1)[0], fam.parse(h))
    _, new['dec'] = gnn.apply(net.decoders[0], params['dec'], stats['dec'], z, train=True, dtype=dtype)  # fmt: skip
    return new

  def train_step(state, batch, key):
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, aux), grads = grad_fn(state.params, state.batch_stats, batch, key, state.step.astype(jnp.float32))  # fmt: skip
    updates, opt_state = tx.update(grads, state.opt_state['vae'], state.params)
    new = state.replace(
        params=optax.apply_updates(state.params, updates),
        opt_state={'vae': opt_state},
        batch_stats=running_stats(state.params, state.batch_stats, batch, key),
    )
    return new, {'vae/loss': loss, 'vae/grad_norm': optax.tree.norm(grads), **aux}

  def eval_params(state):
    params = {name: state_lib.network_params(state, name) for name in net.network_names}
    return with_stats(params, state.batch_stats)

  def sample(state, key, n, labels=None):
    y = None
    if classes:
      labels = labels_lib.default_labels(n, classes) if labels is None else labels
      y = jax.nn.one_hot(labels, classes)
    if opt['sample_z'] == 'uniform':
      z = jax.random.uniform(key, (n, opt['latent_dims'][0]), minval=-1.0, maxval=1.0)
      return net_batch.decode(eval_params(state), z, y)
    return net_batch.generate(eval_params(state), key, n, y)

  iwae_ks = tuple(config.eval.get('iwae_k', (1, 50, 5000)))
  chunk = int(config.eval.get('iwae_chunk', 100))

  def log_likelihood(state, batch, key):
    """L_k with k = max(eval.iwae_k): an importance-weighted lower bound on log p(x)."""
    params = eval_params(state)
    x, y = batch['x'], onehot(batch)
    one = lambda key: net.draw(params, x, y, key).log_w
    kmax = max(iwae_ks)
    return bounds.iwae_bound(one, key, kmax, math.gcd(kmax, chunk))

  return Model(
      init=init,
      train_step=train_step,
      sample=sample,
      evaluate=evaluation.make_evaluate(
          net, eval_params, onehot, iwae_ks, chunk, opt, info, config.eval.get('disentanglement')
      ),
      ema_networks=net.network_names,
      log_likelihood=log_likelihood,
      num_classes=classes,
      figures=evaluation.make_figures(net, eval_params, onehot, opt, info, config.data.scale),
  )
