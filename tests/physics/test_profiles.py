"""Radial profiles, temperature laws and the per-temperature rate table (issue 14):
each against an independent formula, and their TOML syntax (strict, round trip)."""
import json
import math
import types

import numpy as np
import pytest

from trsp_core import hookimpl
from trsp_core.errors import InputFileError, ParameterError
from trsp_core.physics import profiles as pr
from trsp_core.physics.params import DescriptorParams, missing_params, params_to_toml, read_params_toml
from trsp_core.physics.rates import RateTable

R = np.array([0.0, 0.3, 1.1, 1.556, 2.2, 3.05, 4.4, 6.0])


# --- analytic kinds against their formulas ------------------------------------------------
def test_almost_exponential_formula():
    f = pr.AlmostExponential(1.0, 1.2, 0.9)
    ref = [1.0] + [1.2 * math.exp(-r / 0.9) for r in R[1:]]
    np.testing.assert_allclose(f(R), ref, rtol=1e-15)


def test_damped_oscillation_formula():
    f = pr.DampedOscillation(0.9, 2.0, 0.6, 5.0, -0.6)
    ref = [0.9] + [2.0 * math.exp(-r / 0.6) * math.cos(2 * math.pi * r / 5.0 - 0.6) for r in R[1:]]
    np.testing.assert_allclose(f(R), ref, rtol=1e-14)
    assert pr.DampedOscillation(1, 1, 1, 2).phase == 0.0


# --- tabulated: nodes, interpolation, both ends -------------------------------------------
TAB_R = [0.0, 1.0, 2.0, 4.0]
TAB_V = [1.0, 0.5, 0.2, 0.05]


def test_tabulated_linear_between_shells_and_continued_inside():
    f = pr.Tabulated(TAB_R, TAB_V)
    np.testing.assert_array_equal(f(np.array(TAB_R)), TAB_V)  # exact at every shell
    assert f(1.5) == pytest.approx(0.35, rel=1e-14)
    assert f(3.0) == pytest.approx(0.125, rel=1e-14)
    # 0 < r < r_1: the first interval continued (0.5 + (0.5 - 1) * (0.2 - 0.5))
    assert f(0.5) == pytest.approx(0.65, rel=1e-14)
    assert f(4.5) == 0.0 and f(40.0) == 0.0  # extrapolate = "zero"


def test_tabulated_log_linear_and_exponential_tail_are_exact_for_an_exponential():
    r = np.array([0.0, 0.7, 1.9, 3.0])
    v = np.where(r == 0, 1.0, 1.2 * np.exp(-r / 0.8))
    f = pr.Tabulated(r, v, "log-linear", "exponential")
    ref = pr.AlmostExponential(1.0, 1.2, 0.8)
    x = np.linspace(0.0, 9.0, 181)
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=0)


def test_tabulated_pchip_is_monotone_between_monotone_shells():
    from scipy.interpolate import PchipInterpolator

    f = pr.Tabulated(TAB_R, TAB_V, "pchip")
    x = np.linspace(1.0, 4.0, 301)
    y = f(x)
    assert np.all(np.diff(y) <= 1e-15)  # no overshoot: monotone cubic
    np.testing.assert_allclose(y, PchipInterpolator(TAB_R[1:], TAB_V[1:])(x), rtol=1e-14)


@pytest.mark.parametrize("kw,msg", [
    (dict(r=[0.1, 1, 2], value=[1, 1, 1]), "r\\[0\\] must be 0"),
    (dict(r=[0, 2, 1], value=[1, 1, 1]), "strictly increasing"),
    (dict(r=[0, 1], value=[1, 1]), "at least two shells"),
    (dict(r=[0, 1, 2], value=[1, 1]), "differ in length"),
    (dict(r=[0, 1, 2], value=[1, 0.5, -0.1], interpolation="log-linear"), "one sign"),
    (dict(r=[0, 1, 2], value=[1, 0.5, 0.6], extrapolate="exponential"), "decaying"),
    (dict(r=[0, 1, 2], value=[1, 0.5, 0.2], interpolation="cubic"), "interpolation must be one of"),
])
def test_tabulated_rejects(kw, msg):
    with pytest.raises(ParameterError, match=msg):
        pr.Tabulated(**kw)


