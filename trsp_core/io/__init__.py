"""Files: atomic writes, thread-safe netCDF reads and writes, provenance attributes."""
from trsp_core.io.atomic import atomic_path, atomic_write_text, check_output_dir, check_output_file
from trsp_core.io.netcdf import opened, read_dataset, write, write_dataset
from trsp_core.io.provenance import provenance

__all__ = ["atomic_path", "atomic_write_text", "check_output_dir", "check_output_file", "opened", "provenance", "read_dataset", "write", "write_dataset"]
