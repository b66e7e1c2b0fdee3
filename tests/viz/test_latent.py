"""VAE latent figures: the decoder sees exactly the latents each figure promises (read back from
the image through fake decoders that write z into pixel intensities), slerp and the aggregate
posterior KL match hand values, and the PNGs have sane sizes."""

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from gen.viz import images, latent


def cdf_decoder(calls=None, h=2):
  """z (N, d) -> (N, h, d, 1) images whose column j is Phi(z_j) in the 'unit' scale."""

  def decode(z):
    if calls is not None:
      calls.append(np.array(z))
    return np.repeat(stats.norm.cdf(z)[:, None, :, None], h, axis=1).astype(np.float32)

  return decode


def affine_decoder(z):
  """z (N, d) -> (N, 1, d, 1), pixel j = (z_j + 4) / 8: linear, so z reads back exactly."""
  return ((np.asarray(z) + 4.0) / 8.0)[:, None, :, None].astype(np.float32)


def tile(g, r, c, h, w, pad):
  """The (h, w) tile at row r, column c of an images.grid with padding pad."""
  y, x = pad + r * (h + pad), pad + c * (w + pad)
  return g[y : y + h, x : x + w]


def test_manifold_decodes_the_inverse_cdf_grid_in_cartesian_order():
  n, eps = 20, 0.05
  calls = []
  g = latent.manifold_grid(cdf_decoder(calls), n=n, eps=eps)
  axis = stats.norm.ppf(np.linspace(eps, 1 - eps, n))
  z = np.concatenate(calls)
  assert z.shape == (n * n, 2) and z.dtype == np.float32
  r, c = np.divmod(np.arange(n * n), n)
  np.testing.assert_array_equal(z[:, 0], axis[c].astype(np.float32))  # left to right
  np.testing.assert_array_equal(z[:, 1], axis[n - 1 - r].astype(np.float32))  # bottom to top
  assert g.shape == (n * 2, n * 2, 1)  # n x n tiles of the decoded 2 x 2 size, pad 0
  lin = np.linspace(eps, 1 - eps, n)
  for row in (0, 7, n - 1):
    for col in (0, 12, n - 1):
      t = tile(g, row, col, 2, 2, 0)[..., 0] / 255.0
      np.testing.assert_allclose(t[:, 0], lin[col], atol=0.6 / 255)
      np.testing.assert_allclose(t[:, 1], lin[n - 1 - row], atol=0.6 / 255)


def test_manifold_in_a_larger_latent_holds_other_units_at_the_prior_mean(tmp_path):
  calls = []
  g = latent.save_manifold(
      cdf_decoder(calls), tmp_path / 'm.png', n=5, dims=(2, 0), latent_dim=4, pad=1, batch_size=7
  )
  z = np.concatenate(calls)
  assert len(calls) == 4 and z.shape == (25, 4)  # decoded in chunks of 7
  axis = stats.norm.ppf(np.linspace(0.05, 0.95, 5)).astype(np.float32)
  np.testing.assert_array_equal(z[:, 2].reshape(5, 5), np.tile(axis, (5, 1)))
  np.testing.assert_array_equal(z[:, 0].reshape(5, 5), np.tile(axis[::-1, None], (1, 5)))
  assert (z[:, [1, 3]] == 0).all()
  assert g.shape == (5 * 3 + 1, 5 * 5 + 1, 1)
  img = Image.open(tmp_path / 'm.png')
  assert 400 <= img.width <= 700 and img.height == img.width * g.shape[0] // g.shape[1]
  with pytest.raises(ValueError):
    latent.manifold_latents(dims=(0, 0))


def test_slerp_and_linear_interpolation():
  rng = np.random.default_rng(0)
  a = rng.normal(size=(4, 8)).astype(np.float32)
  b = rng.normal(size=(4, 8)).astype(np.float32)
  for mode in ('linear', 'slerp'):
    z = latent.interpolate_latents(a, b, steps=7, mode=mode)
    assert z.shape == (4, 7, 8)
    np.testing.assert_array_equal(z[:, 0], a)
    np.testing.assert_array_equal(z[:, -1], b)
  # Antipodal unit vectors: the straight line passes through 0, slerp stays on the sphere.
  u = np.eye(8, dtype=np.float32)[:1]
  lin = latent.interpolate_latents(u, -u, steps=5, mode='linear')
  np.testing.assert_allclose(lin[0, 2], 0.0, atol=1e-7)
  sl = latent.interpolate_latents(u, -u, steps=5, mode='slerp')
  np.testing.assert_allclose(np.linalg.norm(sl, axis=-1), 1.0, atol=1e-6)
  np.testing.assert_allclose(sl[0, 2] @ u[0], 0.0, atol=1e-6)  # half way: orthogonal to u
  # Equal norms: the norm is kept and the path is Shoemake's / White's formula.
  b_eq = b / np.linalg.norm(b, axis=1, keepdims=True) * np.linalg.norm(a, axis=1, keepdims=True)
  sl = latent.interpolate_latents(a, b_eq, steps=6, mode='slerp')
  np.testing.assert_allclose(
      np.linalg.norm(sl, axis=-1), np.linalg.norm(a, axis=1)[:, None] * np.ones(6), rtol=1e-5
  )
  theta = np.arccos(np.sum(a * b_eq, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b_eq, axis=1))
  t = np.linspace(0, 1, 6)[None, :, None]
  th = theta[:, None, None]
  white = (np.sin((1 - t) * th) * a[:, None] + np.sin(t * th) * b_eq[:, None]) / np.sin(th)
  np.testing.assert_allclose(sl, white, atol=1e-5)
  # Unequal norms: the norm moves linearly between the ends; no hole through the origin.
  sl = latent.interpolate_latents(a, 3 * b, steps=6, mode='slerp')
  na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(3 * b, axis=1)
  np.testing.assert_allclose(
      np.linalg.norm(sl, axis=-1), na[:, None] + t[..., 0] * (nb - na)[:, None], rtol=1e-5
  )
  with pytest.raises(ValueError):
    latent.interpolate_latents(a, b, mode='cubic')


