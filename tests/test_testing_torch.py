"""The conformance checks on PyTorch code: the standard problems rebuilt in torch (the MLP from
its nn.Linear-layout weights), checked through ``torch_function``, clean and with planted bugs.
Skipped when torch is not installed (it is never a dependency)."""

import numpy as np
import pytest

from refebm import testing as rt
from refebm.testing import problems

torch = pytest.importorskip("torch")

P = problems()


def torch_energy(p):
    """The problem's energy rebuilt from its parameters, in float64 torch."""
    t = {k: torch.as_tensor(v) for k, v in p.params.items()}
    if p.name == "gaussian":
        return lambda x: 0.5 * (((x - t["mean"]) @ t["precision"]) * (x - t["mean"])).sum(1)
    if p.name == "mixture":
        prec = torch.linalg.inv(t["covs"])
        logdet = torch.logdet(t["covs"])

        def energy(x):
            r = x[:, None, :] - t["means"]
            q = torch.einsum("nki,kij,nkj->nk", r, prec, r)
            logs = torch.log(t["weights"]) - 0.5 * q - 0.5 * logdet - np.log(2 * np.pi)
            return -torch.logsumexp(logs, dim=1)

        return energy
    if p.name == "quartic":
        th = t["theta"]
        return lambda x: (th[0] * (x[:, 0] ** 4 + x[:, 1] ** 4) / 4 + th[1] * x[:, 0] ** 2 / 2
                          + th[2] * x[:, 0] * x[:, 1] + th[3] * x[:, 1])
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                              torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    with torch.no_grad():
        for i, layer in enumerate([net[0], net[2], net[4]]):
            layer.weight.copy_(t[f"W{i}"])
            layer.bias.copy_(t[f"b{i}"])
    return lambda x: net(x)[:, 0]


def torch_score(energy):
    def score(x):
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(energy(x).sum(), x, create_graph=True)
        return -g

    return score


def torch_trace(score, x):
    s = score(x)
    cols = [torch.autograd.grad(s[:, i].sum(), x, create_graph=True)[0][:, i]
            for i in range(x.shape[1])]
    return s, sum(cols)


@pytest.mark.parametrize("prob", sorted(P))
@pytest.mark.parametrize("bug", [None, "SM-HALF-MISSING", "SM-LAPLACIAN-SIGN", "SM-TRACE-OVER-D"])
def test_torch_score_matching(prob, bug):
    p = P[prob]
    score = torch_score(torch_energy(p))

    def loss(x):
        x = x.requires_grad_(True)
        s, tr = torch_trace(score, x)
        half = 1.0 if bug == "SM-HALF-MISSING" else 0.5
        tr = {"SM-LAPLACIAN-SIGN": -tr, "SM-TRACE-OVER-D": tr / x.shape[1]}.get(bug, tr)
        return (half * (s**2).sum(1) + tr).mean()

    r = rt.check_score_matching_loss(rt.torch_function(loss), p.energy, p.x)
    if bug is None:
        assert r.status == "pass", str(r)
    else:
        assert r.match_ids == (bug,), str(r)


@pytest.mark.parametrize("prob", sorted(P))
@pytest.mark.parametrize("bug", [None, "DSM-TARGET-SIGN", "DSM-SIGMA2-WEIGHT"])
def test_torch_dsm(prob, bug):
    p = P[prob]
    score = torch_score(torch_energy(p))

    def loss(x, sigma, z):
        s = score(x + sigma * z)
        if bug == "DSM-SIGMA2-WEIGHT":
            return 0.5 * ((sigma * s + z) ** 2).sum(1).mean()
        target = z / sigma if bug == "DSM-TARGET-SIGN" else -z / sigma
        return 0.5 * ((s - target) ** 2).sum(1).mean()

    r = rt.check_denoising_score_matching_loss(rt.torch_function(loss), p.x, p.sigma, p.noise,
                                               energy=p.energy)
    assert (r.status == "pass") if bug is None else (r.match_ids == (bug,)), str(r)


@pytest.mark.parametrize("prob", sorted(P))
@pytest.mark.parametrize("bug", [None, "SSM-WRONG-VARIABLE", "SSM-UNIT-SPHERE"])
def test_torch_sliced(prob, bug):
    p = P[prob]
    score = torch_score(torch_energy(p))

    def loss(x, v):
        if bug == "SSM-UNIT-SPHERE":
            v = v / v.norm(dim=-1, keepdim=True)
        total = 0.0
        for vj in v:
            xx = x.detach().requires_grad_(True)
            vj = vj.detach().requires_grad_(bug == "SSM-WRONG-VARIABLE")
            s = score(xx)
            vs = (vj * s).sum()
            wrt = vj if bug == "SSM-WRONG-VARIABLE" else xx
            (g,) = torch.autograd.grad(vs, wrt, create_graph=True)
            total = total + ((g * vj).sum(1) + 0.5 * ((vj * s).sum(1)) ** 2).mean()
        return total / v.shape[0]

    r = rt.check_sliced_score_matching_loss(rt.torch_function(loss), p.energy, p.x,
                                            p.projections)
    assert (r.status == "pass") if bug is None else (r.match_ids == (bug,)), str(r)


