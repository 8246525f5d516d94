import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def roundtrip_params(tmp_path_factory):
    """softness-kalj with MODEL.md's original time scale (e0 = 3.0, Sigma0 = 2.5).

    The measurement round trips generate a fixed number of frames; pinning the rate
    law keeps their statistics (and the figures quoted in docs/measure.md)
    independent of the package's default e0 / Sigma0.
    """
    from trsp_core.physics.params import DescriptorParams, write_params_toml

    path = tmp_path_factory.mktemp("params") / "roundtrip.toml"
    write_params_toml(DescriptorParams(name="softness-kalj").evolve(e0=3.0, Sigma0=2.5), path)
    return str(path)
