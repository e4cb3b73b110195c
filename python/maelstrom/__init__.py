"""
maelstrom: what Python step code imports (DESIGN.md, "The seed workflow").

    import maelstrom

    def get(meta): ...                       -> maelstrom.Bundle          (dataset)
    def apply(bundle, meta): ...             -> maelstrom.Bundle          (transform)
    def train(bundle, meta): ...             -> (model, maelstrom.Bundle) (model: state + metrics)
    def apply(model, bundle): ...            -> maelstrom.Bundle          (model: inference)

Needs only the standard library and numpy; pandas and xarray are used when installed. The package
imports without numpy (MetaVariables and the event functions work); data needs numpy.
"""
import sys as _sys

# Modules loaded before maelstrom (interpreter start-up, .pth hooks): not the step's dependencies.
_PRELOADED = frozenset(_sys.modules) - {__name__}

from ._bundle import DTYPES, TABLE_DIM, Bundle, BundleError, Variable
from ._deps import MissingDependencyError
from ._zarr import read_bundle, write_bundle
from .events import log_metric, report_progress
from .meta import MetaVariables, ParameterError
from . import types

__version__ = "0.1.0"

__all__ = [
    "Bundle",
    "BundleError",
    "Variable",
    "MetaVariables",
    "ParameterError",
    "MissingDependencyError",
    "read_bundle",
    "write_bundle",
    "log_metric",
    "report_progress",
    "types",
    "DTYPES",
    "TABLE_DIM",
    "__version__",
]
