"""Functional forms the physics and backend tests are parametrised over (issue 14).

Each entry is a ``params`` override mapping for ``compose``; the forms are given as
their TOML tables in JSON text (how ``DescriptorParams.to_dict`` stores them), so
the ModelSpec stays hashable. Every form differs from the built-in defaults except
``tabulated-exact`` (the defaults sampled and interpolated log-linearly: the same model).
"""
import json

import numpy as np

D = dict(C0=1.0, C1=1.2, xi=1.0, s0=0.6, s1=0.8, xi_s=1.0, p1=0.8, xi_rho=0.8)


def _j(spec):
    return json.dumps(spec)


def _ae_table(at0, amp, length, r_max=8.0, step=0.55):
    r = np.arange(0.0, r_max + 1e-9, step)
    v = np.where(r == 0, at0, amp * np.exp(-r / length))
    return dict(kind="tabulated", r=list(r), value=list(v), interpolation="log-linear", extrapolate="exponential")


def _coarse_table(at0, amp, length, r, interpolation):
    r = np.asarray(r, float)
    v = np.where(r == 0, at0, amp * np.exp(-r / length))
    return dict(kind="tabulated", r=list(r), value=list(v), interpolation=interpolation, extrapolate="zero")


FORMS = {
    # the defaults as (r, value) shells: the same model
    "tabulated-exact": dict(C_profile=_j(_ae_table(D["C0"], D["C1"], D["xi"])),
                            s_profile=_j(_ae_table(D["s0"], D["s1"], D["xi_s"])),
                            rho_profile=_j(_ae_table(1.0, D["p1"], D["xi_rho"]))),
    # measured-like shells: linear C(r), monotone-cubic s(r), zero beyond the last shell
    "tabulated-coarse": dict(C_profile=_j(_coarse_table(1.0, 1.1, 0.9, [0, 1.0, 1.6, 2.4, 3.2, 4.4], "linear")),
                             s_profile=_j(_coarse_table(0.6, 0.8, 1.0, [0, 1.0, 1.8, 2.6, 3.4], "pchip")),
                             rho_profile=_j(_coarse_table(1.0, 0.7, 0.8, [0, 1.0, 1.7, 2.5, 3.5], "linear"))),
    # exponential times a damped oscillation, for C(r) and rho(r)
    "damped-oscillation": dict(
        C_profile=_j(dict(kind="damped-oscillation", at_zero=1.0, amplitude=2.0, length=0.6, wavelength=5.0,
                          phase=-0.6)),
        rho_profile=_j(dict(kind="damped-oscillation", at_zero=1.0, amplitude=1.5, length=0.6, wavelength=5.0,
                            phase=-0.6))),
    # xi(T), C1(T) = a + b/T and mu(T) tabulated
    "xi-of-T": dict(C_profile=_j(dict(kind="almost-exponential", at_zero=1.0, amplitude={"a": 0.9, "b": 0.165},
                                      length={"a": 0.55, "b": 0.25})),
                    mu_table=_j(dict(T=[0.4, 0.5, 0.6, 0.8], value=[-1.3, -0.8, -0.47, -0.05]))),
    # C(r; T) tabulated per temperature, blended in 1/T
    "per-temperature": dict(C_profile=_j(dict(kind="per-temperature", T=[0.45, 0.7], profiles=[
        _ae_table(1.0, 1.2, 1.05), _coarse_table(1.0, 1.0, 0.8, [0, 1.0, 1.5, 2.2, 3.0, 4.0, 5.0], "linear")]))),
}
