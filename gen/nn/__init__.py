"""Layers shared across model families: one implementation each."""

from gen.nn.apply import apply, compute_dtype, init_variables
from gen.nn.conv import Conv
from gen.nn.conv_transpose import ConvTranspose
from gen.nn.masked import MaskedConv, causal_mask
from gen.nn.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gen.nn.mlp import MLP
from gen.nn.pool import max_pool

__all__ = [
    'MLP',
    'Conv',
    'ConvTranspose',
    'MaskedConv',
    'MinibatchDiscrimination',
    'MinibatchStdDev',
    'apply',
    'causal_mask',
    'compute_dtype',
    'init_variables',
    'max_pool',
]
