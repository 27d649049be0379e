"""Fuzzing the image reader (``images.load_image`` + ``to_uint8_array``, what ``encode`` runs on its input).

Every case is a small real file (PNG 8/16-bit, palette, APNG; JPEG baseline, progressive, with EXIF
orientation, MPO; GIF, animated GIF; TIFF, multi-page TIFF; WebP; BMP; PPM) with one structure-aware
mutation: bits flipped, bytes set, cut, inserted or repeated; a header's width and height set to
huge or zero values (PNG, JPEG, GIF, BMP, PPM; PNG CRCs recomputed); a PNG chunk dropped or
repeated; a JPEG's last scan repeated up to 3,000 times; an EXIF orientation set to any value.
Each file is read in a worker process limited to 1 GiB above its baseline and 5 CPU seconds
(tests/fuzzing's DecodePool), under the command line's pixel budget (``--max-pixels``, 16,777,216).
Outcomes: ok, sdcomp-error (an ``SdcompError``) and the bugs (other-exception, memory, signal, hang).
Writes benchmarks/results/fuzz_inputs_images.md.

Run from the repository root:  nice -n 10 python benchmarks/fuzz_images.py --cases 3000 --seed 1
A case is rebuilt with ImageCaseMaker(seed_images(), seed).case(index).
"""

from __future__ import annotations

import io
import os
import random
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fuzzing pool is a test tool
from fuzzing import BUG_OUTCOMES, OUTCOMES, Case  # noqa: E402
from fuzzing.runner import bug_lines, fuzz_arguments, run_cases  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PIXEL_BUDGET = 4096 * 4096  # the command line's default --max-pixels


def _save(image: Image.Image, kind: str, **options) -> bytes:
    """The file's bytes (written to a real file, from copies)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"seed.{kind.lower()}"
        if "append_images" in options:  # copies: a save leaves encoder settings on the image for the next one
            options["append_images"] = [frame.copy() for frame in options["append_images"]]
        image.copy().save(path, kind, **options)
        return path.read_bytes()


def _png16(width: int, height: int, colour: int) -> bytes:
    rows = np.random.default_rng(3).integers(0, 65536, (height, width * (3 if colour == 2 else 1))).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)) \
        + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def seed_images() -> dict[str, tuple[str, bytes]]:
    """name -> (file suffix, bytes): small real files of every format and mode the reader meets."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:32]
    rgb = np.stack([xx * 8, yy * 10, (xx + yy) * 4], axis=2).astype(np.uint8) + rng.integers(0, 8, (24, 32, 3), dtype=np.uint8)
    picture, other = Image.fromarray(rgb), Image.fromarray(255 - rgb)
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "png-rgb": (".png", _save(picture, "PNG")),
        "png-grey": (".png", _save(picture.convert("L"), "PNG")),
        "png-palette": (".png", _save(picture.convert("P"), "PNG")),
        "png-16bit": (".png", _png16(16, 8, 2)),
        "apng": (".png", _save(picture, "PNG", save_all=True, append_images=[other])),
        "jpeg-baseline": (".jpg", _save(picture, "JPEG", quality=80)),
        "jpeg-progressive": (".jpg", _save(picture, "JPEG", quality=80, progressive=True)),
        "jpeg-exif": (".jpg", _save(picture, "JPEG", quality=80, exif=exif)),
        "mpo": (".jpg", _save(picture, "MPO", save_all=True, append_images=[other])),
        "gif": (".gif", _save(picture.convert("P"), "GIF")),
        "gif-animated": (".gif", _save(picture.convert("P"), "GIF", save_all=True, append_images=[other.convert("P")])),
        "tiff": (".tif", _save(picture, "TIFF")),
        "tiff-pages": (".tif", _save(picture, "TIFF", save_all=True, append_images=[other])),
        "webp": (".webp", _save(picture, "WEBP", quality=80)),
        "bmp": (".bmp", _save(picture, "BMP")),
        "ppm": (".ppm", _save(picture, "PPM")),
    }


INTERESTING = (0, 1, 0x7F, 0x80, 0xFF)
HUGE = (0, 1, 0xFFFF, 0x7FFF, 4097, 65535 * 4, 2**31 - 1, 2**32 - 1)


