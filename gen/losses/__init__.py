"""Losses, likelihoods and bounds: pure functions, each tested against hand values."""
