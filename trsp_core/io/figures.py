"""The one figure writer: atomic (no half-written PNG under the final name), then closed."""
from __future__ import annotations

from pathlib import Path

from trsp_core.io.atomic import atomic_path


def save_figure(fig, path: str | Path, dpi: int = 100, tight: bool = True, **savefig_kw) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    if tight and "bbox_inches" not in savefig_kw:
        fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png", **savefig_kw)
    finally:
        plt.close(fig)
    return path
