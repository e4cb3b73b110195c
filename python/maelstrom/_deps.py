"""Optional dependencies: numpy is needed for data, pandas and xarray only when the user uses them."""
from __future__ import annotations

import platform
import sys

try:  # The package stays importable (MetaVariables, log_metric) on interpreters without numpy.
    import numpy
except ImportError:  # pragma: no cover - exercised by the no-numpy test through a subprocess
    numpy = None  # type: ignore[assignment]


class MissingDependencyError(ImportError):
    """A package Maelstrom needs is not installed for the running interpreter."""


# Import name -> (Debian package, pip distribution) where they differ from python3-<name> / <name>.
_KNOWN_PACKAGES = {
    "sklearn": ("python3-sklearn", "scikit-learn"),
    "yaml": ("python3-yaml", "pyyaml"),
    "cv2": ("python3-opencv", "opencv-python"),
    "PIL": ("python3-pil", "pillow"),
    "netCDF4": ("python3-netcdf4", "netCDF4"),
    "skimage": ("python3-skimage", "scikit-image"),
    "bs4": ("python3-bs4", "beautifulsoup4"),
    "dateutil": ("python3-dateutil", "python-dateutil"),
    "torch": ("python3-torch", "torch"),
    "mpl_toolkits": ("python3-matplotlib", "matplotlib"),
}


def install_hint(name: str) -> str:
    """How to install the package that provides top-level module `name` for this interpreter."""
    top = name.split(".")[0]
    apt, pip = _KNOWN_PACKAGES.get(top, ("python3-" + top.lower().replace("_", "-"), top))
    return f"apt-get install {apt} or pip install {pip} for {sys.executable} (`{sys.executable} -m pip install {pip}`)"


def interpreter() -> str:
    return f"{sys.executable} (Python {platform.python_version()})"


def require_numpy(what: str):
    """numpy, or a MissingDependencyError saying which interpreter lacks it and how to fix that."""
    if numpy is None:
        raise MissingDependencyError(
            f"{what} needs numpy, which is not installed for {interpreter()}: "
            f"{install_hint('numpy')}, or run with an interpreter that has numpy (e.g. Debian's /usr/bin/python3)"
        )
    return numpy


def loaded(name: str):
    """An already-imported module, without importing it (a DataFrame can only come from a loaded pandas)."""
    return sys.modules.get(name)


def optional(name: str, what: str):
    """Import pandas / xarray for a conversion the user asked for, with a clear error when missing."""
    try:
        return __import__(name)
    except ImportError as error:
        raise MissingDependencyError(
            f"{what} needs {name}, which is not installed for {interpreter()}: {install_hint(name)}"
        ) from error