def test_interpolation_figure_puts_the_originals_at_the_row_ends(tmp_path):
  a = np.array([[-2.0, 0.0, 1.0], [1.0, 1.0, -1.0]], np.float32)
  b = -a
  x = latent.interpolations(affine_decoder, a, b, steps=4, mode='linear')
  assert x.shape == (2, 4, 1, 3, 1)
  np.testing.assert_allclose(x[..., 0, :, 0] * 8 - 4, latent.interpolate_latents(a, b, 4), 1e-6)
  x_a = np.zeros((2, 1, 3, 1), np.float32)
  x_b = np.ones((2, 1, 3, 1), np.float32)
  g = latent.save_interpolations(
      affine_decoder, a, b, tmp_path / 'i.png', steps=4, x_a=x_a, x_b=x_b, scale='unit'
  )
  assert g.shape == (2 * 2 + 1, 6 * 4 + 1, 1)  # 2 rows of 4 steps + 2 originals
  for r in range(2):
    assert (tile(g, r, 0, 1, 3, 1) == 0).all() and (tile(g, r, 5, 1, 3, 1) == 255).all()
    decoded_a = np.round((a[r] + 4) / 8 * 255)
    np.testing.assert_array_equal(tile(g, r, 1, 1, 3, 1)[0, :, 0], decoded_a)
  assert Image.open(tmp_path / 'i.png').width >= 256


def test_traversals_vary_only_the_swept_unit():
  z = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
  x = latent.traversals(affine_decoder, z, span=3.0, steps=9)
  assert x.shape == (4, 9, 1, 4, 1)
  read = x[:, :, 0, :, 0] * 8 - 4  # (units, steps, d)
  values = np.linspace(-3, 3, 9)
  for k in range(4):
    np.testing.assert_allclose(read[k, :, k], values, atol=1e-6)
    others = np.delete(read[k], k, axis=1)
    np.testing.assert_allclose(others, np.broadcast_to(np.delete(z, k), others.shape), atol=1e-6)
  x = latent.traversals(affine_decoder, z[None], dims=[2], span=1.0, steps=3)
  want = [[0.5, -1, v, 0.25] for v in (-1, 0, 1)]
  np.testing.assert_allclose(x[0, :, 0, :, 0] * 8 - 4, want, atol=1e-6)


def test_traversal_rows_follow_the_scores_and_are_labelled(tmp_path):
  scores = np.array([0.1, 3.0, 0.0, 1.5])
  assert latent.traversal_order(4, scores=scores) == [1, 3, 0, 2]
  assert latent.traversal_order(4, dims=[0, 2, 3], scores=scores, top=2) == [3, 0]
  assert latent.traversal_order(4, scores=np.zeros(4)) == [0, 1, 2, 3]  # ties keep unit order
  z = np.zeros(4, np.float32)
  g = latent.save_traversals(affine_decoder, z, tmp_path / 't.png', scores=scores, steps=5, top=3)
  assert g.shape == (3 * 2 + 1, 5 * 5 + 1, 1)
  for row, k in enumerate([1, 3, 0]):  # row `row` sweeps unit k: its column k varies
    swept = np.stack([tile(g, row, c, 1, 4, 1)[0, :, 0] for c in range(5)]) / 255 * 8 - 4
    np.testing.assert_allclose(swept[:, k], np.linspace(-3, 3, 5), atol=0.02)
    np.testing.assert_allclose(np.delete(swept, k, 1), 0.0, atol=0.02)
  img = Image.open(tmp_path / 't.png')
  assert 500 <= img.width <= 800 and 50 <= img.height <= 400


