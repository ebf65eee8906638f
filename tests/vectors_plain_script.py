"""A plain NumPy program that computes every golden vector from the JSON alone.

It stands for a foreign implementation in any language: it does not import refebm, reads the
``*_test.json`` files of a folder, computes each case from its inputs (hex floats, exact), and
writes ``{tcId: value}``. ``--bug ID`` plants one catalogued bug or convention, so the test suite
can check that ``refebm check`` names it. The model-based cases name their model family in
``inputs["model"]`` (a quadratic-plus-quartic energy, a tanh MLP in PyTorch's layout, a Gaussian
mixture); each family's energy, score, Hessian of log p and parameter gradient are written by
hand here (chain rule, responsibilities), with no automatic differentiation.

    python vectors_plain_script.py VECTOR_DIR RESULTS.json [--bug ID]
"""

import json
import math
import os
import sys

import numpy as np
from scipy.special import ndtri

BUG = None


def arr(obj):
    return np.array([float.fromhex(h) for h in obj["hex"]], dtype=np.float64).reshape(
        obj["shape"])


# -- the three model families, with hand-written derivatives ---------------------------------
# Each case names its family in inputs["model"]; energy, score and the Hessian of log p
# dispatch on it.

def quadratic_quartic(inp):
    return arr(inp["mean"]), arr(inp["precision"]), float(arr(inp["quartic"]))


def _qq_energy(inp, x):
    mean, prec, q = quadratic_quartic(inp)
    r = x - mean
    return 0.5 * np.einsum("ni,ij,nj->n", r, prec, r) + 0.25 * q * np.sum(x**4, axis=1)


def _qq_score(inp, x):
    mean, prec, q = quadratic_quartic(inp)
    return -(x - mean) @ prec - q * x**3


def _qq_hess_logp(inp, x):
    mean, prec, q = quadratic_quartic(inp)
    return -(prec[None] + 3.0 * q * np.einsum("ni,ij->nij", x**2, np.eye(x.shape[1])))


def _mlp_forward(inp, x):
    """The tanh MLP's layers (weights in nn.Linear layout: a layer computes h W^T + b)."""
    w0, b0, w1, b1, w2, b2 = (arr(inp[k]) for k in ("W0", "b0", "W1", "b1", "W2", "b2"))
    h1 = np.tanh(x @ w0.T + b0)                  # (n, 16)
    h2 = np.tanh(h1 @ w1.T + b1)                 # (n, 16)
    e = h2 @ w2[0] + b2[0]                       # (n,)
    d2 = (1.0 - h2**2) * w2[0]                   # dE/d(pre-activation 2)   (n, 16)
    u = d2 @ w1                                  # dE/dh1                   (n, 16)
    d1 = (1.0 - h1**2) * u                       # dE/d(pre-activation 1)   (n, 16)
    return dict(w0=w0, w1=w1, w2=w2, h1=h1, h2=h2, e=e, d2=d2, u=u, d1=d1)


def _mlp_energy(inp, x):
    return _mlp_forward(inp, x)["e"]


def _mlp_score(inp, x):
    f = _mlp_forward(inp, x)
    return -f["d1"] @ f["w0"]                    # -W0^T d1 per point


def _mlp_hess_logp(inp, x):
    """-Hessian of E by the chain rule: with a1 = W0 x + b0, a2 = W1 h1 + b1,
    H = W0^T [diag(tanh''(a1) u) + D1 W1^T diag(tanh''(a2) W2) W1 D1] W0,
    tanh'' = -2 tanh (1 - tanh^2), D1 = diag(1 - h1^2)."""
    f = _mlp_forward(inp, x)
    h1, h2 = f["h1"], f["h2"]
    c1 = -2.0 * h1 * (1.0 - h1**2) * f["u"]                   # (n, 16)
    c2 = -2.0 * h2 * (1.0 - h2**2) * f["w2"][0]               # (n, 16)
    b = f["w1"][None, :, :] * (1.0 - h1**2)[:, None, :]       # W1 D1 per point (n, 16, 16)
    inner = np.einsum("nki,nk,nkj->nij", b, c2, b)
    inner = inner + np.einsum("ni,ij->nij", c1, np.eye(c1.shape[1]))
    return -np.einsum("ai,nab,bj->nij", f["w0"], inner, f["w0"])