def _png_chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(start, end, type) of each chunk of a PNG (stops at damage)."""
    chunks, position = [], 8
    while position + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data):
            break
        chunks.append((position, end, kind))
        position = end
    return chunks


def _jpeg_scan(data: bytes) -> tuple[int, int] | None:
    """(start, end) of the last scan (SOS segment and its entropy-coded data) of a JPEG."""
    position, found = 2, None
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xD9:
            break
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            while (end := data.find(b"\xff", end)) >= 0 and end + 1 < len(data) and (
                    data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7):
                end += 2
            if end < 0:
                return found
            found = (position, end)
        position = end
    return found


class ImageCaseMaker:
    """Case ``index`` of fuzzing ``seed``: one mutation of one seed file, deterministically."""

    def __init__(self, seeds: dict[str, tuple[str, bytes]], seed: int = 0) -> None:
        self.seeds, self.seed = seeds, seed
        self.mutations = {name: getattr(self, "_" + name.replace("-", "_")) for name in MUTATIONS}

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}/{index}")
        name = rng.choice(sorted(self.seeds))
        suffix, data = self.seeds[name]
        kind = rng.choice(MUTATIONS)
        return Case(index, kind, name, bytes(self.mutations[kind](bytearray(data), rng)), suffix)

    def cases(self, count: int):
        return (self.case(index) for index in range(count))

    @staticmethod
    def _flip_bits(data: bytearray, rng: random.Random) -> bytearray:
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
        return data

    @staticmethod
    def _set_bytes(data: bytearray, rng: random.Random) -> bytearray:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.choice(INTERESTING + (rng.randrange(256),))
        return data

    @staticmethod
    def _truncate(data: bytearray, rng: random.Random) -> bytearray:
        return data[: rng.randrange(len(data))]

    @staticmethod
    def _insert(data: bytearray, rng: random.Random) -> bytearray:
        position = rng.randrange(len(data))
        return data[:position] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) + data[position:]

    @staticmethod
    def _repeat(data: bytearray, rng: random.Random) -> bytearray:
        start = rng.randrange(len(data))
        piece = data[start : start + rng.randint(1, 256)]
        return data[:start] + piece * rng.randint(2, 200) + data[start:]

    @staticmethod
    def _header_size(data: bytearray, rng: random.Random) -> bytearray:
        width, height = rng.choice(HUGE), rng.choice(HUGE)
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            data[16:24] = struct.pack(">II", width, height)
            data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
        elif data[:2] == b"\xff\xd8":
            frame = next((i for i in range(2, len(data) - 9) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2)), None)
            if frame is not None:
                data[frame + 5 : frame + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
        elif data[:3] == b"GIF":
            data[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
        elif data[:2] == b"BM":
            data[18:26] = struct.pack("<iI", min(width, 2**31 - 1), height)
        elif data[:2] == b"P6":
            data = bytearray(f"P6 {width} {height} 255\n".encode()) + data[data.index(b"255\n") + 4 :]
        else:
            position = rng.randrange(len(data) - 4)
            data[position : position + 4] = struct.pack("<I", width)
        return data

    @staticmethod
    def _png_chunk(data: bytearray, rng: random.Random) -> bytearray:
        chunks = _png_chunks(bytes(data)) if data[:8] == b"\x89PNG\r\n\x1a\n" else []
        if not chunks:
            return ImageCaseMaker._repeat(data, rng)
        start, end, _ = rng.choice(chunks)
        return data[:start] + data[end:] if rng.random() < 0.5 else data[:end] + data[start:end] * rng.randint(1, 50) + data[end:]

    @staticmethod
    def _jpeg_scans(data: bytearray, rng: random.Random) -> bytearray:
        scan = _jpeg_scan(bytes(data)) if data[:2] == b"\xff\xd8" else None
        if scan is None:
            return ImageCaseMaker._repeat(data, rng)
        start, end = scan
        return data[:end] + data[start:end] * rng.choice((1, 10, 95, 120, 1000, 3000)) + data[end:]

    @staticmethod
    def _exif_orientation(data: bytearray, rng: random.Random) -> bytearray:
        try:
            with Image.open(io.BytesIO(bytes(data))) as image:
                if image.format not in ("JPEG", "PNG", "WEBP", "TIFF"):
                    return ImageCaseMaker._set_bytes(data, rng)
                exif = image.getexif()
                exif[0x0112] = rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 65535))
                rgb = image.convert("RGB")
                return bytearray(_save(rgb, image.format, exif=exif))
        except Exception:  # a seed Pillow cannot re-save this way: fall back to a byte mutation
            return ImageCaseMaker._set_bytes(data, rng)


MUTATIONS = ("flip-bits", "set-bytes", "truncate", "insert", "repeat", "header-size", "png-chunk", "jpeg-scans",
             "exif-orientation")


def load_case(data: bytes, suffix: str) -> None:
    """What is fuzzed: the file read as ``encode`` reads its input (the command line's pixel budget)."""
    from sdcomp_lite.images import load_image, to_uint8_array

    path = Path(tempfile.gettempdir()) / f"sdcomp-fuzz-image-{os.getpid()}{suffix}"
    path.write_bytes(data)
    try:
        to_uint8_array(load_image(path, max_pixels=PIXEL_BUDGET))
    finally:
        path.unlink(missing_ok=True)


def run(cases: int, seed: int, workers: int, timeout: float, memory_mib: int) -> dict:
    return run_cases(ImageCaseMaker(seed_images(), seed).cases(cases), load_case, seed, workers, timeout, memory_mib)


def markdown(summary: dict, title: str, made_by: str, what: str) -> str:
    """The results page: counts by outcome, by error class and by mutation kind, and the bugs."""
    counts = summary["outcomes"]
    bugs = sum(counts[name] for name in BUG_OUTCOMES)
    lines = [
        f"# {title}", "",
        what, "",
        f"{summary['cases']} cases (seed {summary['seed']}) in {summary['seconds']} s with {summary['workers']} workers; "
        f"limits per case: {summary['timeout_cpu_seconds']} CPU s and {summary['memory_limit_mib']} MiB above the worker's "
        f"baseline. {summary['worker_restarts']} worker restarts. {summary['machine']}, {summary['date']}. Made by "
        f"`{made_by}`.", "",
        f"**{counts['signal']} signals, {counts['hang']} hangs, {counts['memory']} memory blow-ups, "
        f"{counts['other-exception']} tracebacks (exceptions outside SdcompError)**: {bugs} bugs in all.", "",
        "| outcome | cases | a bug? |", "| --- | ---: | --- |",
        *[f"| {name} | {counts[name]} | {'yes' if name in BUG_OUTCOMES else 'no'} |" for name in OUTCOMES], "",
        "| outcome: detail | cases |", "| --- | ---: |",
        *[f"| {name} | {count} |" for name, count in summary["details"].items()], "",
        "## By mutation kind", "",
        "| kind | " + " | ".join(OUTCOMES) + " |", "| --- |" + " ---: |" * len(OUTCOMES),
        *[f"| {kind} | " + " | ".join(str(row.get(name, 0)) for name in OUTCOMES) + " |"
          for kind, row in summary["by_kind"].items()], "",
        f"Slowest case: {summary['slowest']}.", "",
        "## Bugs", "",
    ]
    lines += bug_lines(summary["bugs"])
    return "\n".join(lines) + "\n"


WHAT = ("Each case is one structure-aware mutation of a small real image file (16 seeds: PNG 8/16-bit, grey, "
        "palette, APNG; JPEG baseline, progressive, with EXIF orientation, MPO; GIF, animated GIF; TIFF, "
        "multi-page TIFF; WebP; BMP; PPM), read by `images.load_image` and `to_uint8_array` under the command "
        f"line's pixel budget ({PIXEL_BUDGET}) in a guarded worker process (tests/fuzzing's DecodePool).")


def write_page(summary: dict, out: Path, surface: str, title: str, what: str) -> None:
    """Write (and print) ``summary``'s page as ``out/fuzz_inputs_<surface>.md``."""
    page = markdown(summary, title, f"benchmarks/fuzz_{surface}.py", what)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"fuzz_inputs_{surface}.md").write_text(page)
    print(page)


def main() -> None:
    args = fuzz_arguments(__doc__.splitlines()[0], 3000, RESULTS)
    summary = run(args.cases, args.seed, args.workers, args.timeout, args.memory_mib)
    write_page(summary, args.out, "images", "Fuzzing the image reader", WHAT)


if __name__ == "__main__":
    main()