@pytest.mark.parametrize('layout', ['rows', 'pairs'])
def test_reconstruction_grid(tmp_path, layout):
  x = np.linspace(0, 1, 7)[:, None, None, None] * np.ones((7, 2, 3, 1), np.float32)
  x_hat = 1 - x
  g = latent.save_reconstructions(x, x_hat, tmp_path / 'r.png', cols=4, layout=layout)
  h, w, pad = 2, 3, 1
  if layout == 'rows':  # 2 chunks of 4: data row, reconstruction row, data row, ...
    assert g.shape == (4 * (h + pad) + pad, 4 * (w + pad) + pad, 1)
    where = lambda i, rec: (2 * (i // 4) + rec, i % 4)  # noqa: E731
  else:  # pairs: 4 pairs a row, 2 rows
    assert g.shape == (2 * (h + pad) + pad, 8 * (w + pad) + pad, 1)
    where = lambda i, rec: (i // 4, 2 * (i % 4) + rec)  # noqa: E731
  for i in range(7):
    for rec, img in ((0, x[i]), (1, x_hat[i])):
      r, c = where(i, rec)
      np.testing.assert_array_equal(tile(g, r, c, h, w, pad), images.to_uint8(img, 'unit'))
  assert (tile(g, *where(7, 0), h, w, pad) == 255).all()  # the filler is white
  assert Image.open(tmp_path / 'r.png').width >= 256
  rec = latent.reconstruct(lambda x: x.reshape(len(x), -1)[:, :3] * 8 - 4, affine_decoder, x, 3)
  np.testing.assert_allclose(rec[:, 0, :, 0], x[:, 0, :, 0], atol=1e-6)


def test_aggregate_posterior_kl_hand_values():
  # d = 1: every mean 1, variance 2: N(1, 2) vs N(0, 1) -> 0.5 (2 + 1 - 1 - ln 2).
  kl = latent.aggregate_posterior_gaussian_kl(np.ones((5, 1)), np.full((5, 1), 2.0))
  np.testing.assert_allclose(kl, 1 - 0.5 * np.log(2), rtol=1e-12)
  # d = 2: means +-(1, 1) give Cov = [[1, 1], [1, 1]], + variance 1: tr 4, det 3.
  means = np.array([[1.0, 1.0], [-1.0, -1.0]])
  kl = latent.aggregate_posterior_gaussian_kl(means, np.ones((2, 2)))
  np.testing.assert_allclose(kl, 0.5 * (4 - 2 - np.log(3)), rtol=1e-12)
  m, s = latent.aggregate_posterior_moments(means, np.ones((2, 2)))
  np.testing.assert_allclose(s, [[2, 1], [1, 2]])
  # An aggregate that is N(0, I) to two moments: means +-c e_k (Cov = c^2 / d I) + the rest as
  # posterior variance -> KL 0; shifting it costs m'm / 2.
  d = 5
  c = np.sqrt(d / 2)
  means = np.concatenate([c * np.eye(d), -c * np.eye(d)])
  var = np.full((2 * d, d), 0.5)
  assert abs(latent.aggregate_posterior_gaussian_kl(means, var)) < 1e-12
  np.testing.assert_allclose(latent.aggregate_posterior_gaussian_kl(means + 0.3, var), d * 0.045)
  # Collapsed onto a point with no posterior spread: a degenerate Gaussian, infinite KL.
  assert latent.aggregate_posterior_gaussian_kl(np.zeros((3, 2)), np.zeros((3, 2))) == np.inf


def test_prior_hole_plot(tmp_path):
  rng = np.random.default_rng(0)
  means = rng.normal(size=(300, 2)) * 0.5 + np.array([1.0, 0.0])
  labels = rng.integers(0, 10, 300)
  pts = latent.save_prior_hole(means, tmp_path / 'h.png', labels, np.full((300, 2), 0.2))
  np.testing.assert_array_equal(pts, means)
  assert Image.open(tmp_path / 'h.png').size == (450, 450)
  # d = 6 with the spread in units 3 and 4: 'first2' shows units 0, 1; 'pca' finds 3 and 4,
  # uncentred (the prior mean stays at the origin).
  means = np.zeros((200, 6))
  means[:, 3] = rng.normal(size=200) * 3
  means[:, 4] = rng.normal(size=200) * 2
  means[:, 0] = 0.7
  first = latent.save_prior_hole(means, tmp_path / 'f.png')
  np.testing.assert_array_equal(first, means[:, :2])
  var = np.ones((200, 6))
  pca = latent.save_prior_hole(means, tmp_path / 'p.png', projection='pca', variances=var)
  proj, _ = latent.project_2d(means, 'pca')
  np.testing.assert_array_equal(pca, proj)
  # The plane is span(e3, e4) (no other unit varies), so the (3, 4) part is kept whole and the
  # constant unit 0 is dropped; the first axis has the larger spread.
  np.testing.assert_allclose(
      np.linalg.norm(pca, axis=1), np.linalg.norm(means[:, [3, 4]], axis=1), rtol=1e-9
  )
  assert pca[:, 0].var() > pca[:, 1].var()
  assert Image.open(tmp_path / 'p.png').size == (450, 450)
