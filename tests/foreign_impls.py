"""Foreign implementations for the conformance-check tests, written without refebm.

Each ``make_*`` builds a function with the signature a user's code has, computing from the
models' hand-written derivatives (no autograd, no refebm import), with at most one catalogued
bug planted (``bug=None`` is the correct twin). Models: the standard problems' correlated
Gaussian and quartic, rebuilt from their parameters.
"""

import numpy as np
from scipy.special import log_expit


class GaussianModel:
    """E = 1/2 (x - mu)^T P (x - mu); theta = (mu, P.ravel())."""

    def __init__(self, mean, precision):
        self.mu = np.asarray(mean, float)
        self.p = np.asarray(precision, float)
        self.theta = np.concatenate([self.mu, self.p.ravel()])

    def energy(self, x):
        r = x - self.mu
        return 0.5 * np.einsum("ni,ij,nj->n", r, self.p, r)

    def grad_energy(self, x):
        return (x - self.mu) @ self.p

    def hessian_energy(self, x):
        return np.broadcast_to(self.p, (x.shape[0],) + self.p.shape)

    def grad_theta(self, x):
        r = x - self.mu
        g_mu = -0.5 * r @ (self.p + self.p.T)
        g_p = 0.5 * np.einsum("ni,nj->nij", r, r).reshape(x.shape[0], -1)
        return np.concatenate([g_mu, g_p], axis=1)


class QuarticModel:
    """E = t0/4 (x0^4 + x1^4) + t1/2 x0^2 + t2 x0 x1 + t3 x1."""

    def __init__(self, theta):
        self.theta = np.asarray(theta, float)

    def energy(self, x):
        t = self.theta
        return (t[0] * (x[:, 0] ** 4 + x[:, 1] ** 4) / 4 + t[1] * x[:, 0] ** 2 / 2
                + t[2] * x[:, 0] * x[:, 1] + t[3] * x[:, 1])

    def grad_energy(self, x):
        t = self.theta
        return np.stack([t[0] * x[:, 0] ** 3 + t[1] * x[:, 0] + t[2] * x[:, 1],
                         t[0] * x[:, 1] ** 3 + t[2] * x[:, 0] + t[3]], axis=1)

    def hessian_energy(self, x):
        t = self.theta
        h = np.empty((x.shape[0], 2, 2))
        h[:, 0, 0] = 3 * t[0] * x[:, 0] ** 2 + t[1]
        h[:, 1, 1] = 3 * t[0] * x[:, 1] ** 2
        h[:, 0, 1] = h[:, 1, 0] = t[2]
        return h

    def grad_theta(self, x):
        return np.stack([(x[:, 0] ** 4 + x[:, 1] ** 4) / 4, x[:, 0] ** 2 / 2,
                         x[:, 0] * x[:, 1], x[:, 1]], axis=1)


def model_for(problem):
    if problem.name == "gaussian":
        return GaussianModel(problem.params["mean"], problem.params["precision"])
    if problem.name == "quartic":
        return QuarticModel(problem.params["theta"])
    raise ValueError(problem.name)


def _score(m, x):
    return -m.grad_energy(x)


def _tr(m, x):
    return -np.trace(m.hessian_energy(x), axis1=1, axis2=2)


# ---- score and losses ----------------------------------------------------------------------

def make_score(m, bug=None):
    def score_fn(x):
        s = _score(m, x)
        if bug == "SCORE-SIGN":
            return -s
        if bug == "SCORE-TRANSPOSED":
            return s.T.copy()
        if bug == "SCORE-SCALED":
            return 0.5 * s
        return s

    return score_fn


def make_sm_loss(m, bug=None):
    def loss_fn(x):
        s, tr = _score(m, x), _tr(m, x)
        half = 1.0 if bug == "SM-HALF-MISSING" else 0.5
        if bug == "SM-LAPLACIAN-SIGN":
            tr = -tr
        if bug == "SM-TRACE-OVER-D":
            tr = tr / x.shape[1]
        rows = half * (s**2).sum(1) + tr
        return rows.sum() if bug == "SM-SUM" else rows.mean()

    return loss_fn


