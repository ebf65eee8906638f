r"""Mixtures of Gaussians as EBMs (D4, D12, D21).

A mixture of normalized densities is normalized (D4), so its energy can be taken as the
negative log density itself:

\[
    E(x) = -\log \sum_{k=1}^K w_k\, N(x; \mu_k, \Sigma_k)
    = -\operatorname{logsumexp}_k\big(\log w_k + \log N(x; \mu_k, \Sigma_k)\big),
    \qquad \log Z = 0 .
\]

The lectures' \(f = -E = \log p\). The score is the responsibility-weighted average of the
component scores (D21):

\[
    \nabla_x \log p(x) = -\sum_k r_k(x)\, \Sigma_k^{-1}(x - \mu_k), \qquad
    r_k(x) = \frac{w_k N(x; \mu_k, \Sigma_k)}{\sum_j w_j N(x; \mu_j, \Sigma_j)} .
\]

"""

from __future__ import annotations

import numpy as np
from autograd.tracer import getval

from .. import _validate as v
from .._backend import array_namespace, is_numpy_namespace, logsumexp, to_numpy
from ._expfam import _host, _host_dtype
from .gaussian import _gaussian_log_density, _gaussian_score, _outer, _sym

__all__ = ["GaussianMixture"]


class GaussianMixture:
    r"""The mixture \(p(x) = \sum_k w_k N(x; \mu_k, \Sigma_k)\) on \(\mathbb{R}^d\).

    Parameters
    ----------
    weights : array of shape (K,)
        Mixture weights, all > 0, summing to 1 (within 1e-12).
    means : array of shape (K, d)
    covs : array of shape (K, d, d)
        Each symmetric positive definite; only the symmetric part enters the math.

    Notes
    -----
    Energy \(E(x) = -\operatorname{logsumexp}_k(\log w_k + \log N(x;\mu_k,\Sigma_k))\), so
    ``log_partition()`` is exactly 0 and ``log_prob = -energy``; computed in log space, so an
    energy of 1e4 (a point far from every component) is finite. Points are ``x`` of shape
    ``(n, d)``.

    Parameter gradients of the energy (each row a point): [`grad_energy_weights`][refebm.families.GaussianMixture.grad_energy_weights]
    \(= -r_k/w_k\), the partial derivatives with the \(K\) weights taken as free
    variables; [`grad_energy_means`][refebm.families.GaussianMixture.grad_energy_means] \(= -r_k\Sigma_k^{-1}(x-\mu_k)\);
    [`grad_energy_covs`][refebm.families.GaussianMixture.grad_energy_covs] \(= -\frac{r_k}{2}(u_k u_k^\top - \Sigma_k^{-1})\),
    \(u_k = \Sigma_k^{-1}(x - \mu_k)\) (the symmetric gradient).

    Energy, log density, score, responsibilities, parameter gradients and [`from_noise`][refebm.families.GaussianMixture.from_noise]
    work in any array-API namespace (the one of the parameters); [`sample`][refebm.families.GaussianMixture.sample] returns NumPy.

    Math
    ----
    D4: \(\int \sum_k w_k p_k = \sum_k w_k = 1\); D12, D21: the score above.

    Examples
    --------
    >>> import numpy as np
    >>> from refebm.families import GaussianMixture
    >>> mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-2.0], [2.0]]),
    ...                       np.array([[[1.0]], [[1.0]]]))
    >>> mix.score(np.array([[0.0]])).tolist()     # the two pulls cancel half-way
    [[0.0]]
    >>> float(mix.log_partition())
    0.0
    """

    def __init__(self, weights, means, covs):
        xp = array_namespace(weights, means, covs)
        self._xp = xp
        self.weights = v.probability_vector("weights", weights, xp=xp, allow_zero=False)
        n_comp = int(getval(self.weights).shape[0])
        self.means = v.real_array("means", means, xp=xp, ndim=2)
        k, d = (int(s) for s in getval(self.means).shape)
        if k != n_comp:
            raise ValueError(
                f"`means` must have shape ({n_comp}, d) to match `weights` of length {n_comp}, "
                f"got shape {(k, d)}")
        self.covs = v.real_array("covs", covs, xp=xp, shape=(n_comp, d, d))
        for j in range(n_comp):
            v.positive_definite(f"covs[{j}]", _host(self.covs)[j])
        self.n_components = n_comp
        self.dim = d
        self.event_shape = (d,)

    # --- the pieces -------------------------------------------------------------------------

    def _points(self, x, name="x"):
        xp_x = array_namespace(x)
        if (not isinstance(getval(x), (list, tuple)) and xp_x is not self._xp
                and not (is_numpy_namespace(xp_x) and is_numpy_namespace(self._xp))):
            raise TypeError(
                f"`{name}` is an array of namespace {getattr(xp_x, '__name__', xp_x)} but the "
                f"parameters of GaussianMixture are of namespace "
                f"{getattr(self._xp, '__name__', self._xp)}; move them to one namespace "
                "explicitly")
        return v.points(name, x, d=self.dim, xp=self._xp)

    def _cov(self, k):
        return _sym(self.covs[k, ...])

    def _log_joint(self, x):
        r"""\(\log w_k + \log N(x; \mu_k, \Sigma_k)\), shape ``(n, K)``."""
        xp = self._xp
        cols = [_gaussian_log_density(x, self.means[k, :], self._cov(k), xp)
                for k in range(self.n_components)]
        return xp.stack(cols, axis=1) + xp.log(self.weights)

    def _log_density_and_responsibilities(self, x):
        log_joint = self._log_joint(x)
        lse = logsumexp(log_joint, axis=1, xp=self._xp)
        return lse, self._xp.exp(log_joint - self._xp.reshape(lse, (-1, 1)))

    def _responsibilities(self, x):
        return self._log_density_and_responsibilities(x)[1]

    def _score(self, x, resp):
        xp = self._xp
        out = xp.zeros_like(x)
        for k in range(self.n_components):
            comp = _gaussian_score(x, self.means[k, :], self._cov(k), xp)
            out = out + resp[:, k:k + 1] * comp
        return out

    # --- the public API ---------------------------------------------------------------------

    def energy(self, x):
        r"""\(E(x) = -\log p(x)\), shape ``(n,)``."""
        x = self._points(x)
        return -logsumexp(self._log_joint(x), axis=1, xp=self._xp)

    def quadrature_points(self):
        """The component means, one sequence per axis: where
        [`quadrature`][refebm.partition.quadrature.quadrature] cuts the box, so far or narrow components
        are resolved without being named."""
        means = to_numpy(getval(self.means))
        return [means[:, i].copy() for i in range(means.shape[1])]

    def log_partition(self):
        """``0``: the mixture is normalized, so its energy is its negative log density."""
        dtype = _host_dtype(self.weights, self.means, self.covs)
        return self._xp.asarray(0.0, dtype=getattr(self._xp, dtype.name))

    def log_prob(self, x):
        r"""\(\log p(x) = -E(x)\), shape ``(n,)``."""
        return -self.energy(x)

    def responsibilities(self, x):
        r"""The posterior component probabilities \(r_k(x)\), shape ``(n, K)``."""
        return self._responsibilities(self._points(x))

    def score(self, x):
        r"""\(\nabla_x \log p(x) = -\sum_k r_k(x)\Sigma_k^{-1}(x-\mu_k)\), shape ``(n, d)``."""
        x = self._points(x)
        return self._score(x, self._responsibilities(x))

    def energy_and_score(self, x):
        r"""``(energy(x), score(x))`` from one evaluation of the log-terms
        \(\log w_k + \log N(x; \mu_k, \Sigma_k)\): the log-sum-exp gives the energy and the
        responsibilities it normalizes give the score. Samplers use it when passed ``energy``
        ([`refebm.samplers.energy_and_score`][refebm.samplers.energy_and_score])."""
        x = self._points(x)
        log_density, resp = self._log_density_and_responsibilities(x)
        return -log_density, self._score(x, resp)

    def grad_energy_weights(self, x):
        r"""\(\partial E(x)/\partial w_k = -r_k(x)/w_k\), shape ``(n, K)``."""
        x = self._points(x)
        return -self._responsibilities(x) / self.weights

    def grad_energy_means(self, x):
        r"""\(\partial E(x)/\partial\mu_k = -r_k(x)\Sigma_k^{-1}(x-\mu_k)\), ``(n, K, d)``."""
        x = self._points(x)
        xp = self._xp
        resp = self._responsibilities(x)
        cols = [resp[:, k:k + 1] * _gaussian_score(x, self.means[k, :], self._cov(k), xp)
                for k in range(self.n_components)]
        return xp.stack(cols, axis=1)

    def grad_energy_covs(self, x):
        r"""\(\partial E/\partial\Sigma_k = -\frac{r_k(x)}{2}(u_k u_k^\top - \Sigma_k^{-1})\),
        \(u_k = \Sigma_k^{-1}(x-\mu_k)\); shape ``(n, K, d, d)``."""
        x = self._points(x)
        xp = self._xp
        resp = self._responsibilities(x)
        cols = []
        for k in range(self.n_components):
            cov = self._cov(k)
            u = -_gaussian_score(x, self.means[k, :], cov, xp)
            prec = _sym(xp.linalg.inv(cov))
            per_point = _outer(u, u, xp) - xp.expand_dims(prec, axis=0)
            cols.append(-0.5 * xp.reshape(resp[:, k], (-1, 1, 1)) * per_point)
        return xp.stack(cols, axis=1)

    def from_noise(self, components, noise):
        r"""The deterministic core of [`sample`][refebm.families.GaussianMixture.sample]: \(x_i = \mu_{c_i} + L_{c_i} z_i\).

        ``components`` are integer component indices ``(n,)``; ``noise`` \(z\) is
        ``(n, d)``; \(L_k L_k^\top = \Sigma_k\) (Cholesky).
        """
        xp = self._xp
        z = self._points(noise, name="noise")
        n = int(getval(z).shape[0])
        comp = np.asarray(to_numpy(v.not_foreign("components", components)))
        if comp.shape != (n,) or comp.dtype.kind not in "iu":
            raise ValueError(
                f"`components` must be integers of shape ({n},), got {v.show(components)}")
        if np.any(comp < 0) or np.any(comp >= self.n_components):
            raise ValueError(
                f"`components` must lie in 0..{self.n_components - 1}, got {v.show(components)}")
        out = xp.zeros_like(z)
        for k in range(self.n_components):
            chol = xp.linalg.cholesky(self._cov(k))
            mask = xp.asarray(np.reshape(comp == k, (n, 1)))
            out = xp.where(mask, self.means[k, :] + z @ chol.T, out)
        return out

    def sample(self, n, rng):
        """``n`` independent draws, a NumPy array of shape ``(n, d)``: a component by its weight,
        then a Gaussian draw from it. float32 for a mixture of float32 parameters, else
        float64 (the dtype rule)."""
        n = v.integer("n", n, minimum=1)
        gen = v.rng(rng)
        weights = _host(self.weights)
        components = np.minimum(
            np.searchsorted(np.cumsum(weights), gen.random(n), side="right"),
            self.n_components - 1)
        z = gen.standard_normal((n, self.dim))
        on_host = GaussianMixture(weights, _host(self.means), _host(self.covs))
        dtype = _host_dtype(self.weights, self.means, self.covs)
        return np.asarray(to_numpy(on_host.from_noise(components, z)), dtype=dtype)

    def __repr__(self):
        return (f"GaussianMixture(weights={v.show(self.weights)}, means={v.show(self.means)}, "
                f"covs={v.show(self.covs)})")