def _mix_terms(inp, x):
    """Per component: log(w_k N(x; m_k, C_k)) (n, K), P_k (K, d, d), g_k = -P_k (x - m_k)
    (n, K, d)."""
    w, m, cov = arr(inp["weights"]), arr(inp["means"]), arr(inp["covariances"])
    d = x.shape[1]
    prec = np.linalg.inv(cov)
    logdet = np.linalg.slogdet(cov)[1]
    r = x[:, None, :] - m[None, :, :]                          # (n, K, d)
    quad = np.einsum("nki,kij,nkj->nk", r, prec, r)
    log_terms = np.log(w) - 0.5 * quad - 0.5 * logdet - 0.5 * d * math.log(2 * math.pi)
    g = -np.einsum("kij,nkj->nki", prec, r)
    return log_terms, prec, g


def _rows_logsumexp(a):
    m = np.max(a, axis=1, keepdims=True)
    return (m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)))[:, 0]


def _responsibilities(log_terms):
    return np.exp(log_terms - _rows_logsumexp(log_terms)[:, None])


def _mix_energy(inp, x):
    return -_rows_logsumexp(_mix_terms(inp, x)[0])


def _mix_score(inp, x):
    log_terms, _, g = _mix_terms(inp, x)
    return np.einsum("nk,nki->ni", _responsibilities(log_terms), g)


def _mix_hess_logp(inp, x):
    """sum_k r_k (g_k g_k^T - P_k) - s s^T."""
    log_terms, prec, g = _mix_terms(inp, x)
    r = _responsibilities(log_terms)
    s = np.einsum("nk,nki->ni", r, g)
    return (np.einsum("nk,nki,nkj->nij", r, g, g) - np.einsum("nk,kij->nij", r, prec)
            - np.einsum("ni,nj->nij", s, s))


FAMILIES = {
    "quadratic_quartic": (_qq_energy, _qq_score, _qq_hess_logp),
    "tanh_mlp": (_mlp_energy, _mlp_score, _mlp_hess_logp),
    "gaussian_mixture": (_mix_energy, _mix_score, _mix_hess_logp),
}


def _family(inp):
    try:
        return FAMILIES[inp["model"]]
    except KeyError:
        raise SystemExit(f"unknown model family {inp.get('model')!r}") from None


def energy(inp, x):
    return _family(inp)[0](inp, x)


def score(inp, x):
    return _family(inp)[1](inp, x)


def hess_logp(inp, x):
    return _family(inp)[2](inp, x)


def logsumexp(a):
    m = np.max(a)
    return m + math.log(np.sum(np.exp(a - m)))


def log_sigmoid(t):
    return -np.logaddexp(0.0, -t)


# -- quantities --------------------------------------------------------------------------------

def q_score(inp):
    s = score(inp, arr(inp["x"]))
    return -s if BUG == "SCORE-SIGN" else s


def q_score_matching_loss(inp):
    x = arr(inp["x"])
    s = score(inp, x)
    tr = np.trace(hess_logp(inp, x), axis1=1, axis2=2)
    half = 1.0 if BUG == "SM-HALF-MISSING" else 0.5
    return np.mean(half * np.sum(s * s, axis=1) + tr)


def _vhv(inp, x, v):
    return np.einsum("mni,nij,mnj->mn", v, hess_logp(inp, x), v)


def q_sliced_score_matching_loss(inp):
    x, v = arr(inp["x"]), arr(inp["v"])
    s = score(inp, x)
    vhv = _vhv(inp, x, v)
    if inp["variance_reduced"]:
        return np.mean(vhv) + np.mean(0.5 * np.sum(s * s, axis=1))
    vs = np.einsum("mni,ni->mn", v, s)
    return np.mean(vhv + 0.5 * vs**2)


