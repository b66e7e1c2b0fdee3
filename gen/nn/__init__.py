"""Layers shared across model families: one implementation each."""

from gen.nn.apply import apply, compute_dtype, init_variables
from gen.nn.conv import Conv
from gen.nn.conv_transpose import ConvTranspose
from gen.nn.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gen.nn.mlp import MLP
from gen.nn.pool import max_pool

__all__ = [
    'MLP',
    'Conv',
    'ConvTranspose',
    'MinibatchDiscrimination',
    'MinibatchStdDev',
    'apply',
    'compute_dtype',
    'init_variables',
    'max_pool',
]
