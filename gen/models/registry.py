"""Model name -> builder(config, dataset_info) -> Model."""

from __future__ import annotations

from gen import config as config_lib
from gen.models.gan import gan
from gen.models.vae import vae

BUILDERS = {
    'vae': vae.build,
    'gan': gan.build,
}


def build(config, dataset_info):
  name = config.model.name
  config_lib.require_choice(name, 'model.name', sorted(BUILDERS))
  return BUILDERS[name](config, dataset_info)
