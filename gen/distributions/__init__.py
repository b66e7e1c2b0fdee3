"""Probability distributions as pure JAX functions: densities, samplers and divergences."""
