"""The games of Lucic et al. 2018 as gen configs: compare_gan's architecture and game
quirks (reference sheet cyclegan_lucic.md 2.2, 2.3) and the mapping of a trial's
compare_gan parameters (spaces.py names) onto gen's config keys.

`overrides(game, params, d_steps)` gives the `{config key: value}` of one trial on
top of configs/lucic.py's presets (which apply ARCHITECTURE and GAME_QUIRKS);
`trial_overrides(row)` does so for a row of trials.jsonl (plan.py). The budget is
counted in D steps, as compare_gan's `training_steps`; gen's step is n_disc D
updates and one G update, so train.num_steps = plan.g_steps (ceil(d_steps /
disc_iters)). The VAE (gen's VAE model, arch infogan: VAE_ARCHITECTURE) makes one
update per step; its disc_iters is sampled but unused, as in compare_gan.
"""

from __future__ import annotations

from typing import Any, Mapping

from gen import config as config_lib
from gen.study.lucic import plan
from gen.study.lucic import spaces
from gen.study.lucic import studies

# The same nets for every game and dataset (abstract_gan.py; gan_lib.py `create_gan`:
# "same batch size and latent space dimension for all GANs"), pixels in [0, 1].
ARCHITECTURE = {
    'data.scale': 'unit',
    'model.arch': 'infogan',
    'model.z_dim': 64,
    'model.z_prior': 'uniform',
    'model.g_activation': 'lrelu',
    'model.image_output': 'sigmoid',
    'model.layers': 'compare_gan',
    'model.minibatch': 'none',
    'train.batch_size': studies.BATCH_SIZE,
    # Adam(learning_rate, beta1) with TF's b2 0.999 and eps 1e-8 (eps outside the root;
    # TF1 applies it to sqrt(v) before bias correction, optax after: a tiny difference).
    'optim.g.name': 'adam',
    'optim.d.name': 'adam',
    'optim.g.b2': 0.999,
    'optim.d.b2': 0.999,
}

# Each game as compare_gan's src/gans/*.py implements it.
GAME_QUIRKS = {
    'ns_gan': {'model.game': 'ns'},
    'mm_gan': {'model.game': 'mm'},  # GAN.py: g_loss = -d_loss_fake
    'wgan': {'model.game': 'wasserstein'},  # WGAN.py: clip every trainable D variable
    'wgan_gp': {  # WGAN_GP.py: on logits, slopes = sqrt(1e-4 + sum g^2)
        'model.game': 'wasserstein',
        'model.penalty': 'wgan_gp',
        'model.penalty_eps': 1e-4,
        'model.penalty_with_batch_norm': True,
    },
    'dragan': {  # DRAGAN.py: NS losses; gradients of the sigmoid D_inter; same slopes
        'model.game': 'ns',
        'model.penalty': 'dragan',
        'model.penalty_on': 'sigmoid',
        'model.penalty_eps': 1e-4,
        'model.penalty_with_batch_norm': True,
    },
    'lsgan': {'model.game': 'ls', 'model.ls_on': 'sigmoid'},  # LSGAN.py
    'began': {  # BEGAN.py: k_0 = 0, k not clipped; its InfoGAN-shaped autoencoder, code 64
        'model.game': 'began',
        'model.began_clip_k': False,
        'model.began_autoencoder': 'infogan',
        'model.code_dim': 64,
    },
}

# The VAE row (compare_gan src/gans/VAE.py; reference sheet 2.2): gen's VAE model with
# the study's nets (encoder = D trunk + FC 2 * 64, decoder = G with ReLU), z ~ N(0, I)
# in training, the Bernoulli cross-entropy on [0, 1] pixels plus the KL; Adam(lr, beta1),
# b2 0.999. The study's evaluation decodes z ~ U(-1, 1) for every model (v1 quirk).
VAE_ARCHITECTURE = {
    'data.scale': 'unit',
    'data.binarize': False,
    'model.arch': 'infogan',
    'model.layers': 'compare_gan',
    'model.likelihood': 'bernoulli',
    'model.latent_dim': (64,),
    'model.sample_z': 'uniform',
    'train.batch_size': studies.BATCH_SIZE,
    'optim.name': 'adam',
    'optim.b2': 0.999,
    # The study scores samples only; the bounds eval.py adds stay cheap (k = 1).
    'eval.iwae_k': (1,),
}
GAMES = spaces.GAMES  # every game of the study, the VAE included


def _param_overrides(name: str, value, game: str) -> dict[str, Any]:
  """The gen keys of one compare_gan parameter."""
  if game == 'vae':  # one optimizer; disc_iters unused; batch norm is the encoder's
    keys = dict(learning_rate='optim.lr', beta1='optim.b1', discriminator_batchnorm='model.norm')
    if name == 'discriminator_batchnorm':
      value = 'batch' if value else 'none'
    return {keys[name]: value} if name in keys else {}
  if name == 'learning_rate':
    return {'optim.g.lr': value, 'optim.d.lr': value}
  if name == 'beta1':
    return {'optim.g.b1': value, 'optim.d.b1': value}
  if name == 'disc_iters':
    return {'model.n_disc': value}
  if name == 'discriminator_batchnorm':
    return {'model.d_norm': 'batch' if value else 'none'}
  if name == 'weight_clipping':
    return {'model.clip': value}
  if name == 'gamma':
    return {'model.began_gamma': value}
  # lambda: the penalty weight, or BEGAN's k rate (params.py uses one name for both).
  return {'model.began_lambda_k' if game == 'began' else 'model.penalty_weight': value}


def overrides(game: str, params: Mapping[str, Any], d_steps: int | None = None) -> dict[str, Any]:
  """{gen config key: value} of compare_gan's parameters `params` for `game` (a
  spaces.GAMES name), and train.num_steps for a budget of d_steps D steps."""
  if game not in GAMES:
    raise config_lib.ConfigError(
        f'trial game {game!r} is not a game of configs/lucic.py; games: {", ".join(GAMES)}.'
    )
  expected = set(spaces.space(game, spaces.WIDE))
  if set(params) != expected:
    raise config_lib.ConfigError(
        f'trial params {sorted(params)} of {game}: {game} takes exactly '
        f'{", ".join(sorted(expected))} (compare_gan names, gen/study/lucic/spaces.py).'
    )
  out = dict(GAME_QUIRKS.get(game, {}))
  for name, value in sorted(params.items()):
    out.update(_param_overrides(name, value, game))
  if d_steps is not None:
    out['train.num_steps'] = plan.g_steps(game, params, d_steps)
  return out


def trial_overrides(row: Mapping[str, Any]) -> dict[str, Any]:
  """The overrides of a trials.jsonl row on configs/lucic.py: its dataset, seed
  (compare_gan's tf_seed), batch size, parameters and budget."""
  return {
      'data.name': row['dataset'],
      'seed': row['seed'],
      'train.batch_size': row['batch_size'],
      **overrides(row['game'], row['params'], row['d_steps']),
  }


def apply(config, values: Mapping[str, Any]) -> None:
  """Sets `values` on a config as the command line would (--config.KEY=str(value)),
  so a runner passing them as flags gets the same config."""
  for key, value in values.items():
    config_lib.override(config, key, str(value))