def make_ssm_loss(m, bug=None, *, variance_reduced=False):
    def loss_fn(x, v):
        v = v[None] if v.ndim == 2 else v
        if bug == "SSM-UNIT-SPHERE":
            v = v / np.linalg.norm(v, axis=-1, keepdims=True)
        s = _score(m, x)
        hess_s = -m.hessian_energy(x)
        vs = np.einsum("mnd,nd->mn", v, s)
        if bug == "SSM-WRONG-VARIABLE":
            first = vs          # d(v.s)/dv = s, dotted with v
        else:
            first = np.einsum("mnd,nde,mne->mn", v, hess_s, v)
        vr = variance_reduced != (bug in ("SSM-VARIANCE-REDUCED", "SSM-PLAIN"))
        second = 0.5 * (s**2).sum(1)[None] if vr else 0.5 * vs**2
        per = first + second
        if bug == "SSM-PROJECTIONS-SUMMED":
            return per.sum(0).mean()
        return per.mean()

    return loss_fn


def make_hutchinson(a, bug=None):
    def fn(v):
        q = np.einsum("md,de,me->m", v, a, v)
        return q.sum() if bug == "HUTCH-NOT-AVERAGED" else q.mean()

    return fn


def make_dsm_loss(m, bug=None):
    def loss_fn(x, sigma, z):
        xt = x + sigma * z
        s = _score(m, xt)
        if bug == "DSM-TARGET-XTILDE":
            target = -(xt - x) / sigma**2
        elif bug == "DSM-TARGET-SIGN":
            target = z / sigma
        else:
            target = -z / sigma
        rows = 0.5 * ((s - target) ** 2).sum(1)
        if bug == "DSM-SIGMA2-WEIGHT":
            rows = 0.5 * ((sigma * s + z) ** 2).sum(1)
        if bug == "DSM-SIGMA4-WEIGHT":
            rows = 0.5 * ((sigma**2 * s + (xt - x)) ** 2).sum(1)
        return rows.sum() if bug == "DSM-SUM" else rows.mean()

    return loss_fn


def make_dsm_levels_loss(m, bug=None):
    """NCSN's multi-scale loss with one level per point (labels); the model ignores sigma.
    bug: DSM-LEVEL-AVERAGE (every point at every level), DSM-SIGMA2-WEIGHT (NCSN's weights)."""

    def loss_fn(x, sigmas, z, labels):
        if bug == "DSM-LEVEL-AVERAGE":
            per_level = [make_dsm_loss(m)(x, s, z) for s in sigmas]
            return sum(per_level) / len(per_level)
        sigma = sigmas[labels][:, None]
        s = _score(m, x + sigma * z)
        if bug == "DSM-SIGMA2-WEIGHT":
            return (0.5 * ((sigma * s + z) ** 2).sum(1)).mean()
        return (0.5 * ((s + z / sigma) ** 2).sum(1)).mean()

    return loss_fn


def make_nce_loss(m, log_z, log_q, bug=None):
    def loss_fn(xd, xn):
        k = xn.shape[0] / xd.shape[0]
        c = 0.0 if bug == "NCE-LOGZ-MISSING" else log_z
        if bug == "NCE-NU-IGNORED":
            k_logit, k_weight = 1.0, 1.0
        else:
            k_logit, k_weight = k, k
        if bug == "NCE-LOG-K":
            # the classifier as written with "- log k" and one logistic loss over the pooled
            # batch, labels 1 for data and 0 for noise, per-sample weights 1/n_d and k/n_n
            logit = lambda x: (-m.energy(x) - c) - log_q(x) - np.log(k)
            lab = np.concatenate([np.ones(len(xd)), np.zeros(len(xn))])
            g = np.concatenate([logit(xd), logit(xn)])
            w = np.concatenate([np.full(len(xd), 1 / len(xd)), np.full(len(xn), k / len(xn))])
            return -np.sum(w * (lab * log_expit(g) + (1 - lab) * log_expit(-g)))
        sign = -1.0 if bug == "NCE-LOGIT-SIGN" else 1.0
        g_d = -m.energy(xd) - c - log_q(xd) - np.log(k_logit)
        g_n = -m.energy(xn) - c - log_q(xn) - np.log(k_logit)
        return -(log_expit(sign * g_d).mean() + k_weight * log_expit(-sign * g_n).mean())

    return loss_fn


