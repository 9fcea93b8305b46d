"""How SIGINT (Ctrl-C) and SIGTERM stop training: at once, with one line, files intact.

Three regimes, chosen by where the main thread is:

* **critical** (:func:`critical`): writing files, applying an optimizer step. A signal is
  held back until the section ends, so no file is half-written and no step half-applied;
  then it acts as the enclosing regime says.
* **interruptible** (:func:`interruptible`): computing (forward and backward passes, the
  in-training evaluation, the final encoding). A signal raises :class:`Stop` (a
  ``BaseException``, so no ``except Exception`` on the way swallows it); the trainer
  writes a checkpoint of the last completed step and reports.
* **outside** both: the command line (:func:`install_for_command_line`, installed before
  the heavy imports of ``lps-eval train``) prints one ``error:`` line and ends the process
  at once with 130 (SIGINT) or 143 (SIGTERM), whatever it was doing, even importing torch:
  an interrupted import is never continued (a half-imported module is how torch's lazy
  sympy import once turned a Ctrl-C into an AttributeError). In a Python session,
  ``fit()`` leaves these signals to the session's own handlers (KeyboardInterrupt).

The line printed when the process ends is the latest :func:`describe` text: what was
written and how to continue. Handlers are installed only in the main thread (Python
delivers signals there); elsewhere every function here is a no-op.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "Stop",
    "critical",
    "describe",
    "end_process",
    "exit_code",
    "install_for_command_line",
    "interruptible",
    "lock_description",
]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(BaseException):
    """A signal arrived while training computed; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)


def exit_code(signum: int) -> int:
    """The shell convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


class _State:
    """The process's regime (main thread only)."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}  # handlers in place before ours
        self.installed = False
        self.command_line = False  # outside: print the line and end the process
        self.critical = 0
        self.interruptible = 0
        self.pending: int | None = None
        self.line = "interrupted"
        self.locked: str | None = None


_state = _State()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handle(signum: int, frame: Any) -> None:
    if _state.critical:
        _state.pending = _state.pending or signum
        return
    _act(signum, frame)


def _act(signum: int, frame: Any = None) -> None:
    """What a signal does outside a critical section."""
    if _state.interruptible:
        raise Stop(signum)
    if _state.command_line:
        _exit_now(signum)
    previous = _state.previous.get(signum)
    if callable(previous):  # e.g. Python's default_int_handler: KeyboardInterrupt
        previous(signum, frame)
    elif previous != signal.SIG_IGN:  # SIG_DFL: the default action (the process ends)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _exit_now(signum: int) -> None:
    """One line on stderr, then end the process without unwinding (no import is continued)."""
    text = " ".join((_state.locked or _state.line).split())
    try:
        os.write(2, f"error: {text}\n".encode())
    finally:
        os._exit(exit_code(signum))


def _ours() -> bool:
    return all(signal.getsignal(sig) is _handle for sig in _SIGNALS)


def _install() -> bool:
    """Install the handler unless a foreign one (not Python's default) is in place."""
    if _state.installed:
        return _ours()
    defaults = (signal.default_int_handler, signal.SIG_DFL, None)
    if any(signal.getsignal(sig) not in defaults for sig in _SIGNALS):
        return False  # someone else's handler (a grid on a cluster): leave it alone
    for sig in _SIGNALS:
        _state.previous[sig] = signal.signal(sig, _handle)
    _state.installed = True
    return True


def _uninstall_if_idle() -> None:
    if _state.installed and not (_state.command_line or _state.critical or _state.interruptible):
        for sig, previous in _state.previous.items():
            signal.signal(sig, previous)
        _state.previous.clear()
        _state.installed = False


def install_for_command_line(line: str = "interrupted") -> None:
    """From now on, a signal outside the trainer's sections ends the process with ``line``.

    Called first thing by ``lps-eval train`` (before torch is imported), so that a Ctrl-C
    at any moment of start-up prints one line and exits 130 within milliseconds.
    """
    if not _main_thread():
        return
    _state.line = line
    if not _state.installed:
        for sig in _SIGNALS:
            _state.previous[sig] = signal.signal(sig, _handle)
        _state.installed = True
    _state.command_line = True


def end_process(code: int) -> None:
    """Leave with ``code`` after the final line: at once on the command line, where
    everything is written and interpreter shutdown (torch's modules) can take seconds on a
    busy machine; ``SystemExit`` elsewhere (a Python session, a test's CliRunner)."""
    import contextlib
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    if _state.command_line and _main_thread():
        os._exit(code)
    raise SystemExit(code)


def describe(text: str) -> None:
    """The line a signal prints when it ends the process from here on (state and how to go on)."""
    _state.line = text


@contextmanager
def lock_description(text: str | None) -> Iterator[None]:
    """While inside, the line is ``text`` whatever :func:`describe` says (a grid's summary)."""
    before = _state.locked
    _state.locked = text
    try:
        yield
    finally:
        _state.locked = before


@contextmanager
def critical() -> Iterator[None]:
    """Hold signals back while files are written or an update is applied; then deliver them."""
    if not _main_thread() or not _install():
        yield
        return
    _state.critical += 1
    try:
        yield
    finally:
        _state.critical -= 1
        pending = _state.pending if not _state.critical else None
        if pending is not None:
            _state.pending = None
            try:
                _act(pending)
            finally:
                _uninstall_if_idle()
        else:
            _uninstall_if_idle()


@contextmanager
def interruptible(active: bool = True) -> Iterator[None]:
    """Signals raise :class:`Stop` inside (outside critical sections); no-op if not active."""
    if not active or not _main_thread() or not _install():
        yield
        return
    _state.interruptible += 1
    try:
        yield
    finally:
        _state.interruptible -= 1
        _uninstall_if_idle()
