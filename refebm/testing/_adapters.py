"""Adapters that let a PyTorch or JAX function be checked: NumPy in, framework tensors to the
function, NumPy back. torch and jax are imported when an adapter is built, not before."""

from __future__ import annotations

import functools

import numpy as np

from ._convert import to_numpy_value

__all__ = ["torch_function", "jax_function"]


def _import(name, extra):
    try:
        return __import__(name)
    except ImportError as err:
        raise ImportError(
            f"refebm.testing.{extra}_function needs {name}, which is not installed; install it "
            f"(`pip install {name}`) or the extra (`pip install refebm[{extra}]`)") from err


def _wrap(fn, convert, default_name):
    """``fn`` with its array arguments converted by ``convert`` and its result (or each item
    of a returned tuple) back to NumPy."""
    what = getattr(fn, "__name__", default_name)

    @functools.wraps(fn)
    def wrapped(*args):
        out = fn(*(_arg(a, convert) for a in args))
        if isinstance(out, tuple):
            return tuple(to_numpy_value(o, what=what) for o in out)
        return to_numpy_value(out, what=what)

    return wrapped


def _arg(value, convert):
    if isinstance(value, np.ndarray) or isinstance(value, (np.floating, float)):
        return convert(value)
    return value


def torch_function(fn, *, requires_grad=False, device="cpu"):
    """Wrap ``fn`` so that it receives torch tensors and returns NumPy.

    Every NumPy array or float argument becomes a tensor of the same dtype (float64 stays
    float64) on ``device``; with ``requires_grad=True`` floating arrays require grad (for a
    loss that differentiates with respect to ``x``). The result goes through the checks'
    converter (``.detach().cpu().numpy()``; tuples and lists element by element).

    Raises
    ------
    ImportError
        When torch is not installed (naming the ``torch`` extra).
    """
    torch = _import("torch", "torch")

    def convert(v):
        t = torch.as_tensor(np.asarray(v), device=device)
        if requires_grad and t.is_floating_point() and t.ndim > 0:
            t.requires_grad_(True)
        return t

    return _wrap(fn, convert, "the torch function")


def jax_function(fn):
    """Wrap ``fn`` so that it receives JAX arrays and returns NumPy.

    float64 arrays need JAX's 64-bit mode (``jax.config.update("jax_enable_x64", True)``);
    without it a float64 input raises ``RuntimeError`` saying so (check in float32 with
    ``dtype="float32"`` instead).

    Raises
    ------
    ImportError
        When jax is not installed (naming the ``jax`` extra).
    """
    jax = _import("jax", "jax")
    import jax.numpy as jnp

    def convert(v):
        a = np.asarray(v)
        if a.dtype == np.float64 and not jax.config.read("jax_enable_x64"):
            raise RuntimeError(
                "a float64 input reached a JAX function with 64-bit mode off (it would be "
                "rounded to float32); call jax.config.update('jax_enable_x64', True) or run "
                "the check with dtype='float32'")
        return jnp.asarray(a)

    return _wrap(fn, convert, "the JAX function")
