"""The atomic writer replaces regular files only; output paths are probed before work."""
import os
import stat

import pytest

from trsp_core.errors import OutputPathError
from trsp_core.io import atomic_write_text, check_output_dir, check_output_file


def _special_file(path):
    """A character device like /dev/full (mknod, where the container allows it), else a FIFO."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 7))
    except (OSError, AttributeError):
        os.mkfifo(path)
    return path


def test_replaces_a_regular_file_and_leaves_no_temporary(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("old")
    atomic_write_text(f, "new")
    assert f.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_refuses_a_device(tmp_path):
    dev = _special_file(tmp_path / "full")
    mode = dev.stat().st_mode
    with pytest.raises(OutputPathError, match=r"full is a (character device|FIFO), not a regular file"):
        atomic_write_text(dev, "x")
    assert dev.stat().st_mode == mode                    # still the device, not a text file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]   # and no .part left behind


def test_refuses_a_directory(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        atomic_write_text(d, "x")
    assert d.is_dir()


def test_real_dev_full_is_refused_by_the_check():
    # only the check (which never writes) touches the real device
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OutputPathError, match="/dev/full is a character device"):
        check_output_file("/dev/full")


def test_check_output_file_and_dir(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputPathError, match="f exists and is not a directory"):
        check_output_file(tmp_path / "f" / "out.nc")
    with pytest.raises(OutputPathError, match="exists and is not a directory"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(OutputPathError, match="cannot write in directory /proc"):
        check_output_file("/proc/trsp_test.nc")
    assert check_output_file(tmp_path / "new" / "deep" / "x.nc").parent.is_dir()
    assert check_output_dir(tmp_path / "out").is_dir()
    assert not list((tmp_path / "out").iterdir())        # the probe file is gone


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_check_unwritable_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="cannot write in directory"):
            check_output_file(ro / "x.nc")
    finally:
        ro.chmod(0o700)
