"""The large-scale GAN study of Lucic et al. 2018 ("Are GANs Created Equal?", arXiv
1711.10337) as compare_gan ran it: search spaces (spaces), named studies (studies),
the deterministic trial list (plan), the budget bootstrap (budget) and the
games as gen configs (games; presets in configs/lucic.py).

  python -m gen.study.lucic plan --study=cpu --out=runs/lucic_cpu
"""
