"""PyTorch twins of our networks and train steps, for bench/vs_torch.py (eager mode).

Each twin is built from the same config and dataset info as our model and has
the same layers: types, kernel sizes, strides, paddings, biases on or off,
batch-norm placement, activations, hence the same parameter tensors and counts
(vs_torch.py --check compares them). Its step mirrors our train step:

  GAN (gen/models/gan/gan.py, n_disc = 1): D on the real batch and, separately,
    on fakes of G from fresh noise made without gradient; D's loss; Adam on D.
    Then G with new noise, D on its fakes, G's loss backpropagated through D
    into G; Adam on G only. Batch norm runs in training mode throughout; as in
    ours, only G's own update advances G's running statistics and only D's
    update advances D's. BEGAN's k_t is updated after D's update.
  VAE (gen/models/vae/vae.py): one ELBO step, Bernoulli likelihood from logits,
    the closed-form KL, one reparameterised sample; Adam.
  PixelCNN, Gated PixelCNN (gen/models/autoregressive/): masked kernels as
    weight * mask in every forward pass (as ours), the same layers, dilations and
    head; the mean NLL (Bernoulli or 256-way softmax per sub-pixel); Adam.
  PixelRNN (Row LSTM, Diagonal BiLSTM): as PixelCNN, the recurrences of
    gen/nn/recurrent.py as Python loops over rows / skewed columns (ours: lax.scan),
    both directions of the BiLSTM in one loop as ours, the same gate layout.
  All (gen/train/step.py): the EMA of the networks the model names, when
    train.ema_decay > 0; losses and gradient norms as metrics (kept on the
    device: no host sync per step). Not mirrored: our non-finite guard.

Weights keep torch's default initialisation: only their shapes matter for speed.
Nothing in `gen` imports this module; it needs torch (requirements-bench.txt).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gen.models.gan.networks import dcgan_plan  # our networks' size rule, shared
from gen.models.autoregressive import gated_pixelcnn as gated  # our masks and layer specs
from gen.nn.masked import causal_mask  # our masks, shared

# Our batch norm's momentum 0.9 (running = 0.9 running + 0.1 batch) is torch's 0.1.
_BN_MOMENTUM = 0.1


class Unsupported(ValueError):
  """A config option the twins do not mirror."""



def _flatten(x):
  """(N, C, H, W) -> (N, H*W*C) in our (NHWC) order, a view for channels-last tensors;
  contiguous ones are flattened C-first, also a view (a dense layer's cost is the same)."""
  if x.dim() == 4 and not x.is_contiguous():
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
  return x.reshape(x.shape[0], -1)


class _Unflatten(nn.Module):
  """(N, H*W*C) -> (N, C, H, W) in the layout the network runs in, without a copy."""

  def __init__(self, channels: int, size: int, channels_last: bool):
    super().__init__()
    self.shape, self.channels_last = (channels, size, size), channels_last

  def forward(self, x):
    c, h, w = self.shape
    if self.channels_last:
      return x.view(x.shape[0], h, w, c).permute(0, 3, 1, 2)
    return x.view(x.shape[0], c, h, w)


class _Flatten(nn.Module):

  def forward(self, x):
    return _flatten(x)


class SameConv2d(nn.Conv2d):
  """Flax's padding='SAME': total padding max((ceil(n/s) - 1) s + k - n, 0), the extra
  pixel at the end when it is odd (torch pads symmetrically, so that case pads first)."""

  def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
    super().__init__(cin, cout, kernel, stride, padding=0)

  def forward(self, x):
    k, s, n = self.kernel_size[0], self.stride[0], x.shape[-1]
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    if total % 2 == 0:
      return F.conv2d(x, self.weight, self.bias, s, total // 2)
    lo = total // 2
    return super().forward(F.pad(x, (lo, total - lo, lo, total - lo)))


def _bn2d(c):
  return nn.BatchNorm2d(c, eps=1e-5, momentum=_BN_MOMENTUM)


def _bn1d(c):
  return nn.BatchNorm1d(c, eps=1e-5, momentum=_BN_MOMENTUM)


def _mlp(sizes, activation=nn.ReLU):
  """Our gen.nn.MLP: dense layers, `activation` between them, the last linear."""
  layers = []
  for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
    layers.append(nn.Linear(a, b))
    if i < len(sizes) - 2:
      layers.append(activation())
  return nn.Sequential(*layers)


class MLPGenerator(nn.Module):

  def __init__(self, z_dim, hidden, out_dim):
    super().__init__()
    self.net = _mlp((z_dim, *hidden, out_dim))

  def forward(self, z):
    return self.net(z)


class MLPDiscriminator(nn.Module):

  def __init__(self, in_dim, hidden):
    super().__init__()
    self.net = _mlp((in_dim, *hidden, 1))

  def forward(self, x):
    return self.net(x.reshape(x.shape[0], -1))[:, 0]


class DCGANGenerator(nn.Module):
  """z as a 1x1 map, transposed convs (first base x base, s1, p0; then 4x4 s2 p1),
  batch norm + ReLU after each but the last (with bias), Tanh."""

  def __init__(self, size, channels, features, z_dim):
    super().__init__()
    base, n_up = dcgan_plan(size)
    width = features * 2 ** (n_up - 1)
    layers = [nn.ConvTranspose2d(z_dim, width, base, 1, 0, bias=False), _bn2d(width), nn.ReLU(True)]
    for level in reversed(range(n_up - 1)):
      out = features * 2**level
      layers += [nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False), _bn2d(out), nn.ReLU(True)]
      width = out
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
    self.net = nn.Sequential(*layers)
    self.z_dim = z_dim

  def forward(self, z):
    return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
  """4x4 s2 p1 convs (bias only on the first, batch norm after the others), LeakyReLU
  0.2, then a conv over the whole base map (with bias) -> (N,) logits."""

  def __init__(self, size, channels, features):
    super().__init__()
    base, n_down = dcgan_plan(size)
    layers, width = [], channels
    for level in range(n_down):
      out = features * 2**level
      layers.append(nn.Conv2d(width, out, 4, 2, 1, bias=level == 0))
      if level > 0:
        layers.append(_bn2d(out))
      layers.append(nn.LeakyReLU(0.2, True))
      width = out
    layers.append(nn.Conv2d(width, 1, base))
    self.net = nn.Sequential(*layers)

  def forward(self, x):
    return self.net(x).view(x.shape[0])


class InfoGANGenerator(nn.Module):
  """FC 1024, FC (size/4)^2 * 128 (no bias, batch norm, ReLU), 4x4 s2 up-conv 64
  (no bias, batch norm, ReLU), 4x4 s2 up-conv `channels` (bias), Tanh."""

  def __init__(self, size, channels, z_dim, channels_last):
    super().__init__()
    s = size // 4
    self.net = nn.Sequential(
        nn.Linear(z_dim, 1024, bias=False),
        _bn1d(1024),
        nn.ReLU(True),
        nn.Linear(1024, s * s * 128, bias=False),
        _bn1d(s * s * 128),
        nn.ReLU(True),
        _Unflatten(128, s, channels_last),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
        _bn2d(64),
        nn.ReLU(True),
        nn.ConvTranspose2d(64, channels, 4, 2, 1),
        nn.Tanh(),
    )

  def forward(self, z):
    return self.net(z)


class InfoGANDiscriminator(nn.Module):
  """4x4 s2 conv 64 (bias), 4x4 s2 conv 128 + BN, FC 1024 + BN, FC 1; LeakyReLU 0.2."""

  def __init__(self, size, channels):
    super().__init__()
    s = size // 4
    self.net = nn.Sequential(
        nn.Conv2d(channels, 64, 4, 2, 1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False),
        _bn2d(128),
        nn.LeakyReLU(0.2, True),
        _Flatten(),
        nn.Linear(s * s * 128, 1024, bias=False),
        _bn1d(1024),
        nn.LeakyReLU(0.2, True),
        nn.Linear(1024, 1),
    )

  def forward(self, x):
    return self.net(x)[:, 0]


class ConvAutoencoderDiscriminator(nn.Module):
  """BEGAN's autoencoder as ours: 3x3 convs with ELU (`repeat` per resolution), stride-2
  SAME convs widening by n, FC to the code; FC to an n-wide base map, nearest 2x
  upsampling, a last linear 3x3 conv. Output: the energy mean |x - AE(x)|, shape (N,)."""

  def __init__(self, size, channels, features, code_dim, channels_last, repeat=2):
    super().__init__()
    base, n = dcgan_plan(size)
    f = features

    def convs(cin, width):
      layers = []
      for _ in range(repeat):
        layers += [SameConv2d(cin, width, 3), nn.ELU(inplace=True)]
        cin = width
      return layers

    enc = [SameConv2d(channels, f, 3), nn.ELU(inplace=True)]
    width = f
    for level in range(n):
      enc += convs(width, f * (level + 1))
      enc += [SameConv2d(f * (level + 1), f * (level + 2), 3, stride=2), nn.ELU(inplace=True)]
      width = f * (level + 2)
    enc += convs(width, f * (n + 1))
    enc += [_Flatten(), nn.Linear(base * base * f * (n + 1), code_dim)]
    dec = [nn.Linear(code_dim, base * base * f), _Unflatten(f, base, channels_last)]
    for _ in range(n):
      dec += convs(f, f) + [nn.Upsample(scale_factor=2, mode='nearest')]
    dec += convs(f, f) + [SameConv2d(f, channels, 3)]
    self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

  def forward(self, x):
    return torch.mean(torch.abs(x - self.decoder(self.encoder(x))), dim=(1, 2, 3))


class ConvEncoder(nn.Module):

  def __init__(self, channels, features, latent_dim, size):
    super().__init__()
    s = size // 4
    self.net = nn.Sequential(
        nn.Conv2d(channels, features, 4, 2, 1),
        nn.ReLU(True),
        nn.Conv2d(features, 2 * features, 4, 2, 1),
        nn.ReLU(True),
        _Flatten(),
        nn.Linear(s * s * 2 * features, 2 * latent_dim),
    )

  def forward(self, x):
    return torch.chunk(self.net(x), 2, dim=-1)


class ConvDecoder(nn.Module):

  def __init__(self, features, latent_dim, size, out_channels, channels_last):
    super().__init__()
    s = size // 4
    self.net = nn.Sequential(
        nn.Linear(latent_dim, s * s * 2 * features),
        nn.ReLU(True),
        _Unflatten(2 * features, s, channels_last),
        nn.ConvTranspose2d(2 * features, features, 4, 2, 1),
        nn.ReLU(True),
        nn.ConvTranspose2d(features, out_channels, 4, 2, 1),
    )

  def forward(self, z):
    return self.net(z)


def _adam(params, cfg, impl: str):
  """torch Adam with our optimizer's hyperparameters (gen/train/optim.py)."""
  if cfg.name != 'adam':
    raise Unsupported(f'optimizer {cfg.name!r} (the twins mirror Adam only).')
  if cfg.get('eps_root', 0.0):
    raise Unsupported('Adam eps_root > 0 has no torch counterpart.')
  kwargs = {'foreach': True} if impl == 'foreach' else {'fused': True} if impl == 'fused' else {}
  return torch.optim.Adam(
      params,
      lr=cfg.lr,
      betas=(cfg.get('b1', 0.9), cfg.get('b2', 0.999)),
      eps=cfg.get('eps', 1e-8),
      **kwargs,
  )


def _grad_norm(params):
  return torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])


