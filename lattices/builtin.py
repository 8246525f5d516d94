"""Built-in lattices: periodic square (2D) and simple cubic (3D)."""
from trsp_core import hookimpl
from trsp_core.physics.lattice import HypercubicLattice


def cubic(size: int, spacing: float) -> HypercubicLattice:
    """size^3 periodic simple cubic lattice."""
    return HypercubicLattice((size,) * 3, spacing, name="cubic")


def square(size: int, spacing: float) -> HypercubicLattice:
    """size^2 periodic square lattice."""
    return HypercubicLattice((size,) * 2, spacing, name="square")


@hookimpl
def trsp_lattices():
    return {"cubic": cubic, "square": square}