# --- temperature laws ---------------------------------------------------------------------
def test_inverse_t_and_table_in_inverse_t():
    assert pr.InverseT(0.5, 0.3)(0.6) == pytest.approx(0.5 + 0.3 / 0.6)
    t = pr.TableInT([0.5, 0.8], [2.0, 1.0])
    # linear in 1/T: at 1/T = (1/0.5 + 1/0.8)/2 the mean
    assert t(1.0 / ((2.0 + 1.25) / 2)) == pytest.approx(1.5, rel=1e-14)
    assert t(0.5) == 2.0 and t(0.8) == 1.0
    with pytest.raises(ParameterError, match=r"tabulated for T in \[0.5, 0.8\]; T = 0.4 is outside"):
        t(0.4)
    assert pr.TableInT([0.5, 0.8], [2.0, 1.0], extrapolate=True)(0.4) == pytest.approx(
        2.0 + (2.5 - 2.0) * (1.0 - 2.0) / (1.25 - 2.0))


def test_profile_parameters_as_temperature_laws():
    f = pr.AlmostExponential(1.0, {"a": 0.9, "b": 0.165}, {"T": [0.4, 0.8], "value": [1.2, 0.8]})
    assert f.temperature_dependent
    with pytest.raises(ParameterError, match="depends on temperature"):
        f(1.0)
    g = f.at(0.5)
    x = 1 / 0.5
    xi = 1.2 + (x - 2.5) / (1.25 - 2.5) * (0.8 - 1.2)
    assert g == pr.AlmostExponential(1.0, 0.9 + 0.165 / 0.5, xi)


def test_per_temperature_blend_is_linear_in_inverse_t():
    a, b = pr.AlmostExponential(1.0, 1.2, 1.0), pr.Tabulated(TAB_R, TAB_V)
    f = pr.PerTemperature([0.5, 0.7], [a, b])
    assert f.at(0.5) is a and f.at(0.7) is b
    T = 0.6
    w = (1 / T - 2.0) / (1 / 0.7 - 2.0)
    np.testing.assert_allclose(f.at(T)(R), (1 - w) * a(R) + w * b(R), rtol=1e-14)
    with pytest.raises(ParameterError, match="T = 0.8 is outside"):
        f.at(0.8)


# --- DescriptorParams with forms ------------------------------------------------------------
def test_params_forms_set_the_flat_numbers_and_round_trip_json():
    C = pr.Tabulated([0, 1.1, 2.2], [1.3, 0.4, 0.1])
    p = DescriptorParams(C_profile=C, s_profile=pr.AlmostExponential(0.5, 0.7, 1.0))
    assert p.C0 == 1.3 and p.s0 == 0.5 and p.correlation is C
    q = DescriptorParams(**json.loads(json.dumps(p.to_dict())))
    assert q == p
    with pytest.raises(ParameterError, match="C1 do not apply: C_profile is set"):
        p.evolve(C1=2.0)
    with pytest.raises(ParameterError, match="rho\\(0\\) must be 1"):
        DescriptorParams(rho_profile=pr.AlmostExponential(0.9, 0.5, 1.0))


def test_at_is_identity_without_temperature_dependence_and_pins_otherwise():
    p = DescriptorParams()
    assert p.at(0.5) is p
    q = DescriptorParams(C_profile=pr.AlmostExponential(1.0, 1.2, {"a": 0.5, "b": 0.25}))
    with pytest.raises(ParameterError, match="depends on temperature"):
        q.correlation(1.0)
    q5 = q.at(0.5)
    assert q5.resolved_at == 0.5 and q5.correlation == pr.AlmostExponential(1.0, 1.2, 1.0)
    assert q5.at(0.25).correlation == pr.AlmostExponential(1.0, 1.2, 1.5)  # re-pinned from the same law
    m = DescriptorParams(mu_table={"T": [0.4, 0.6], "value": [-1.0, -0.5]})
    assert m.mu(0.4) == -1.0 and m.mu(0.6) == -0.5


# --- TOML: syntax, strictness, round trip ----------------------------------------------------
GOOD = """
[structure.C_profile]
kind = "tabulated"
r = [0.0, 1.1, 2.2, 3.3]
value = [1.0, 0.4, 0.13, 0.04]
interpolation = "pchip"
extrapolate = "exponential"

[structure.mu_table]
T = [0.45, 0.6, 0.8]
value = [-1.0, -0.5, 0.0]

[kicks.s_profile]
kind = "almost-exponential"
at_zero = 0.6
amplitude = 0.8
length = {a = 0.5, b = 0.25}

[kicks.rho_profile]
kind = "damped-oscillation"
at_zero = 1.0
amplitude = 1.5
length = 0.6
wavelength = 5.0
phase = -0.6

[rates.rate_table]
T = [0.45, 0.6]
A = [0.01, 0.05]
gamma = [0.5, 0.3]
delta = [0.02, 0.01]
"""


