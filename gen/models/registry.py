"""Model name -> builder(config, dataset_info) -> Model.

Builders are imported when a model is built, so a run imports only its own family.
"""

from __future__ import annotations

import importlib

from gen import config as config_lib

# name -> the module whose `build` makes it
MODULES = {
    'vae': 'gen.models.vae.vae',
    'gan': 'gen.models.gan.gan',
    'pixelcnn': 'gen.models.autoregressive.pixelcnn',
    'gated_pixelcnn': 'gen.models.autoregressive.gated_pixelcnn',
    'pixelcnn_pp': 'gen.models.autoregressive.pixelcnn_pp',
    'row_lstm': 'gen.models.autoregressive.pixelrnn',
    'diagonal_bilstm': 'gen.models.autoregressive.pixelrnn',
    'multiscale_pixelrnn': 'gen.models.autoregressive.multiscale',
}


def build(config, dataset_info):
  name = config.model.name
  config_lib.require_choice(name, 'model.name', sorted(MODULES))
  return importlib.import_module(MODULES[name]).build(config, dataset_info)
