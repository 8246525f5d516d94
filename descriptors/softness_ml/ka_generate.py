"""Moved to :mod:`trsp_core.md.ka` (the KA generator is MD tooling, not softness);
kept so ``python -m descriptors.softness_ml.ka_generate`` and old imports still work."""
from trsp_core.md.ka import *  # noqa: F401,F403
from trsp_core.md.ka import KAParams, load_compact, main, save_compact, simulate  # noqa: F401

if __name__ == "__main__":
    from trsp_core.md import ka
    import runpy
    runpy.run_module(ka.__name__, run_name="__main__")
