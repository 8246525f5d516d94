"""Built-in lattices: periodic square, triangular (2D); simple cubic, fcc, bcc (3D).

The spacing a is the nearest-neighbour distance on every lattice (12 neighbours on
fcc, the first shell of a dense liquid; 8 on bcc; 6 on triangular).
"""
from trsp_core import hookimpl
from trsp_core.physics.lattice import BASES, BravaisLattice, HypercubicLattice


def cubic(size: int, spacing: float) -> HypercubicLattice:
    """periodic simple cubic, size^3 sites (3D)"""
    return HypercubicLattice((size,) * 3, spacing, name="cubic")


def square(size: int, spacing: float) -> HypercubicLattice:
    """periodic square, size^2 sites (2D)"""
    return HypercubicLattice((size,) * 2, spacing, name="square")


def triangular(size: int, spacing: float) -> BravaisLattice:
    """periodic triangular (hexagonal), size^2 sites (2D), 6 neighbours at a"""
    return BravaisLattice((size,) * 2, spacing, BASES["triangular"], name="triangular")


def fcc(size: int, spacing: float) -> BravaisLattice:
    """periodic face-centred cubic on its primitive grid, size^3 sites (3D), 12 neighbours at a"""
    return BravaisLattice((size,) * 3, spacing, BASES["fcc"], name="fcc")


def bcc(size: int, spacing: float) -> BravaisLattice:
    """periodic body-centred cubic on its primitive grid, size^3 sites (3D), 8 neighbours at a"""
    return BravaisLattice((size,) * 3, spacing, BASES["bcc"], name="bcc")


@hookimpl
def trsp_lattices():
    return {"cubic": cubic, "square": square, "triangular": triangular, "fcc": fcc, "bcc": bcc}
