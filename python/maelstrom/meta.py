"""The parameter values a step runs with (the same surface as the TypeScript MetaVariables)."""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["MetaVariables", "ParameterError"]

_MISSING = object()


class ParameterError(LookupError):
    """A parameter the step asked for is not declared in the artifact's manifest."""


class MetaVariables:
    """The manifest's defaults overridden by the pipeline and `--set`, already checked by the engine
    against the declared types and bounds.

    meta.get("trees")        the value, typed as declared (int, float, str or bool)
    meta.get("depth", 3)     with a default for names the manifest does not declare
    meta.names               the declared names
    """

    __slots__ = ("_values", "_artifact")

    def __init__(self, values: Mapping[str, Any] | None = None, artifact: str = "this step"):
        self._values = dict(values or {})
        self._artifact = artifact

    def get(self, name: str, default: Any = _MISSING) -> Any:
        if name in self._values:
            return self._values[name]
        if default is not _MISSING:
            return default
        declared = ", ".join(self._values) or "none"
        raise ParameterError(
            f"parameter '{name}' is not declared in the manifest of {self._artifact} (declared: {declared}); "
            f"declare it under 'parameters:' or pass a default: meta.get(\"{name}\", value)"
        )

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def has(self, name: str) -> bool:
        return name in self._values

    @property
    def names(self) -> list[str]:
        return list(self._values)

    @property
    def artifact(self) -> str:
        return self._artifact

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"MetaVariables({self._values!r}, artifact={self._artifact!r})"
