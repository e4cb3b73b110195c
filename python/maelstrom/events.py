"""
Step events: newline-delimited JSON on the file descriptor named by MAELSTROM_EVENT_FD (the engine
passes fd 3; DESIGN.md decision 6), the same shapes as packages/core/src/protocol/events.ts. Outside
the engine (a notebook, a unit test) events go to stderr.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import sys
import threading
import time
from typing import Any

__all__ = ["log_metric", "report_progress", "emit", "EVENT_FD_ENV"]

EVENT_FD_ENV = "MAELSTROM_EVENT_FD"
_lock = threading.Lock()
# Set by the runner, which takes the descriptor out of the environment of programs the step starts.
_configured_fd: int | None = None
# Set by the runner while call i of a fused chain runs (StepSpec.next), so that the engine files the
# step's metric, progress and failed events under the right step; None outside a chain.
_call_index: int | None = None
_INDEXED = ("metric", "progress", "failed")


def _event_fd() -> int | None:
    if _configured_fd is not None:
        return _configured_fd
    try:
        fd = int(os.environ.get(EVENT_FD_ENV, ""))
    except ValueError:
        return None
    return fd if fd > 2 else None


def _finite_or_none(value: Any) -> Any:
    """As JSON.stringify does: NaN and ±Infinity become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def emit(event: dict) -> None:
    """Writes one event line (compact JSON, as the node side writes it)."""
    if _call_index is not None and event.get("type") in _INDEXED:
        event = {**event, "index": _call_index}
    line = (json.dumps(_finite_or_none(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
    fd = _event_fd()
    with _lock:
        if fd is not None:
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
                return
            except OSError:
                pass  # the descriptor is not open here (a notebook with the variable set): fall back
        sys.stderr.flush()
        sys.stderr.buffer.write(line) if hasattr(sys.stderr, "buffer") else sys.stderr.write(line.decode("utf-8"))
        sys.stderr.flush()


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} ({value!r})")
    return float(value)


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Records one point of a metric series, e.g. the loss after each epoch."""
    if not isinstance(name, str) or name == "":
        raise TypeError(f"log_metric: name must be a non-empty string, got {name!r}")
    number = _number(value, f"log_metric('{name}'): value")
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral)):
        raise TypeError(f"log_metric('{name}'): step must be an int or None, got {type(step).__name__} ({step!r})")
    emit({"type": "metric", "name": name, "value": number, "step": None if step is None else int(step), "time": int(time.time() * 1000)})


def report_progress(fraction: float | None, message: str | None = None) -> None:
    """Reports progress of the current step: a fraction 0..1 (or None) and/or a short message."""
    if fraction is not None:
        fraction = _number(fraction, "report_progress: fraction")
        if not 0 <= fraction <= 1:
            raise ValueError(f"report_progress: fraction must be between 0 and 1 (or None), got {fraction}")
    if message is not None and not isinstance(message, str):
        raise TypeError(f"report_progress: message must be a string or None, got {type(message).__name__}")
    emit({"type": "progress", "fraction": fraction, "message": message})
