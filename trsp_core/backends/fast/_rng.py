"""xoshiro256** in numba with its whole state in a uint64[4] array.

numba's own np.random state cannot be saved, so checkpoints could not resume
the stream; this generator's state is just four integers that go in the .npz.
Every constant is an explicit uint64: mixing uint64 with int64 in numba
promotes to float64 and would silently break the generator.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

_U5 = np.uint64(5)
_U7 = np.uint64(7)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U17 = np.uint64(17)
_U45 = np.uint64(45)
_U64 = np.uint64(64)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


def seed_state(seed: int) -> np.ndarray:
    """Four non-zero uint64 words from numpy's SeedSequence (own spawn key: independent of the initial-state draws)."""
    st = np.random.SeedSequence(int(seed), spawn_key=(0x7A57,)).generate_state(4, np.uint64)
    if not st.any():  # the all-zero state is the one fixed point of xoshiro
        st[0] = np.uint64(1)
    return st


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (_U64 - k))


@njit(cache=True)
def next_u64(s):
    result = _rotl(s[1] * _U5, _U7) * _U9
    t = s[1] << _U17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], _U45)
    return result


@njit(cache=True)
def next_double(s):
    """Uniform on [0, 1) with 53 random bits."""
    return float(next_u64(s) >> _U11) * _TWO_M53


@njit(cache=True)
def fill_normals(s, out, n):
    """out[:n] = standard normals (Marsaglia's polar method in pairs; an odd spare is discarded so no state is cached).

    The polar method needs one log and one sqrt per pair and no sin/cos
    (Box-Muller needed all four); it rejects 1 - pi/4 = 21% of the uniform
    pairs, deterministically, so the stream stays a pure function of the state.
    """
    i = 0
    while i < n:
        u = 2.0 * next_double(s) - 1.0
        v = 2.0 * next_double(s) - 1.0
        q = u * u + v * v
        if q >= 1.0 or q == 0.0:
            continue
        f = math.sqrt(-2.0 * math.log(q) / q)
        out[i] = u * f
        if i + 1 < n:
            out[i + 1] = v * f
        i += 2


@njit(cache=True)
def uniforms(s, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = next_double(s)
    return out


@njit(cache=True)
def normals(s, n):
    out = np.empty(n)
    fill_normals(s, out, n)
    return out