class _BatchNormStats:
  """Switches a network's running-statistics update off (momentum 0 keeps them)
  for a pass whose statistics our step discards; the normalisation is unchanged."""

  def __init__(self, net: nn.Module):
    self.norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

  def frozen(self, frozen: bool):
    for m in self.norms:
      m.momentum = 0.0 if frozen else _BN_MOMENTUM


class Twin:
  """A twin network set and its step; `step(batch)` is one update, metrics on the device."""

  def __init__(self, nets: dict, config, device, memory_format, adam: str):
    self.nets = nets
    self.device = device
    self.memory_format = memory_format
    for net in nets.values():
      net.to(device=device, memory_format=memory_format).train()
    self.adam = adam
    self.ema_decay = float(config.train.ema_decay)

  def parameters(self):
    return [p for net in self.nets.values() for p in net.parameters()]

  def param_summary(self) -> dict:
    sizes = sorted(p.numel() for p in self.parameters())
    return {'tensors': len(sizes), 'count': sum(sizes), 'sizes': sizes}

  def put_batch(self, batch):
    """Our host batch (NHWC for images) -> a tensor in the twin's layout."""
    x = torch.from_numpy(batch['x']).to(self.device)
    if x.dim() == 4:
      x = x.permute(0, 3, 1, 2).contiguous(memory_format=self.memory_format)
    return x

  def _ema_init(self, net_names):
    self.ema_params = [p for n in net_names for p in self.nets[n].parameters()]
    self.ema = [p.detach().clone() for p in self.ema_params] if self.ema_decay > 0 else None

  def _ema_update(self):
    if self.ema is not None:
      with torch.no_grad():
        # e = decay e + (1 - decay) p, as gen/train/step.py.
        torch._foreach_lerp_(self.ema, self.ema_params, 1.0 - self.ema_decay)


