r"""PixelRNN Diagonal BiLSTM (van den Oord et al. 2016a, sec. 3.2): one layer sees every
earlier pixel. The presets of configs/row_lstm.py with the Diagonal BiLSTM layer.

  python train.py --config=configs/diagonal_bilstm.py:binarized_mnist --workdir=runs/dbilstm_bmnist
  python eval.py --workdir=runs/dbilstm_bmnist --features=none

Presets: binarized_mnist (7 layers, h = 16: PixelRNN Table 4's 79.20 nats, the target),
mnist, fashion_mnist, digits, smoke; see configs/row_lstm.py.
Measured results: docs/RESULTS.md.
"""

from gen import config as config_lib

row_lstm = config_lib.sibling(__file__, 'row_lstm')
PRESETS = row_lstm.PRESETS


def get_config(arg=None):
  return row_lstm.config_for(arg, 'diagonal_bilstm', 'configs/diagonal_bilstm.py')