def test_toml_forms_read_and_round_trip(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(GOOD)
    p = read_params_toml(f)
    assert isinstance(p.C_profile, pr.Tabulated) and p.C_profile.interpolation == "pchip"
    assert p.s_profile.length == pr.InverseT(0.5, 0.25)
    assert p.rho_profile.wavelength == 5.0 and p.rate_table.T == (0.45, 0.6)
    g = tmp_path / "q.toml"
    g.write_text(params_to_toml(p))
    assert read_params_toml(g) == p
    assert "C1 =" not in params_to_toml(p) and "[structure.C_profile]" in params_to_toml(p)


def test_toml_per_temperature_profile(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("""
[structure.C_profile]
kind = "per-temperature"
T = [0.5, 0.7]

[[structure.C_profile.profiles]]
kind = "almost-exponential"
at_zero = 1.0
amplitude = 1.2
length = 1.05

[[structure.C_profile.profiles]]
kind = "tabulated"
r = [0.0, 1.1, 2.2]
value = [1.0, 0.3, 0.05]
""")
    p = read_params_toml(f)
    assert isinstance(p.C_profile, pr.PerTemperature) and p.temperature_dependent
    g = tmp_path / "q.toml"
    g.write_text(params_to_toml(p))
    assert read_params_toml(g) == p


@pytest.mark.parametrize("text,msg", [
    ("[structure.C_profile]\nkind = 'tabulated'\nr = [0.0, 1.0, 2.0]\nvalue = [1.0, 0.5, 0.2]\nshells = 3\n",
     r"\[structure.C_profile\]: unknown key\(s\) shells; known: kind, r, value, interpolation, extrapolate"),
    ("[structure.C_profile]\nkind = 'tabulated'\nr = [0.0, 1.0, 2.0]\n", r"\[structure.C_profile\]: missing key\(s\) value"),
    ("[structure.C_profile]\nr = [0.0, 1.0, 2.0]\n", r"\[structure.C_profile\]: missing key 'kind'"),
    ("[structure.C_profile]\nkind = 'gaussian-bump'\n", "unknown profile kind 'gaussian-bump'; known: almost-exponential"),
    ("[structure.C_profile]\nkind = 'almost-exponential'\nat_zero = 1.0\namplitude = '1.2'\nlength = 1.0\n",
     r"'amplitude' must be a number"),
    ("[structure.C_profile]\nkind = 'almost-exponential'\nat_zero = 1.0\namplitude = 1.2\nlength = {a = 1.0}\n",
     r"'length': missing key\(s\) b"),
    ("[structure.C_profile]\nkind = 'tabulated'\nr = [0.0, 1.0, 2.0]\nvalue = [1.0, 0.5, 0.2]\n"
     "interpolation = 'spline'\n", "'interpolation' must be one of"),
    ("[structure]\nC1 = 1.0\n[structure.C_profile]\nkind = 'almost-exponential'\nat_zero = 1.0\namplitude = 1.2\n"
     "length = 1.0\n", "C_profile replaces C0, C1, xi; remove C1"),
    ("[kicks.C_profile]\nkind = 'almost-exponential'\nat_zero = 1.0\namplitude = 1.2\nlength = 1.0\n",
     r"'C_profile' is in section \[kicks\]; it belongs in \[structure\]"),
    ("[structure]\nC_profile = 3\n", "'C_profile' must be a table"),
    ("[rates.rate_table]\nT = [0.5, 0.6]\nA = [0.1]\ngamma = [0, 0]\ndelta = [0, 0]\n", "'A' has 1 entries for 2"),
    ("[rates.rate_table]\nT = [0.5, 0.6]\nA = [0.1, 0.2]\ngamma = [0, 0]\n", r"missing key\(s\) delta"),
    ("[structure.mu_table]\nT = [0.5, 0.6]\nvalue = [1, 2]\nslope = 1\n", r"unknown key\(s\) slope"),
    ("resolved_at = 0.5\n", r"unknown parameter\(s\) resolved_at"),
])
def test_toml_forms_are_strict(tmp_path, text, msg):
    f = tmp_path / "p.toml"
    f.write_text(text)
    with pytest.raises(InputFileError, match=msg):
        read_params_toml(f)


def test_missing_params_skips_what_a_form_replaces(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[structure.C_profile]\nkind = 'almost-exponential'\nat_zero = 1.0\namplitude = 1.2\nlength = 1.0\n")
    missing = missing_params(f)
    assert "C1" not in missing and "xi" not in missing and "C0" not in missing
    assert "C_profile" not in missing and "rate_table" not in missing and "e0" in missing


# --- the rate table --------------------------------------------------------------------------
def test_rate_table_sampled_from_the_onset_form_reproduces_it_between_temperatures():
    from plugins.rates import Arrhenius, PerTemperature

    p = DescriptorParams()
    Ts = [0.4, 0.5, 0.65, 0.8]
    obs = [Arrhenius().observed(p, T) for T in Ts]
    q = p.evolve(rate_table=RateTable(Ts, [o.A for o in obs], [o.gamma for o in obs], [o.delta for o in obs]))
    for T in (0.4, 0.45, 0.55, 0.7, 0.8):
        a, b = Arrhenius().observed(p, T), PerTemperature().observed(q, T)
        for k in ("A", "gamma", "delta", "d"):
            assert getattr(b, k) == pytest.approx(getattr(a, k), rel=1e-12, abs=1e-14), (T, k)
    with pytest.raises(ParameterError, match=r"rate table is tabulated for T in \[0.4, 0.8\]; T = 0.9"):
        PerTemperature().observed(q, 0.9)
    with pytest.raises(ParameterError, match="needs a rate table"):
        PerTemperature().observed(p, 0.5)


def test_rate_table_interpolates_ln_a_and_d():
    t = RateTable([0.5, 1.0], [1e-3, 1e-1], [0.0, 1.0], [0.1, 0.0], d=[4.0, 2.0])
    o = t.observed(2 / 3, d=99.0)  # 1/T = 1.5, halfway
    assert o.A == pytest.approx(1e-2, rel=1e-12) and o.gamma == pytest.approx(0.5)
    assert o.delta == pytest.approx(0.05) and o.d == pytest.approx(3.0)


# --- a third party's kind through the hook ---------------------------------------------------
class Gaussian(pr.Profile):
    """f(0) = at_zero, f(r > 0) = amplitude exp(-(r/width)^2)"""

    kind = "gaussian-bump"

    def __init__(self, at_zero, amplitude, width):
        self.at_zero, self.amplitude, self.width = at_zero, amplitude, width

    def __eq__(self, other):
        return isinstance(other, Gaussian) and self.to_spec() == other.to_spec()

    @classmethod
    def from_spec(cls, spec, where):
        pr.check_keys(spec, where, ("at_zero", "amplitude", "width"))
        return cls(*(pr.spec_number(spec, k, where) for k in ("at_zero", "amplitude", "width")))

    def to_spec(self):
        return {"kind": self.kind, "at_zero": self.at_zero, "amplitude": self.amplitude, "width": self.width}

    def __call__(self, r):
        r = np.asarray(r, float)
        return np.where(r == 0, self.at_zero, self.amplitude * np.exp(-(r / self.width) ** 2))


def test_a_plugin_profile_kind_is_usable_from_toml(tmp_path):
    from trsp_core.plugin.registry import Registry

    mod = types.ModuleType("bump_plugin")
    mod.trsp_profile_kinds = hookimpl(lambda: {"gaussian-bump": Gaussian})
    reg = Registry(load_entrypoints=False)
    reg.register(mod, name="bump")
    try:
        assert reg.names("profile") == ["gaussian-bump"]
        f = tmp_path / "p.toml"
        f.write_text("[structure.C_profile]\nkind = 'gaussian-bump'\nat_zero = 1.0\namplitude = 0.5\nwidth = 1.5\n")
        p = read_params_toml(f)
        assert p.C_profile == Gaussian(1.0, 0.5, 1.5)
        assert p.correlation(1.5) == pytest.approx(0.5 * math.exp(-1.0))
        assert DescriptorParams(**json.loads(json.dumps(p.to_dict()))) == p
    finally:
        pr.unregister_kind("gaussian-bump")


def test_a_plugin_may_not_take_a_builtin_kind():
    from trsp_core.plugin.registry import PluginWarning, Registry

    mod = types.ModuleType("bad_plugin")
    mod.trsp_profile_kinds = hookimpl(lambda: {"tabulated": Gaussian})
    reg = Registry(load_entrypoints=False)
    reg.register(mod, name="bad")
    with pytest.warns(PluginWarning, match="profile kind 'tabulated'.*already taken"):
        assert reg.names("profile") == []
    assert pr.kind("tabulated") is pr.Tabulated