class GANTwin(Twin):
  """One D update, then one G update (gen/models/gan/gan.py, n_disc = 1)."""

  def __init__(self, config, info, device, memory_format, adam):
    cfg = config.model
    _check_gan(cfg)
    shape = tuple(info.shape)
    size, channels = shape[0], shape[-1]
    channels_last = memory_format == torch.channels_last
    if cfg.arch == 'mlp':
      g = MLPGenerator(cfg.z_dim, tuple(cfg.g_hidden), math.prod(shape))
    elif cfg.arch == 'dcgan':
      g = DCGANGenerator(size, channels, cfg.features, cfg.z_dim)
    else:
      g = InfoGANGenerator(size, channels, cfg.z_dim, channels_last)
    if cfg.game == 'began':
      d = ConvAutoencoderDiscriminator(size, channels, cfg.features, cfg.code_dim, channels_last)
    elif cfg.arch == 'mlp':
      d = MLPDiscriminator(math.prod(shape), tuple(cfg.d_hidden))
    elif cfg.arch == 'dcgan':
      d = DCGANDiscriminator(size, channels, cfg.features)
    else:
      d = InfoGANDiscriminator(size, channels)
    super().__init__({'g': g, 'd': d}, config, device, memory_format, adam)
    self.g, self.d = g, d
    self.g_stats, self.d_stats = _BatchNormStats(g), _BatchNormStats(d)
    self.g_opt = _adam(g.parameters(), config.optim.g, adam)
    self.d_opt = _adam(d.parameters(), config.optim.d, adam)
    self.game, self.z_dim = cfg.game, cfg.z_dim
    self.gamma, self.lambda_k = cfg.began_gamma, cfg.began_lambda_k
    self.k = torch.zeros((), device=device)
    self._ema_init(('g',))

  def _noise(self, n):
    return torch.randn(n, self.z_dim, device=self.device)

  def _generate(self, n):
    x = self.g(self._noise(n))
    return x.contiguous(memory_format=self.memory_format) if x.dim() == 4 else x

  def step(self, real) -> dict:
    n = real.shape[0]
    # D: fakes without gradient; G's statistics of this pass are discarded, as ours.
    self.g_stats.frozen(True)
    with torch.no_grad():
      fake = self._generate(n)
    self.g_stats.frozen(False)
    real_out, fake_out = self.d(real), self.d(fake)
    if self.game == 'began':
      real_e, fake_e = real_out.mean(), fake_out.mean()
      d_loss = real_e - self.k * fake_e
    else:  # ns
      d_real = F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
      d_fake = F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out))
      d_loss = d_real + d_fake
    self.d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    metrics = {'d/loss': d_loss.detach(), 'd/grad_norm': _grad_norm(self.d.parameters())}
    self.d_opt.step()
    if self.game == 'began':
      with torch.no_grad():
        balance = self.gamma * real_e - fake_e
        metrics.update({'began/k': self.k, 'began/balance': balance})
        self.k = torch.clamp(self.k + self.lambda_k * balance, 0.0, 1.0)
    else:
      metrics.update(
          {
              'd/loss_real': d_real.detach(),
              'd/loss_fake': d_fake.detach(),
              'd/real_prob': torch.sigmoid(real_out.detach()).mean(),
              'd/fake_prob': torch.sigmoid(fake_out.detach()).mean(),
          }
      )

    # G: new noise, gradient through D into G only; D's statistics are not updated.
    self.d.requires_grad_(False)
    self.d_stats.frozen(True)
    out = self.d(self._generate(n))
    if self.game == 'began':
      g_loss = out.mean()
    else:
      g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
    self.g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    self.d_stats.frozen(False)
    self.d.requires_grad_(True)
    metrics.update({'g/loss': g_loss.detach(), 'g/grad_norm': _grad_norm(self.g.parameters())})
    self.g_opt.step()
    self._ema_update()
    return metrics


