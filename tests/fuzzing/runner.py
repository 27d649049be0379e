"""Decode fuzzing cases in guarded worker processes and classify what happened.

:class:`DecodePool` keeps ``workers`` processes, forked from a fork server that imported the codec
once (so replacing a crashed worker costs milliseconds, not the seconds of importing torch). Each
worker caps its address space at its baseline plus ``memory_limit`` and decodes one case at a time.

Outcomes: ``ok`` (decoded), ``sdcomp-error`` (an :class:`~sdcomp_lite.errors.SdcompError`; detail:
its class), and the bugs: ``other-exception`` (any other exception), ``memory`` (a ``MemoryError``,
also one wrapped in an ``SdcompError``: the limit is far above what the default pixel budget
needs), ``signal`` (the worker died; detail: the signal) and ``hang`` (more than ``timeout`` CPU seconds:
CPU time, not wall time, is what counts on a busy machine; a worker that stays busy for
``kill_after`` wall seconds without using that much CPU is a hang too).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import signal
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import wait

from fuzzing.cases import Case

BUG_OUTCOMES = ("other-exception", "memory", "signal", "hang")
OUTCOMES = ("ok", "sdcomp-error", *BUG_OUTCOMES)
DEFAULT_TIMEOUT = 5.0  # CPU seconds per case
DEFAULT_MEMORY_LIMIT = 1 << 30  # bytes of address space above the worker's baseline
_STARTUP_TIMEOUT = 600.0  # seconds for a worker to be ready (the fork server imports torch once)
_PRELOAD = ["sdcomp_lite.coding.layered", "sdcomp_lite.coding.dct", "sdcomp_lite.coding.image_coders",
            "sdcomp_lite.coding.entropy", "fuzzing.runner"]


@dataclass(frozen=True)
class Outcome:
    """What decoding one case did. ``detail``: the exception class, the signal or why it counts as a hang."""

    case: Case
    outcome: str
    detail: str = ""
    seconds: float = 0.0  # wall time
    cpu_seconds: float = 0.0
    trace: str = ""

    @property
    def is_bug(self) -> bool:
        return self.outcome in BUG_OUTCOMES


def _has_memory_error(error: BaseException | None) -> bool:
    for _ in range(10):
        if error is None:
            return False
        if isinstance(error, MemoryError):
            return True
        error = error.__cause__ or error.__context__
    return False


def classify(error: BaseException | None) -> tuple[str, str]:
    """(outcome, detail) of a decode that returned (``error`` None) or raised ``error``."""
    from sdcomp_lite.errors import SdcompError

    if error is None:
        return "ok", ""
    if _has_memory_error(error):
        return "memory", type(error).__qualname__
    if isinstance(error, SdcompError):
        return "sdcomp-error", type(error).__name__
    return "other-exception", type(error).__qualname__


def codec_decode(data: bytes, mode: str = "decode") -> None:
    """What the fuzzer tests: :func:`~sdcomp_lite.coding.decode` (``mode="decode"``) or every step of
    :func:`~sdcomp_lite.coding.decode_progressive` (``"progressive"``), at the default pixel budget."""
    from sdcomp_lite.coding import decode, decode_progressive

    if mode == "progressive":
        for _ in decode_progressive(data):
            pass
    else:
        decode(data)


def decode_case(data: bytes, mode: str = "decode", decoder: Callable[[bytes, str], object] = codec_decode
                ) -> tuple[str, str, str]:
    """Decode in this process: (outcome, detail, traceback if a bug)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoder(data, mode)
    except BaseException as error:  # a fuzzer must see everything, SystemExit included
        outcome, detail = classify(error)
        return outcome, detail, traceback.format_exc(limit=-12) if outcome in BUG_OUTCOMES else ""
    return "ok", "", ""


def _baseline_address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def _warm_up() -> None:
    """Load what a first decode would load lazily (CDF tables, codec libraries) before the limit is set."""
    import imagecodecs

    from sdcomp_lite.coding.entropy import gaussian_table

    gaussian_table()
    _ = imagecodecs.AVIF.available, imagecodecs.JPEGXL.available


