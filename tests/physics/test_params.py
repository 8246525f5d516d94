import pytest

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.physics.params import DescriptorParams, params_to_toml, read_params_toml, write_params_toml


def test_toml_round_trip(tmp_path):
    p = DescriptorParams(name="x", C1=0.7, e2=0.05, reset=True, description='quote " here')
    f = tmp_path / "p.toml"
    write_params_toml(p, f)
    assert read_params_toml(f) == p


def test_partial_file_overrides_base(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("[rates]\nT0 = 0.8\n")
    p = read_params_toml(f)
    assert p.T0 == 0.8 and p.e0 == DescriptorParams().e0


def test_unknown_key(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("tee_zero = 1\n")
    with pytest.raises(InputFileError, match="unknown parameter\\(s\\) tee_zero; known:"):
        read_params_toml(f)


def test_unreadable_and_missing(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("this is = = not toml")
    with pytest.raises(InputFileError, match="not readable TOML"):
        read_params_toml(f)
    with pytest.raises(InputFileError, match="does not exist"):
        read_params_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize("field,value,msg", [("C0", -1, "'C0' must be > 0"), ("xi", 0, "'xi' must be > 0"),
                                             ("s0", -0.1, "'s0' must be >= 0"), ("mu_a", float("nan"), "'mu_a' must be finite")])
def test_validators(field, value, msg):
    with pytest.raises(ParameterError, match=msg):
        DescriptorParams(**{field: value})


def test_toml_text_is_sectioned():
    text = params_to_toml(DescriptorParams())
    assert "[structure]" in text and "[rates]" in text and "[kicks]" in text