def q_hutchinson_trace(inp):
    x, v = arr(inp["x"]), arr(inp["v"])
    return np.mean(_vhv(inp, x, v), axis=0)


def _dsm(inp, x, z, sigma):
    r = score(inp, x + sigma * z) + z / sigma
    return np.mean(0.5 * np.sum(r * r, axis=1))


def q_denoising_score_matching_loss(inp):
    x, z, sigma = arr(inp["x"]), arr(inp["noise"]), arr(inp["sigma"])
    if "labels" not in inp:
        return _dsm(inp, x, z, float(sigma))
    if BUG == "DSM-LEVEL-AVERAGE":  # every point at every level, not one level per point
        return np.mean([_dsm(inp, x, z, s) for s in sigma])
    return _dsm(inp, x, z, sigma[arr(inp["labels"]).astype(int)][:, None])


def q_nce_loss(inp):
    xd, xn = arr(inp["x_data"]), arr(inp["x_noise"])
    c, nu, s = float(arr(inp["log_z"])), float(arr(inp["nu"])), float(arr(inp["noise_scale"]))

    def log_q(x):
        return -0.5 * np.sum(x**2, axis=1) / s**2 - 0.5 * x.shape[1] * math.log(2 * math.pi * s**2)

    g_d = -energy(inp, xd) - c - log_q(xd) - math.log(nu)
    g_n = -energy(inp, xn) - c - log_q(xn) - math.log(nu)
    return -(np.mean(log_sigmoid(g_d)) + nu * np.mean(log_sigmoid(-g_n)))


def _grad_theta(inp, x):
    """d E / d theta per sample, (n, p); theta as the vectors' model text defines it."""
    if inp["model"] == "quadratic_quartic":      # theta = mean
        mean, prec, _ = quadratic_quartic(inp)
        return -(x - mean) @ prec
    if inp["model"] == "tanh_mlp":               # theta = (W0, b0, W1, b1, W2, b2), row-major
        f = _mlp_forward(inp, x)
        n = x.shape[0]
        parts = [f["d1"][:, :, None] * x[:, None, :], f["d1"],          # W0, b0
                 f["d2"][:, :, None] * f["h1"][:, None, :], f["d2"],    # W1, b1
                 f["h2"], np.ones((n, 1))]                              # W2, b2
        return np.concatenate([p.reshape(n, -1) for p in parts], axis=1)
    # gaussian_mixture: theta = (log weights, means row-major), weights = softmax(log weights)
    log_terms, _, g = _mix_terms(inp, x)
    r = _responsibilities(log_terms)
    w = arr(inp["weights"])
    return np.concatenate([w[None, :] - r, (r[:, :, None] * g).reshape(x.shape[0], -1)],
                          axis=1)


def q_cd_gradient(inp):
    xd, xm = arr(inp["x_data"]), arr(inp["x_model"])
    return np.mean(_grad_theta(inp, xd), axis=0) - np.mean(_grad_theta(inp, xm), axis=0)


def q_langevin_step(inp):
    x, z, eps = arr(inp["x"]), arr(inp["noise"]), float(arr(inp["step_size"]))
    if BUG == "LANGEVIN-NOISE-STEP":
        return x + eps * score(inp, x) + eps * z
    if BUG == "LANGEVIN-TFP":
        return x + 0.5 * eps * score(inp, x) + math.sqrt(eps) * z
    return x + eps * score(inp, x) + math.sqrt(2.0 * eps) * z


def _log_r(inp, x, xp, eps):
    de = energy(inp, x) - energy(inp, xp)
    if eps is None:
        return de

    def log_q(to, frm):
        r = to - frm - eps * score(inp, frm)
        return -np.sum(r * r, axis=1) / (4.0 * eps)

    return de + log_q(x, xp) - log_q(xp, x)


def q_mh_log_acceptance(inp):
    eps = None if inp["step_size"] is None else float(arr(inp["step_size"]))
    return _log_r(inp, arr(inp["x"]), arr(inp["x_proposed"]), eps)


