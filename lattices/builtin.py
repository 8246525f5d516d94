"""Built-in lattices: periodic square (2D) and simple cubic (3D)."""
from trsp_core import hookimpl
from trsp_core.physics.lattice import HypercubicLattice


def cubic(size: int, spacing: float) -> HypercubicLattice:
    """periodic simple cubic, size^3 sites (3D)"""
    return HypercubicLattice((size,) * 3, spacing, name="cubic")


def square(size: int, spacing: float) -> HypercubicLattice:
    """periodic square, size^2 sites (2D)"""
    return HypercubicLattice((size,) * 2, spacing, name="square")


@hookimpl
def trsp_lattices():
    return {"cubic": cubic, "square": square}
