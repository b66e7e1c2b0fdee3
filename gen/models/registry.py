"""Model name -> builder(config, dataset_info) -> Model."""

from __future__ import annotations

from gen.config import ConfigError
from gen.models.gan import gan
from gen.models.vae import vae

BUILDERS = {
    'vae': vae.build,
    'gan': gan.build,
}


def build(config, dataset_info):
  name = config.model.name
  if name not in BUILDERS:
    raise ConfigError(f'Unknown model {name!r}; valid: {", ".join(sorted(BUILDERS))}.')
  return BUILDERS[name](config, dataset_info)