@pytest.mark.parametrize("prob", sorted(P))
def test_torch_score_requires_grad_tensor(prob):
    """A returned tensor that requires grad is detached at the boundary."""
    p = P[prob]
    score = torch_score(torch_energy(p))
    r = rt.check_score(lambda x: score(torch.from_numpy(x)), p.energy, p.x)
    assert r.status == "pass", str(r)
    r = rt.check_score(lambda x: -score(torch.from_numpy(x)), p.energy, p.x)
    assert r.match_ids == ("SCORE-SIGN",)


@pytest.mark.parametrize("prob", sorted(P))
@pytest.mark.parametrize("form", ["cs236", "LANGEVIN-TFP", "LANGEVIN-NOISE-STEP"])
def test_torch_langevin(prob, form):
    p = P[prob]
    score = torch_score(torch_energy(p))

    def step(x, z, eps):
        s = score(x).detach()
        if form == "LANGEVIN-TFP":
            return x + eps / 2 * s + eps**0.5 * z
        if form == "LANGEVIN-NOISE-STEP":
            return x + eps * s + eps * z
        return x + eps * s + (2 * eps) ** 0.5 * z

    from refebm.diff import score as rb_score

    r = rt.check_langevin_step(rt.torch_function(step), rb_score(p.energy), p.x, p.noise,
                               p.step_size)
    if form == "cs236":
        assert r.status == "pass", str(r)
    else:
        assert form in r.match_ids, str(r)


@pytest.mark.parametrize("prob", sorted(P))
@pytest.mark.parametrize("bug", [None, "CD-SIGN"])
def test_torch_cd_gradient(prob, bug):
    """CD gradient with torch autograd on the parameters, returned as a list of .grad arrays."""
    p = P[prob]
    theta = torch.tensor(p.theta, requires_grad=True)

    def grad_fn(xd, xm):
        e = lambda x: _torch_energy_theta(p, theta, x)
        loss = e(xd).mean() - e(xm).mean()
        if bug == "CD-SIGN":
            loss = -loss
        (g,) = torch.autograd.grad(loss, theta)
        return [g]

    r = rt.check_cd_gradient(rt.torch_function(grad_fn), p.energy_of_theta, p.theta, p.x,
                             p.x_model)
    assert (r.status == "pass") if bug is None else (r.match_ids == (bug,)), str(r)


def _torch_energy_theta(p, theta, x):
    if p.name == "gaussian":
        mu, prec = theta[:2], theta[2:].reshape(2, 2)
        return 0.5 * (((x - mu) @ prec) * (x - mu)).sum(1)
    if p.name == "mixture":
        logits, means = theta[:2], theta[2:6].reshape(2, 2)
        covs = torch.as_tensor(p.params["covs"])
        r = x[:, None, :] - means
        q = torch.einsum("nki,kij,nkj->nk", r, torch.linalg.inv(covs), r)
        logs = (torch.log_softmax(logits, 0) - 0.5 * q - 0.5 * torch.logdet(covs)
                - np.log(2 * np.pi))
        return -torch.logsumexp(logs, dim=1)
    if p.name == "quartic":
        return (theta[0] * (x[:, 0] ** 4 + x[:, 1] ** 4) / 4 + theta[1] * x[:, 0] ** 2 / 2
                + theta[2] * x[:, 0] * x[:, 1] + theta[3] * x[:, 1])
    shapes = [(16, 2), (16,), (16, 16), (16,), (1, 16), (1,)]
    ws, i = [], 0
    for s in shapes:
        n = int(np.prod(s))
        ws.append(theta[i:i + n].reshape(s))
        i += n
    h = torch.tanh(x @ ws[0].T + ws[1])
    h = torch.tanh(h @ ws[2].T + ws[3])
    return (h @ ws[4].T + ws[5])[:, 0]


def test_torch_float32_code_in_float32_mode():
    p = P["mlp"]
    energy = torch_energy(p)
    net32 = lambda x: energy(x.double()).float()
    score = torch_score(net32)

    def loss(x, sigma, z):
        assert x.dtype == torch.float32
        s = score(x + sigma * z)
        return 0.5 * ((s + z / sigma) ** 2).sum(1).mean()

    f = rt.torch_function(loss)
    assert rt.check_denoising_score_matching_loss(f, p.x, p.sigma, p.noise, energy=p.energy,
                                                  dtype="float32").status == "pass"
    r = rt.check_denoising_score_matching_loss(f, p.x, p.sigma, p.noise, energy=p.energy)
    assert r.status == "fail" and "float32" in " ".join(r.notes)
