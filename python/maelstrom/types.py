"""The types step code works with; `maelstrom.types.Bundle` is `maelstrom.Bundle`."""
from ._bundle import DTYPES, TABLE_DIM, Bundle, BundleError, Variable
from .meta import MetaVariables, ParameterError

__all__ = ["Bundle", "BundleError", "Variable", "MetaVariables", "ParameterError", "DTYPES", "TABLE_DIM"]
