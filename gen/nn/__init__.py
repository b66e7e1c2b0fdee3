"""Layers shared across model families: one implementation each."""

from gen.nn.apply import apply, compute_dtype, init_variables
from gen.nn.conv import Conv
from gen.nn.conv_transpose import ConvTranspose
from gen.nn.masked import MaskedConv, causal_mask
from gen.nn.minibatch import MinibatchDiscrimination, MinibatchStdDev
from gen.nn.mlp import MLP
from gen.nn.pool import max_pool
from gen.nn.shifted import DownRightShiftedConv, DownRightShiftedDeconv, DownShiftedConv
from gen.nn.shifted import DownShiftedDeconv, WNConv, WNDeconv, WNDense
from gen.nn.shifted import concat_elu, down_shift, right_shift

__all__ = [
    'MLP',
    'Conv',
    'ConvTranspose',
    'DownRightShiftedConv',
    'DownRightShiftedDeconv',
    'DownShiftedConv',
    'DownShiftedDeconv',
    'MaskedConv',
    'MinibatchDiscrimination',
    'MinibatchStdDev',
    'WNConv',
    'WNDeconv',
    'WNDense',
    'apply',
    'causal_mask',
    'compute_dtype',
    'concat_elu',
    'down_shift',
    'init_variables',
    'max_pool',
    'right_shift',
]