def _check_gan(cfg):
  options = {
      'game': (cfg.game, ('ns', 'began')),
      'arch': (cfg.arch, ('mlp', 'dcgan', 'infogan')),
      'minibatch': (cfg.minibatch, ('none',)),
      'd_norm': (cfg.d_norm, ('batch',)),
      'penalty': (cfg.penalty, ('none',)),
      'n_disc': (cfg.n_disc, (1,)),
      'unroll_steps': (cfg.unroll_steps, (0,)),
      'clip': (cfg.clip, (0.0, 0)),
  }
  for key, (value, valid) in options.items():
    if value not in valid:
      raise Unsupported(f'model.{key}={value!r} (the twins mirror {", ".join(map(str, valid))}).')
  if cfg.game == 'began' and cfg.arch == 'mlp':
    raise Unsupported('BEGAN with MLP networks (the twins mirror the conv autoencoder).')


class VAETwin(Twin):
  """One ELBO step (gen/models/vae/vae.py): Bernoulli likelihood, one sample."""

  def __init__(self, config, info, device, memory_format, adam):
    cfg = config.model
    if cfg.arch != 'conv' or cfg.likelihood != 'bernoulli':
      raise Unsupported(
          f'VAE arch={cfg.arch!r}, likelihood={cfg.likelihood!r} '
          '(the twins mirror conv, bernoulli).'
      )
    dims = cfg.latent_dim if isinstance(cfg.latent_dim, (tuple, list)) else (cfg.latent_dim,)
    plain = (
        len(dims) == 1 and cfg.get('conv_down', 2) == 2 and cfg.get('activation', 'relu') == 'relu'
        and cfg.get('posterior', 'gaussian') == 'gaussian'
        and cfg.get('prior', 'standard') == 'standard'
        and not cfg.get('conditional', False) and cfg.get('k', 1) == 1
    )  # fmt: skip
    if not plain:
      raise Unsupported('VAE variants (the twin mirrors one Gaussian layer, conv_down 2, relu).')
    size, channels = info.shape[0], info.shape[-1]
    channels_last = memory_format == torch.channels_last
    enc = ConvEncoder(channels, cfg.features, dims[0], size)
    dec = ConvDecoder(cfg.features, dims[0], size, channels, channels_last)
    super().__init__({'enc': enc, 'dec': dec}, config, device, memory_format, adam)
    self.enc, self.dec = enc, dec
    self.opt = _adam(self.parameters(), config.optim, adam)
    self._ema_init(('enc', 'dec'))

  def step(self, x) -> dict:
    mean, log_var = self.enc(x)
    z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
    logits = self.dec(z)
    rec = torch.sum((x * logits - F.softplus(logits)).flatten(1), dim=1)
    kl = torch.sum(-0.5 * (1.0 + log_var - mean**2 - torch.exp(log_var)), dim=1)
    elbo = rec - kl
    loss = -elbo.mean()
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    metrics = {
        'vae/loss': loss.detach(),
        'vae/grad_norm': _grad_norm(self.parameters()),
        'vae/rec': rec.detach().mean(),
        'vae/kl': kl.detach().mean(),
    }
    self.opt.step()
    self._ema_update()
    return metrics


