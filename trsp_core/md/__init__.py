"""MD tooling: trajectory I/O (gsd, LAMMPS dumps, npz, netCDF) and the p_hop
rearrangement indicator. Used by ``trsp measure`` and descriptor plugins."""
