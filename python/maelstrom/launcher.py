"""Starts command steps for the engine: one small process per run that forks cheaply.

Node's spawn blocks the engine's only thread for several milliseconds per child (fork of a large
process, then waiting for exec); this process, small and with vfork-based spawning, starts a
command step in well under a millisecond of the engine's time. Standard library only.

Protocol, one JSON object per line:
  stdin  {"id": 1, "argv": [...], "cwd": "...", "env": {...} | null, "log": "..."}
  stdout {"id": 1, "pid": 1234}                 the step started, in a process group of its own
         {"id": 1, "error": "..."}              it could not start
         {"id": 1, "exit": 0, "signal": null}   it ended (signal: the name of the killing signal)
When stdin closes (the engine ended, even by kill -9), every step still running is killed.
"""

import json
import os
import signal
import subprocess
import sys
import threading

_lock = threading.Lock()
_running = {}


def _send(message):
    with _lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def _wait(request_id, process):
    code = process.wait()
    with _lock:
        _running.pop(request_id, None)
    if code < 0:
        _send({"id": request_id, "exit": None, "signal": signal.Signals(-code).name})
    else:
        _send({"id": request_id, "exit": code, "signal": None})


def _start(request):
    request_id = request["id"]
    try:
        with open(request["log"], "ab") as log:
            process = subprocess.Popen(
                request["argv"],
                cwd=request["cwd"],
                env=request.get("env"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as error:
        _send({"id": request_id, "error": str(error)})
        return
    with _lock:
        _running[request_id] = process
    _send({"id": request_id, "pid": process.pid})
    threading.Thread(target=_wait, args=(request_id, process), daemon=True).start()


def main():
    for line in sys.stdin:
        if line.strip():
            _start(json.loads(line))
    with _lock:
        left = list(_running.values())
    for process in left:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    main()
