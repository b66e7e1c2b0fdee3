r"""The VampPrior (Tomczak & Welling 2018): p(z) = (1/K) sum_k q(z | u_k) with K = 500 learned
pseudo-inputs u_k = hardtanh_[0,1](w_k), initialised N(0.05, 0.01) for MNIST (their
`load_data.py`); log p(z) by logsumexp, the KL term by Monte Carlo (no closed form).

  python train.py --config=configs/vampprior.py:vae --workdir=runs/vamp_vae
  python train.py --config=configs/vampprior.py:vae_standard --workdir=runs/std_vae  # the twin
  python eval.py --workdir=runs/vamp_vae

Presets (dynamically binarized MNIST; the IWAE paper's tanh MLPs; Adam 1e-3, batch 100; the
paper's own networks are gated MLPs of 300 units with z 40, trained up to 2,000 epochs with
a 100-epoch KL warm-up, test L_5000):
  vae            1 layer (200-200, z 50), VampPrior; paper: VAE + VampPrior -85.57 on the
                 static binarization (Table 1, from memory, low confidence).
  vae_standard   the same with the standard prior: the comparison at equal budget.
  hvae           2 layers (Ladder inference, as their HVAE's q(z2|x) q(z1|x, z2)),
                 VampPrior on z2.
  hvae_standard  its standard-prior twin.
  smoke          digits, a few seconds.
Measured (docs/RESULTS.md, 10k steps, seed 0): L_500 93.68 (vae) against 96.17 (vae_standard)
nats; its step costs ~10x the standard prior's (the 500 pseudo-inputs are encoded every step).
Keep the warm-up: with 200 steps of it the VampPrior collapses (KL 0.002 after 1,000 steps).
"""

from gen import config as config_lib

vae = config_lib.sibling(__file__, 'vae')
hvae = config_lib.sibling(__file__, 'hvae')


def vae_standard():
  c = vae.vae_1layer()
  c.model.kl_warmup_steps = 5_000
  return c


def vae_vamp():
  c = vae_standard()
  c.model.update(prior='vamp', num_pseudo=500, pseudo_init=(0.05, 0.01))
  return c


def hvae_standard():
  c = hvae.ladder()
  return c


def hvae_vamp():
  c = hvae_standard()
  c.model.update(prior='vamp', num_pseudo=500, pseudo_init=(0.05, 0.01))
  return c


def smoke():
  c = vae.smoke()
  c.model.update(prior='vamp', num_pseudo=20)
  return c


PRESETS = {
    'vae': vae_vamp,
    'vae_standard': vae_standard,
    'hvae': hvae_vamp,
    'hvae_standard': hvae_standard,
    'smoke': smoke,
}


def get_config(arg=None):
  return config_lib.select_preset(arg, PRESETS, default='vae', where='configs/vampprior.py')
