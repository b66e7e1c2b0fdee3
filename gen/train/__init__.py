"""Training: the model contract, state, optimizers, sharding, loop, checkpoints, logging."""