class MaskedConv2d(nn.Conv2d):
  """A 'same' stride-1 convolution whose weight is multiplied by gen.nn.masked's mask;
  `k` an int (k x k) or a (kh, kw) pair."""

  def __init__(self, c_in, c_out, k, mask_type, groups):
    kh, kw = (k, k) if isinstance(k, int) else k
    super().__init__(c_in, c_out, (kh, kw), padding=(kh // 2, kw // 2))
    mask = causal_mask((kh, kw), c_in, c_out, mask_type, groups).transpose(3, 2, 0, 1)
    self.register_buffer('mask', torch.from_numpy(mask.copy()))

  def forward(self, x):
    return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNNNet(nn.Module):
  """gen.models.autoregressive.pixelcnn.PixelCNNNet."""

  def __init__(self, channels, features, num_blocks, head_features, outputs, k):
    super().__init__()
    g = channels
    self.first = MaskedConv2d(channels, features, 7, 'A', g)
    self.blocks = nn.ModuleList(
        nn.Sequential(
            nn.ReLU(), MaskedConv2d(features, features // 2, 1, 'B', g),
            nn.ReLU(), MaskedConv2d(features // 2, features // 2, k, 'B', g),
            nn.ReLU(), MaskedConv2d(features // 2, features, 1, 'B', g),
        )  # fmt: skip
        for _ in range(num_blocks)
    )
    self.head = nn.Sequential(
        nn.ReLU(), MaskedConv2d(features, head_features, 1, 'B', g),
        nn.ReLU(), MaskedConv2d(head_features, channels * outputs, 1, 'B', g),
    )  # fmt: skip

  def forward(self, x):
    h = self.first(x)
    for block in self.blocks:
      h = h + block(h)
    return self.head(h)


def _torch_mask(mask_hwio):
  return torch.from_numpy(mask_hwio.transpose(3, 2, 0, 1).copy())


class GatedLayer(nn.Module):
  """gen.models.autoregressive.gated_pixelcnn.GatedLayer (unconditional)."""

  def __init__(self, spec, c_in, p):
    super().__init__()
    self.s = spec
    k, d = spec.kernel_size, spec.dilation
    self.v = nn.Conv2d(c_in, 2 * p, (spec.v_rows, k), dilation=d)
    self.h = nn.Conv2d(c_in, 2 * p, (1, spec.half + 1), dilation=d)
    self.link = nn.Conv2d(2 * p, 2 * p, 1, bias=False)
    self.out = nn.Conv2d(p, p, 1)
    self.register_buffer('h_mask', _torch_mask(gated.horizontal_mask(spec, c_in, p)))
    self.register_buffer('out_mask', _torch_mask(gated.out_mask(spec, p)[None, None]))

  @staticmethod
  def gate(y):
    a, b = torch.chunk(y, 2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)

  def forward(self, v, h):
    rows, dm = v.shape[2], self.s.reach
    v_pre = self.v(F.pad(v, (dm, dm, dm, 0)))[:, :, :rows]
    h_kernel = self.h.weight * self.h_mask
    h_pre = F.conv2d(F.pad(h, (dm, 0)), h_kernel, self.h.bias, dilation=self.s.dilation)
    h_pre = h_pre + self.link(v_pre)
    y = F.conv2d(self.gate(h_pre), self.out.weight * self.out_mask, self.out.bias)
    return self.gate(v_pre), (y if self.s.first else h + y)


class GatedPixelCNNNet(nn.Module):
  def __init__(self, channels, features, dilations, outputs, k):
    super().__init__()
    specs = gated.layer_specs(k, dilations, channels)
    self.layers = nn.ModuleList(
        GatedLayer(s, channels if i == 0 else features, features) for i, s in enumerate(specs)
    )
    self.head = nn.Conv2d(features, channels * outputs, 1)
    mask = causal_mask((1, 1), features, channels * outputs, 'B', channels)
    self.register_buffer('head_mask', _torch_mask(mask))

  def forward(self, x):
    v = h = x
    for layer in self.layers:
      v, h = layer(v, h)
    return F.conv2d(F.elu(h), self.head.weight * self.head_mask, self.head.bias)


def _skew(x):
  """gen.nn.recurrent.skew in NCHW: (B, C, H, W) -> (B, C, H, W + H - 1), row r
  shifted right by r, zeros elsewhere."""
  b, c, rows, w = x.shape
  flat = F.pad(x, (0, rows)).reshape(b, c, rows * (w + rows))
  return flat[..., : rows * (w + rows - 1)].reshape(b, c, rows, w + rows - 1)


def _unskew(x, width):
  """gen.nn.recurrent.unskew in NCHW: (B, C, H, width + H - 1) -> (B, C, H, width)."""
  b, c, rows, t = x.shape
  flat = F.pad(x.reshape(b, c, rows * t), (0, rows))
  return flat.reshape(b, c, rows, t + 1)[..., :width]


def _lstm_cell(pre, c_prev, groups, dim):
  """gen.nn.recurrent.lstm_cell with the 4h gate pre-activations on axis `dim` of `pre`,
  laid out as `groups` blocks of [o | f | i | g]; the cell state `c_prev` is kept split
  as (..., groups, h / groups, ...) at `dim`. Returns h (4h -> h on `dim`) and the split c."""
  z = pre.unflatten(dim, (groups, 4, -1))
  o, f, i = torch.sigmoid(z.narrow(dim + 1, 0, 3)).unbind(dim + 1)
  c = f * c_prev + i * torch.tanh(z.select(dim + 1, 3))
  return (o * torch.tanh(c)).flatten(dim, dim + 1), c


class RowLSTM(nn.Module):
  """gen.nn.recurrent.RowLSTM: a 1 x k mask-B input-to-state conv over the whole map,
  then a Python loop over rows with the 1 x k state-to-state conv (no bias) of the row
  above. The state kernel is conv1d's (4h, h, k): ours (k h, 4h) is its
  reshape(k, h, 4h).permute(2, 1, 0)."""

  def __init__(self, c_in, features, groups, k=3):
    super().__init__()
    self.features, self.groups, self.half = features, groups, k // 2
    self.input_to_state = MaskedConv2d(c_in, 4 * features, (1, k), 'B', groups)
    bound = 1.0 / math.sqrt(k * features)
    self.state_kernel = nn.Parameter(torch.empty(4 * features, features, k).uniform_(-bound, bound))

  def forward(self, x):
    z = self.input_to_state(x)  # (N, 4h, H, W)
    n, _, rows, w = z.shape
    z = z.permute(2, 0, 1, 3).contiguous()  # (H, N, 4h, W): one row per step
    h = z.new_zeros(n, self.features, w)
    c = z.new_zeros(n, self.groups, self.features // self.groups, w)
    hs = []
    for r in range(rows):
      pre = z[r] + F.conv1d(h, self.state_kernel, padding=self.half)
      h, c = _lstm_cell(pre, c, self.groups, 1)
      hs.append(h)
    return torch.stack(hs, 2)  # (N, h, H, W)


class DiagonalBiLSTM(nn.Module):
  """gen.nn.recurrent.DiagonalBiLSTM: per direction a 1 x 1 mask-B input-to-state conv
  (the right-to-left one on the mirrored image), skewed; both directions in one Python
  loop over the skewed columns (as ours: one scan), the 2 x 1 column state kernel as a
  batched matmul of [h above | h]; learned initial states h0, c0 (D, h); unskewed, the
  right-to-left map mirrored back and shifted down one row, added."""

  def __init__(self, c_in, features, groups, directions=2):
    super().__init__()
    self.features, self.groups = features, groups
    self.input_to_state = nn.ModuleList(
        MaskedConv2d(c_in, 4 * features, 1, 'B', groups) for _ in range(directions)
    )
    bound = 1.0 / math.sqrt(2 * features)
    self.state_kernel = nn.Parameter(
        torch.empty(directions, 2 * features, 4 * features).uniform_(-bound, bound)
    )
    self.h0 = nn.Parameter(torch.zeros(directions, features))
    self.c0 = nn.Parameter(torch.zeros(directions, features))

  def forward(self, x):
    width = x.shape[3]
    inputs = (x, x.flip(3))
    z = torch.stack([conv(x_d) for conv, x_d in zip(self.input_to_state, inputs)])
    d, n, _, rows, _ = z.shape  # (D, N, 4h, H, W)
    z = _skew(z.flatten(0, 1)).unflatten(0, (d, n))  # (D, N, 4h, H, T)
    z = z.permute(4, 0, 1, 3, 2).contiguous()  # (T, D, N, H, 4h): one column per step
    hid, g = self.features, self.groups
    h = self.h0[:, None, None].expand(d, n, rows, hid)
    c = self.c0.view(d, 1, 1, g, hid // g).expand(d, n, rows, g, hid // g)
    hs = []
    for t in range(z.shape[0]):
      above = F.pad(h, (0, 0, 1, 0))[:, :, :-1]  # a zero row on top
      taps = torch.cat([above, h], -1).view(d, n * rows, 2 * hid)
      pre = z[t] + torch.bmm(taps, self.state_kernel).view(d, n, rows, 4 * hid)
      h, c = _lstm_cell(pre, c, g, 3)
      hs.append(h)
    hs = torch.stack(hs, -1).transpose(2, 3)  # (D, N, h, H, T)
    out = _unskew(hs.flatten(0, 1), width).unflatten(0, (d, n))  # (D, N, h, H, W)
    backward = out[1].flip(3)
    return out[0] + F.pad(backward, (0, 0, 1, 0))[:, :, :-1]


_PIXELRNN_LAYERS = {'row_lstm': RowLSTM, 'diagonal_bilstm': DiagonalBiLSTM}


class PixelRNNNet(nn.Module):
  """gen.models.autoregressive.pixelrnn.PixelRNNNet."""

  def __init__(self, layer, channels, hidden, num_layers, head_features, outputs, skip):
    super().__init__()
    g, f = channels, 2 * hidden
    lstm = _PIXELRNN_LAYERS[layer]
    self.first = MaskedConv2d(channels, f, 7, 'A', g)
    self.lstms = nn.ModuleList(lstm(f, hidden, g) for _ in range(num_layers))
    self.outs = nn.ModuleList(MaskedConv2d(hidden, f, 1, 'B', g) for _ in range(num_layers))
    self.skips = (
        nn.ModuleList(MaskedConv2d(f, f, 1, 'B', g) for _ in range(num_layers)) if skip else None
    )
    self.head = nn.Sequential(
        nn.ReLU(), MaskedConv2d(f, head_features, 1, 'B', g),
        nn.ReLU(), MaskedConv2d(head_features, channels * outputs, 1, 'B', g),
    )  # fmt: skip

  def forward(self, x):
    h = self.first(x)
    skips = 0.0
    for i, (lstm, out_conv) in enumerate(zip(self.lstms, self.outs)):
      out = out_conv(lstm(h))
      h = h + out
      if self.skips is not None:
        skips = skips + self.skips[i](out)
    return self.head(h + skips)


class PixelCNNTwin(Twin):
  """One NLL step (gen/models/autoregressive/common.py make_model), PixelCNN, Gated
  PixelCNN or PixelRNN (Row LSTM, Diagonal BiLSTM; unconditional)."""

  def __init__(self, config, info, device, memory_format, adam):
    cfg = config.model
    self.levels = 2 if config.data.binarize else info.levels
    if config.data.scale != 'unit':
      raise Unsupported(f'data.scale={config.data.scale!r} (the twin mirrors unit).')
    if cfg.conditional:
      raise Unsupported('class-conditional models (the twins mirror unconditional ones).')
    self.channels = info.shape[-1]
    outputs = 1 if self.levels == 2 else self.levels
    if cfg.name == 'pixelcnn':
      net = PixelCNNNet(
          self.channels, cfg.features, cfg.num_blocks, cfg.head_features, outputs, cfg.kernel_size
      )
    elif cfg.name in _PIXELRNN_LAYERS:
      skip = cfg.get('skip', True)
      net = PixelRNNNet(
          cfg.name, self.channels, cfg.hidden, cfg.num_layers, cfg.head_features, outputs, skip
      )
    else:
      net = GatedPixelCNNNet(
          self.channels, cfg.features, tuple(cfg.dilations), outputs, cfg.kernel_size
      )
    super().__init__({'net': net}, config, device, memory_format, adam)
    self.net = net
    self.opt = _adam(self.parameters(), config.optim, adam)
    self._ema_init(('net',))

  def step(self, x) -> dict:
    v = torch.round(x * (self.levels - 1))
    out = self.net(2.0 * v / (self.levels - 1) - 1.0)
    if self.levels == 2:
      ll = torch.sum((v * out - F.softplus(out)).flatten(1), dim=1)
    else:
      n, _, h, w = out.shape
      logits = out.reshape(n, self.channels, self.levels, h, w).transpose(1, 2)
      ll = -F.cross_entropy(logits, v.long(), reduction='none').flatten(1).sum(1)
    loss = -ll.mean()
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    metrics = {'ar/loss': loss.detach(), 'ar/grad_norm': _grad_norm(self.parameters())}
    self.opt.step()
    self._ema_update()
    return metrics


def build(config, info, device='cpu', memory_format=torch.channels_last, adam='default') -> Twin:
  """The twin of `registry.build(config, info)`; raises Unsupported for options it lacks."""
  if config.model.name == 'gan':
    return GANTwin(config, info, device, memory_format, adam)
  if config.model.name == 'vae':
    return VAETwin(config, info, device, memory_format, adam)
  if config.model.name in ('pixelcnn', 'gated_pixelcnn', *_PIXELRNN_LAYERS):
    return PixelCNNTwin(config, info, device, memory_format, adam)
  raise Unsupported(f'model {config.model.name!r}.')
