"""A plain NumPy program that computes every golden vector from the JSON alone.

It stands for a foreign implementation in any language: it does not import refebm, reads the
``*_test.json`` files of a folder, computes each case from its inputs (hex floats, exact), and
writes ``{tcId: value}``. ``--bug ID`` plants one catalogued bug or convention, so the test suite
can check that ``refebm check`` names it.

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


def model(inp):
    return arr(inp["mean"]), arr(inp["precision"]), float(arr(inp["quartic"]))


def energy(inp, x):
    mean, prec, q = model(inp)
    r = x - mean
    return 0.5 * np.einsum("ni,ij,nj->n", r, prec, r) + 0.25 * q * np.sum(x**4, axis=1)


def score(inp, x):
    mean, prec, q = model(inp)
    return -(x - mean) @ prec - q * x**3


def hess_logp(inp, x):
    mean, prec, q = model(inp)
    return -(prec[None] + 3.0 * q * np.einsum("ni,ij->nij", x**2, np.eye(x.shape[1])))


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


def q_cd_gradient(inp):
    mean, prec, _ = model(inp)
    xd, xm = arr(inp["x_data"]), arr(inp["x_model"])
    grad = lambda x: -(x - mean) @ prec   # noqa: E731  d E / d mean, per sample
    return np.mean(grad(xd), axis=0) - np.mean(grad(xm), axis=0)


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
        mean, prec, _ = model(inp)
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
