"""Issue 20 finding 9, issue 19 item 6: no process-wide side effects. MediaPipe's native log lines
are filtered out of file descriptor 2 without losing other threads' output or leaving fd 2 changed;
warning filters are narrow; GrabCut's seed is the calling thread's only."""

import re
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh interpreter (fd 2 is process-wide: pytest's own capture stays out of it)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_overlapping_quiet_calls_drop_only_native_log_lines_and_restore_fd_2():
    done = _run("""
        import os, threading
        from sdcomp_lite.models import quiet_native_logs
        before = os.fstat(2)
        inside, leave = threading.Barrier(3), threading.Event()

        def model(name):  # what MediaPipe's C++ side writes, from two overlapping calls
            with quiet_native_logs():
                os.write(2, b"W0000 00:00:1796287529.270970   18071 inference_feedback_manager.cc:114] Feedback\\n")
                os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
                inside.wait()
                leave.wait()
                os.write(2, f"E0000 00:00:1.5 1 graph.cc:1] a native error from {name}\\n".encode())

        def writer(number):
            for line in range(200):
                os.write(2, f"writer {number} line {line}\\n".encode())

        models = [threading.Thread(target=model, args=(name,)) for name in "ab"]
        for thread in models:
            thread.start()
        inside.wait()  # both calls are inside: fd 2 is the filter now
        writers = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        leave.set()
        for thread in models:
            thread.join()
        after = os.fstat(2)
        print("fd 2 restored:", (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino))
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fd 2 restored: True" in done.stdout
    lines = done.stderr.splitlines()
    assert sorted(line for line in lines if line.startswith("writer")) == sorted(
        f"writer {n} line {i}" for n in range(4) for i in range(200))
    assert sum("a native error from" in line for line in lines) == 2  # errors are kept
    assert not any("Feedback" in line or "TensorFlow Lite" in line for line in lines)


def test_four_threads_keep_their_stderr_while_mediapipe_runs_in_two_others():
    pytest.importorskip("mediapipe")
    done = _run("""
        import os, threading
        from sdcomp_lite.data import load_sample
        from sdcomp_lite.grounding.mediapipe_models import MediaPipeGrounder
        image = load_sample("astronaut").image
        grounder = MediaPipeGrounder()
        before = os.fstat(2)
        stop, found, wrote = threading.Event(), [], {}

        def ground():
            found.append(len(grounder.ground(image)))

        def writer(number):
            line = 0
            while not stop.is_set() or line < 50:
                os.write(2, f"writer {number} line {line}\\n".encode())  # one atomic write a line (print is not)
                line += 1
            wrote[number] = line

        writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        models = [threading.Thread(target=ground) for _ in range(2)]
        for thread in writers + models:
            thread.start()
        for thread in models:
            thread.join()
        stop.set()
        for thread in writers:
            thread.join()
        after = os.fstat(2)
        print("people and faces:", found, "fd 2 restored:", (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino))
        print("wrote:", *(wrote[number] for number in range(4)))
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "people and faces: [2, 2] fd 2 restored: True" in done.stdout, done.stdout
    counts = [int(count) for count in done.stdout.split("wrote:")[1].split()]
    # Every line arrives once, in its place (TFLite's one "INFO: " may be glued in front of one), except the
    # known limit of a line filter: MediaPipe writes some of its own log lines in pieces, and a line another
    # thread writes between two pieces is glued into that log line and dropped with it. Seen: 2 of 75,179
    # lines on a loaded machine; a filter that lost lines any other way would lose far more.
    lost = 0
    for number, wrote in enumerate(counts):
        mine = [int(i) for i in re.findall(rf"^(?:INFO: )?writer {number} line (\d+)$", done.stderr, flags=re.MULTILINE)]
        assert len(mine) == len(set(mine)) and set(mine) <= set(range(wrote)), (number, len(mine), wrote)
        lost += wrote - len(mine)
    assert lost <= 4, f"{lost} of {sum(counts)} lines lost"
    assert "inference_feedback_manager" not in done.stderr and "TensorFlow Lite" not in done.stderr


def _truncated_file() -> bytes:
    from sdcomp_lite.coding import encode
    from sdcomp_lite.types import SceneObject, box_mask

    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    objects = [SceneObject(1, "thing", (4, 4, 20, 20), box_mask((4, 4, 20, 20), 32, 32))]
    data = encode(image, objects, quality=30).data
    return data[: len(data) - 20]


def test_a_concurrent_decodes_warnings_are_not_swallowed():
    from sdcomp_lite.coding import decode
    from sdcomp_lite.models import quiet_mediapipe

    data = _truncated_file()
    inside, leave = threading.Event(), threading.Event()

    def mediapipe_call():
        with quiet_mediapipe():
            inside.set()
            leave.wait(timeout=60)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other = threading.Thread(target=mediapipe_call)
        other.start()
        try:
            inside.wait(timeout=60)
            for _ in range(5):
                decode(data)
        finally:
            leave.set()
            other.join()
    assert sum("ends early" in str(w.message) for w in caught) == 5
    assert not any(f[0] == "ignore" and f[1] is None and f[2] is Warning for f in warnings.filters)


def test_opencv_keeps_one_generator_per_thread_so_grabcut_seeds_only_its_own():
    import cv2

    from sdcomp_lite.grounding.refine import GrabCutRefiner

    def draw():
        values = np.zeros(8, np.float64)
        cv2.randu(values, 0, 1)
        return values

    cv2.setRNGSeed(5)
    expected = draw()
    cv2.setRNGSeed(5)
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    image[16:48, 16:48] = 200
    results = [None] * 4

    def refine(slot):
        results[slot] = GrabCutRefiner().refine(image, [(10, 10, 54, 54)])[0]

    threads = [threading.Thread(target=refine, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.array_equal(draw(), expected), "another thread's GrabCut reseeded this thread's generator"
    alone = GrabCutRefiner().refine(image, [(10, 10, 54, 54)])[0]
    assert all(np.array_equal(result, alone) for result in results) and alone.any()


def test_no_global_seeding_or_fd_redirection_left_in_the_package():
    package = ROOT / "sdcomp_lite"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "np.random.seed(" not in text and "random.seed(" not in text, path
        if path.name != "refine.py":
            assert "setRNGSeed" not in text, f"{path}: use grounding.refine.seeded_grabcut"
        if path.name != "models.py":
            assert "dup2(" not in text, f"{path}: use models.quiet_native_logs"