def _limit_memory(extra: int) -> None:
    """Cap the address space at its current size plus ``extra`` bytes (the data segment where /proc is absent)."""
    try:
        limit, which = _baseline_address_space() + extra, resource.RLIMIT_AS
    except OSError:
        limit, which = extra, resource.RLIMIT_DATA
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def _worker(connection, memory_limit: int, quiet: bool, decoder: Callable[[bytes, str], object]) -> None:
    """Say "ready", then decode (data, mode) messages until None; answer (outcome, detail, wall, cpu, trace)."""
    if quiet:  # the codecs' C libraries print their complaints to stderr
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    _warm_up()
    _limit_memory(memory_limit)
    connection.send("ready")
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        wall, cpu = time.perf_counter(), time.process_time()
        outcome, detail, trace = decode_case(*message, decoder=decoder)
        connection.send((outcome, detail, time.perf_counter() - wall, time.process_time() - cpu, trace))


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    connection: object
    position: int = -1  # of the case being decoded
    case: Case | None = None  # None when idle
    started: float = 0.0
    cpu_started: float | None = None  # the worker's CPU seconds when the case was sent


@dataclass
class DecodePool:
    """Decodes cases in ``workers`` processes: ``memory_limit`` bytes above baseline, ``timeout`` CPU seconds a case.

    Use it as a context manager (it stops its workers on exit). A worker is killed, and its case
    is a hang, once it has spent ``timeout`` CPU seconds on the case, or ``kill_after`` wall seconds
    (default: twelve times ``timeout``; where /proc is absent, CPU time is taken to be wall time).
    ``decoder`` (a module-level function of (data, mode)) replaces the codec, to test the pool itself.
    """

    workers: int = 2
    timeout: float = DEFAULT_TIMEOUT
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    kill_after: float | None = None
    quiet: bool = True
    decoder: Callable[[bytes, str], object] = codec_decode
    restarts: int = field(default=0, init=False)
    _slots: list[_Slot] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._context.set_forkserver_preload(_PRELOAD)
        self.kill_after = 12 * self.timeout if self.kill_after is None else self.kill_after

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> _Slot:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child, self.memory_limit, self.quiet, self.decoder), daemon=True)
        process.start()
        child.close()
        if not parent.poll(_STARTUP_TIMEOUT) or parent.recv() != "ready":
            process.kill()
            raise RuntimeError("a fuzzing worker did not start.")
        return _Slot(process, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.connection.close()
        self.restarts += 1
        return self._start()

    def close(self) -> None:
        """Stop every worker."""
        for slot in self._slots:
            try:
                slot.connection.send(None)
            except OSError:
                pass
            slot.process.join(timeout=2)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.connection.close()
        self._slots = []

    def decode(self, data: bytes, mode: str = "decode") -> Outcome:
        """Decode one input (as a :class:`Case` of kind ``"given"``)."""
        return self.run([Case(0, "given", "", bytes(data), mode)])[0]

    def run(self, cases: Iterable[Case], progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Decode every case; the outcomes come back in the order of ``cases``."""
        pending = deque(enumerate(cases))
        results: dict[int, Outcome] = {}
        while len(self._slots) < self.workers:
            self._slots.append(self._start())
        while pending or any(slot.case is not None for slot in self._slots):
            for k, slot in enumerate(self._slots):
                if slot.case is None and pending:
                    self._slots[k] = self._send(slot, *pending.popleft())
            busy = [slot for slot in self._slots if slot.case is not None]
            # sleep until the first case reaches `timeout` wall seconds; after that, look at CPU time twice a second
            check = max(min(slot.started for slot in busy) + self.timeout - time.monotonic(), 0.5)
            ready = wait([slot.connection for slot in busy], timeout=check)
            for k, slot in enumerate(self._slots):
                if slot.case is None:
                    continue
                outcome = self._receive(slot) if slot.connection in ready else self._overdue(slot)
                if outcome is None:
                    continue
                results[slot.position] = outcome
                if progress is not None:
                    progress(outcome)
                if outcome.outcome in ("hang", "signal"):
                    self._slots[k] = self._replace(slot)
                else:
                    slot.case, slot.position = None, -1
        return [results[k] for k in range(len(results))]

    def _send(self, slot: _Slot, position: int, case: Case) -> _Slot:
        for _ in range(3):
            try:
                slot.connection.send((case.data, case.mode))
                break
            except OSError:  # the worker died between cases
                slot = self._replace(slot)
        slot.position, slot.case, slot.started = position, case, time.monotonic()
        slot.cpu_started = _cpu_seconds(slot.process.pid)
        return slot

    def _overdue(self, slot: _Slot) -> Outcome | None:
        """A hang outcome if the slot's case has used up its CPU time (or wall time), else None."""
        wall = time.monotonic() - slot.started
        if wall < self.timeout:
            return None
        now = _cpu_seconds(slot.process.pid)
        cpu = wall if now is None or slot.cpu_started is None else now - slot.cpu_started
        if cpu <= self.timeout and wall <= self.kill_after:
            return None
        return Outcome(slot.case, "hang", f"killed after {cpu:.1f} CPU s, {wall:.0f} s", wall, cpu)

    def _receive(self, slot: _Slot) -> Outcome:
        try:
            outcome, detail, seconds, cpu_seconds, trace = slot.connection.recv()
        except (EOFError, OSError):
            slot.process.join(timeout=5)
            code = slot.process.exitcode
            detail = signal.Signals(-code).name if code is not None and code < 0 else f"exit {code}"
            return Outcome(slot.case, "signal", detail, time.monotonic() - slot.started)
        if cpu_seconds > self.timeout:
            return Outcome(slot.case, "hang", f"{cpu_seconds:.1f} CPU s", seconds, cpu_seconds)
        return Outcome(slot.case, outcome, detail, seconds, cpu_seconds, trace)


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of process ``pid`` (from /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarise(outcomes: Sequence[Outcome]) -> dict:
    """Counts by outcome, by outcome and detail, and by mutation kind; the bugs; the slowest case."""
    by_kind: dict[str, Counter] = {}
    for result in outcomes:
        by_kind.setdefault(result.case.kind, Counter())[result.outcome] += 1
    slowest = max(outcomes, key=lambda r: r.cpu_seconds, default=None)
    return {
        "cases": len(outcomes),
        "small_cases": sum(len(r.case.data) < 1024 for r in outcomes),
        "outcomes": {name: sum(r.outcome == name for r in outcomes) for name in OUTCOMES},
        "details": dict(sorted(Counter(f"{r.outcome}: {r.detail}" for r in outcomes if r.detail).items())),
        "by_kind": {kind: {name: counts[name] for name in OUTCOMES if counts[name]}
                    for kind, counts in sorted(by_kind.items())},
        "slowest": None if slowest is None else {
            "index": slowest.case.index, "kind": slowest.case.kind, "bytes": len(slowest.case.data),
            "cpu_seconds": round(slowest.cpu_seconds, 3), "seconds": round(slowest.seconds, 3)},
        "bugs": [{"index": r.case.index, "kind": r.case.kind, "seed_file": r.case.seed_file, "bytes": len(r.case.data),
                  "outcome": r.outcome, "detail": r.detail, "trace": r.trace} for r in outcomes if r.is_bug],
    }


def run_cases(cases: Iterable[Case], decoder: Callable[[bytes, str], object], seed: int, workers: int,
              timeout: float, memory_mib: int) -> dict:
    """Run ``cases`` through ``decoder`` in a :class:`DecodePool`; :func:`summarise`'s counts plus the run's settings,
    time, worker restarts, machine and date (what every fuzzing report records)."""
    started = time.monotonic()
    with DecodePool(workers=workers, timeout=timeout, memory_limit=memory_mib << 20, decoder=decoder) as pool:
        outcomes = pool.run(cases)
        restarts = pool.restarts
    summary = summarise(outcomes)
    summary.update(seed=seed, workers=workers, timeout_cpu_seconds=timeout, memory_limit_mib=memory_mib,
                   seconds=round(time.monotonic() - started, 1), worker_restarts=restarts,
                   machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
                   date=date.today().isoformat())
    return summary


def fuzz_arguments(description: str, cases: int, results) -> argparse.Namespace:
    """The command line every guarded fuzzing benchmark shares: cases, seed, workers, CPU and memory limits, output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cases", type=int, default=cases)
    parser.add_argument("--seed", type=int, default=1, help="fuzzing seed (the tests use 0)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0, help="CPU seconds per case")
    parser.add_argument("--memory-mib", type=int, default=1024, help="address space per worker above its baseline")
    parser.add_argument("--out", type=type(results), default=results)
    return parser.parse_args()


def bug_lines(bugs: Sequence[dict]) -> list[str]:
    """A fuzzing report's "Bugs" list: one Markdown line a bug (its case, input, outcome and last traceback line)."""
    if not bugs:
        return ["None."]
    lines = []
    for bug in bugs:
        last = bug["trace"].strip().splitlines()[-1:] or [""]
        lines.append(f"- case {bug['index']} ({bug['kind']} of `{bug['seed_file']}`, {bug['bytes']} bytes): "
                     f"**{bug['outcome']}** {bug['detail']}: `{last[0][:200]}`")
    return lines
