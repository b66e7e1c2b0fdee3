r"""The hyperspherical VAE (S-VAE, Davidson et al. 2018): a von Mises-Fisher posterior on the
sphere S^d in R^(d+1) and the uniform prior on it, against the Gaussian VAE (N-VAE) with d
latents at the same networks and budget. d is the manifold dimension, as in the reference
code (nicola-decao/s-vae-pytorch examples/mnist.py: Z_DIM = d, the vMF lives in R^(d+1)).

  python train.py --config=configs/svae.py:svae_d5 --workdir=runs/svae_d5
  python train.py --config=configs/svae.py:nvae_d5 --workdir=runs/nvae_d5
  python eval.py --workdir=runs/svae_d5

The gradient of the vMF's rejection sampler includes the correction term g_cor the
reference code omits (gen/distributions/vmf.py). Networks as the reference example:
784-256-128 ReLU and back, kappa = softplus + 1, Adam 1e-3, batch 64, dynamic binarization.
Presets: svae_d{2,5,10} and nvae_d{2,5,10} (Table 1 of the paper: S-VAE -132.50 / -108.43 /
-93.16, N-VAE -135.73 / -110.21 / -93.84 nats, L_5000 averaged over 10 runs; partly from a
third-party reprint), 30k steps each; smoke (digits, a few seconds).
Measured (docs/RESULTS.md, 10k steps, seed 0, L_500): S-VAE / N-VAE 138.95 / 140.99 (d=2),
113.87 / 115.81 (d=5), 99.05 / 100.30 (d=10) nats: the S-VAE ahead at every d, as in the paper.
"""

from gen import config as config_lib

vae = config_lib.sibling(__file__, 'vae')


def _reference(d: int, posterior: str):
  c = vae.vae_1layer()
  vmf = posterior == 'vmf'
  c.model.update(
      hidden=(256, 128), activation='relu', posterior=posterior,
      prior='uniform' if vmf else 'standard', latent_dim=(d + 1 if vmf else d,),
  )  # fmt: skip
  c.train.update(batch_size=64, num_steps=30_000)
  return c


PRESETS = {}
for _d in (2, 5, 10):
  PRESETS[f'svae_d{_d}'] = lambda d=_d: _reference(d, 'vmf')
  PRESETS[f'nvae_d{_d}'] = lambda d=_d: _reference(d, 'gaussian')


def smoke():
  c = vae.smoke()
  c.model.update(posterior='vmf', prior='uniform', latent_dim=(4,), activation='relu')
  return c


PRESETS['smoke'] = smoke


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='svae_d5', where='configs/svae.py')