def q_mala_step(inp):
    x, z, u = arr(inp["x"]), arr(inp["noise"]), arr(inp["uniform"])
    eps = float(arr(inp["step_size"]))
    xp = x + eps * score(inp, x) + math.sqrt(2.0 * eps) * z
    if BUG == "MALA-NO-ACCEPT":
        return xp
    accept = np.log(u) < _log_r(inp, x, xp, eps)
    return np.where(accept[:, None], xp, x)


def q_log_partition(inp):
    if inp["states"] is None:
        mean, prec, _ = quadratic_quartic(inp)
        d = mean.shape[0]
        return 0.5 * d * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(prec)[1]
    return logsumexp(-energy(inp, arr(inp["states"])))


def _split(x):
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _avg_ranks(a):
    flat = a.ravel()
    order = np.argsort(flat, kind="mergesort")
    ranks = np.empty(flat.size)
    sorted_vals = flat[order]
    i = 0
    while i < flat.size:
        j = i
        while j + 1 < flat.size and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks.reshape(a.shape)


def _z(a):
    return ndtri((_avg_ranks(a) - 0.375) / (a.size + 0.25))


def _gr(x):
    n = x.shape[1]
    b = n * np.var(x.mean(axis=1), ddof=1)
    w = np.mean(np.var(x, axis=1, ddof=1))
    return math.sqrt((b / w + n - 1.0) / n)


def q_rhat(inp):
    x = arr(inp["chains"])
    if BUG == "RHAT-CLASSIC":
        return _gr(x)
    s = _split(x)
    return max(_gr(_z(s)), _gr(_z(np.abs(s - np.median(s)))))


def _ess(x):
    m, n = x.shape
    acov = np.array([np.correlate(c - c.mean(), c - c.mean(), mode="full")[n - 1:] / n
                     for c in x])
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (np.var(x.mean(axis=1), ddof=1) if m > 1 else 0.0)
    rho = np.zeros(n)
    rho[0] = 1.0
    even, odd = 1.0, 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[1] = odd
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if even + odd >= 0.0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0.0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[:max_t + 1]) + rho[max_t + 1]
    tau = max(tau, 1.0 / math.log10(m * n))
    return m * n / tau


def q_ess(inp):
    return _ess(_z(_split(arr(inp["chains"]))))


def q_ksd(inp):
    x = arr(inp["x"])
    s = score(inp, x)
    c, beta = float(arr(inp["c"])), float(arr(inp["beta"]))
    n, d = x.shape
    total, diag = 0.0, 0.0
    for i in range(n):
        for j in range(n):
            r = x[i] - x[j]
            r2 = float(r @ r)
            q = c * c + r2
            u = (q**beta * float(s[i] @ s[j])
                 + 2 * beta * q ** (beta - 1) * float(r @ (s[j] - s[i]))
                 - 2 * beta * d * q ** (beta - 1)
                 - 4 * beta * (beta - 1) * q ** (beta - 2) * r2)
            if i == j:
                diag += u
            else:
                total += u
    if BUG == "KSD-V-STATISTIC":
        return (total + diag) / n**2
    return total / (n * (n - 1))


def q_ais_log_normalizer(inp):
    log_w = arr(inp["log_weights"])
    if BUG == "AIS-SUMMED-WEIGHTS":
        return logsumexp(log_w)
    return logsumexp(log_w) - math.log(log_w.shape[0])


def main(argv):
    global BUG
    if "--bug" in argv:
        i = argv.index("--bug")
        BUG = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    folder, out = argv[0], argv[1]
    results = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith("_test.json"):
            continue
        with open(os.path.join(folder, name)) as fh:
            doc = json.load(fh)
        fn = globals()["q_" + doc["quantity"]]
        for group in doc["testGroups"]:
            for test in group["tests"]:
                value = np.asarray(fn(test["inputs"]), dtype=np.float64)
                results[str(test["tcId"])] = value.tolist()
    with open(out, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1:])