def make_cd_gradient(m, bug=None):
    def grad_fn(xd, xm):
        gd, gm = m.grad_theta(xd), m.grad_theta(xm)
        if bug == "CD-SUM":
            return gd.sum(0) - gm.sum(0)
        if bug == "CD-SIGN":
            return gm.mean(0) - gd.mean(0)
        if bug == "CD-LOG-DENSITY":
            # loss -mean f(data) + mean f(model) with f = -E, differentiated
            return -(-gd).mean(0) + (-gm).mean(0)
        return gd.mean(0) - gm.mean(0)

    return grad_fn


# ---- samplers ------------------------------------------------------------------------------

def make_langevin(m, form="cs236"):
    """form: a convention name, or a bug id."""

    def step_fn(x, z, step):
        s = _score(m, x)
        if form == "cs236":
            return x + step * s + np.sqrt(2 * step) * z
        if form in ("song_kingma", "LANGEVIN-SONG-KINGMA"):
            return x + step**2 / 2 * s + step * z
        if form in ("tfp", "LANGEVIN-TFP"):
            return x + step / 2 * s + np.sqrt(step) * z
        if form == "LANGEVIN-CS236":
            return x + step * s + np.sqrt(2 * step) * z
        if form == "LANGEVIN-NOISE-STEP":
            return x + step * s + step * z        # (with the cs236 reference: a = eps, b = eps)
        if form == "LANGEVIN-ONE-SYMBOL":
            return x + step * s + step * z        # checked against the TFP reference
        raise ValueError(form)

    return step_fn


def _log_q(to, frm, s_frm, a, var):
    return -((to - frm - a * s_frm) ** 2).sum(1) / (2 * var)


def make_log_acceptance(m, bug=None, step=None):
    def fn(x, xp):
        ex, ep = m.energy(x), m.energy(xp)
        if step is None:
            rev = fwd = 0.0
        else:
            sx, sp = _score(m, x), _score(m, xp)
            a, var = (step / 2, step) if bug == "MH-CORRECTION-MISMATCH" else (step, 2 * step)
            rev = _log_q(x, xp, sp, a, var)
            fwd = _log_q(xp, x, sx, a, var)
            if bug == "MH-REVERSE-WRONG-STATE":
                rev = _log_q(x, x, sx, a, var)
        if bug == "MH-HASTINGS-INVERTED":
            rev, fwd = fwd, rev
        de = ex - ep
        if bug == "MH-NEW-MINUS-NEW":
            de = ep - ep
        if bug == "MH-ENERGY-SIGN":
            de = ep - ex
        out = de + rev - fwd
        if bug == "MH-CLIPPED":
            out = np.minimum(out, 0.0)
        return out

    return fn


def make_mala(m, bug=None):
    mh_bug = {"MALA-REVERSE-WRONG-STATE": "MH-REVERSE-WRONG-STATE",
              "MALA-HASTINGS-INVERTED": "MH-HASTINGS-INVERTED",
              "MALA-NEW-MINUS-NEW": "MH-NEW-MINUS-NEW", "MALA-ENERGY-SIGN": "MH-ENERGY-SIGN",
              "MALA-CORRECTION-MISMATCH": "MH-CORRECTION-MISMATCH"}.get(bug)

    def step_fn(x, z, u, step):
        xp = x + step * _score(m, x) + np.sqrt(2 * step) * z
        if bug == "MALA-NO-ACCEPT":
            return xp, np.ones(len(x), bool)
        log_r = make_log_acceptance(m, mh_bug, step)(x, xp)
        if bug == "MALA-THRESHOLD-SIGN":
            acc = log_r > -np.log(u)
        else:
            acc = np.log(u) < log_r
        return np.where(acc[:, None], xp, x), acc

    return step_fn
