"""The ``sdcomp-lite`` command line: encode, decode, inspect and the demo."""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

# Only light modules here: each command imports what it needs, so --help and inspect answer at once.
from sdcomp_lite.coding.container import (
    DEFAULT_MASK_SCALE,
    DEFAULT_MAX_PIXELS,
    DEFAULT_PREVIEW_QUALITY,
    MASK_SCALES,
    PREVIEW_SCALE,
    PREVIEW_SCALES,
    SCALES,
)
from sdcomp_lite.coding.layer_table import format_layer_table, inspect, read_header
from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM
from sdcomp_lite.errors import DataFileError, SdcompError
from sdcomp_lite.images import load_image, to_uint8_array

EPILOG = """examples:
  sdcomp-lite demo                                   compress a sample photograph, decode it layer by layer into outputs/
  sdcomp-lite compress data/images/chelsea.png --task "what animal is this?" -o cat.sdc
                                                     ground, rank for the task, encode; writes cat.sdc and cat.sdc.json
  sdcomp-lite encode data/images/coffee.png --objects data/annotations.json -o coffee.sdc --quality 40
  sdcomp-lite encode data/images/coffee.png --objects data/annotations.json -o coffee.sdc --bytes 8000
  sdcomp-lite encode data/images/coffee.png --objects data/annotations.json -o coffee.sdc --quality 60 \
      --background-quality 20 --background-scale 4 --no-preview   sharp objects, coarse background, no preview
  sdcomp-lite inspect coffee.sdc                      list the layers: object, label, rank, bytes
  sdcomp-lite decode coffee.sdc -o first2.png --layers 3   the preview and the two most important objects
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdcomp-lite",
        description="Semantically structured image coding: objects in importance order, one layer each, "
        "in one progressive bitstream (.sdc).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enc = commands.add_parser("encode", help="code an image and its objects into an .sdc file")
    enc.add_argument("image", type=Path, help="the image (PNG, JPEG, ...; 8-bit RGB or grey)")
    enc.add_argument("--objects", type=Path, required=True,
                     help="COCO-format JSON with the objects' boxes and masks; the image is matched by file name. "
                     "Objects are coded in order of their 'importance' field, else in file order.")
    enc.add_argument("-o", "--output", type=Path, required=True, help="where to write the .sdc file")
    add_encode_options(enc)

    dec = commands.add_parser("decode", help="decode an .sdc file (all layers, or the first K)")
    dec.add_argument("bitstream", type=Path)
    dec.add_argument("-o", "--output", type=Path, required=True, help="the decoded image (PNG recommended)")
    dec.add_argument("--layers", type=int,
                     help="decode only the first K layers (the preview, if any, then the most important objects)")
    dec.add_argument("--coverage", type=Path, help="also write a black/white PNG of the decoded pixels")
    dec.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                     help=f"refuse images larger than this many pixels (default {DEFAULT_MAX_PIXELS})")

    ins = commands.add_parser("inspect", help="print the layer table of an .sdc file")
    ins.add_argument("bitstream", type=Path)
    ins.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                     help=f"refuse images larger than this many pixels (default {DEFAULT_MAX_PIXELS})")

    ev = commands.add_parser("eval", help="run a rate sweep (tasks x codecs x qualities) and write tables and plots")
    ev.add_argument("config", type=Path, nargs="?",
                    help="sweep configuration (JSON; every key optional, see benchmarks/sweep_default.json); "
                    "omit it for the default sweep")
    ev.add_argument("-o", "--output", type=Path, default=Path("outputs/sweep"),
                    help="folder for results.csv, run.json, report.md and plots; an interrupted sweep resumes here")
    ev.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")

    add_compress_command(commands)

    demo = commands.add_parser("demo", help="run compress on a sample photograph and decode it progressively into outputs/")
    demo.add_argument("--sample", default="astronaut", help="astronaut, chelsea, coffee or rocket")
    demo.add_argument("--task", help="the task the objects are ranked for (default: one written for the sample)")
    demo.add_argument("--quality", type=int, default=50, help="1 (smallest) to 100 (best); default 50")
    demo.add_argument("--output-dir", type=Path, default=Path("outputs"))
    return parser


def add_encode_options(command: argparse.ArgumentParser) -> None:
    """The coding options that ``encode`` and ``compress`` share: quality or byte budget, background, coder, preview,
    layer structure."""
    rate = command.add_mutually_exclusive_group()
    rate.add_argument("--quality", type=int, default=50, help="1 (smallest) to 100 (best) for the objects; default 50")
    rate.add_argument("--bytes", type=int, help="the largest file size allowed; the best object quality that fits "
                      "is used (with --background-quality and --background-scale kept as given)")
    command.add_argument("--background-quality", type=int,
                         help="quality of the background layer, 1-100 (default: --quality)")
    command.add_argument("--background-scale", type=int, choices=SCALES, default=1,
                         help="code the background at 1/1, 1/2, 1/4 or 1/8 resolution (default 1)")
    command.add_argument("--transform", default=DEFAULT_TRANSFORM,
                         help=f"layer coder: avif, jpegxl or dct8 (default {DEFAULT_TRANSFORM})")
    command.add_argument("--preview", action=argparse.BooleanOptionalAction, default=True,
                         help="start with a preview layer, the whole image at 1/--preview-scale size in a few hundred "
                              "bytes, which fills pixels a prefix has not reached (default: on, as in sdcomp_lite.encode)")
    command.add_argument("--preview-scale", type=int, choices=PREVIEW_SCALES, default=PREVIEW_SCALE,
                         help=f"the preview's downscale factor (default {PREVIEW_SCALE}; 4 gives a prefix more of the scene)")
    command.add_argument("--preview-quality", type=int, default=DEFAULT_PREVIEW_QUALITY,
                         help=f"the preview's quality, 1-100 (default {DEFAULT_PREVIEW_QUALITY})")
    command.add_argument("--preview-skips-first-layer", action="store_true",
                         help="the preview fills what the first object layer covers instead of coding it: fewer bytes; "
                              "a reader of the preview alone sees a smooth patch there (the coco-val128 people sweep "
                              "uses it)")
    command.add_argument("--max-layers", type=int,
                         help="at most this many object layers, cut into importance tiers (default: one layer per "
                              "object; the coco-val128 benchmarks use 2: the task's objects, then the rest)")
    command.add_argument("--mask-scale", type=int, choices=MASK_SCALES, default=DEFAULT_MASK_SCALE,
                         help=f"the cell size in pixels of each object's mask and region (default {DEFAULT_MASK_SCALE}; "
                              "64, AV1's superblock, makes all layers together cost least over one layer)")
    command.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                         help=f"refuse images larger than this many pixels before decoding them (default {DEFAULT_MAX_PIXELS}, "
                         "what decode reads by default)")


def _structure_options(args) -> dict:
    """The options of :func:`add_encode_options` that shape the stream, as ``encode`` takes them."""
    return {"transform": args.transform, "preview": args.preview, "preview_scale": args.preview_scale,
            "preview_quality": args.preview_quality, "max_layers": args.max_layers,
            "mask_scale": args.mask_scale, "preview_skips_first_layer": args.preview_skips_first_layer}


def add_compress_command(commands) -> None:
    """``compress IMAGE --task TEXT -o OUT``: ground, identify where needed, rank, encode, write a sidecar."""
    com = commands.add_parser(
        "compress", help="ground, rank for a task and encode an image in one step (writes OUT and OUT.json)",
        description="Find the objects in IMAGE (--grounder; open-vocabulary grounders are told what to find by "
        "--identifier), rank them for --task (--ranker), code them in that order, write OUT and a JSON sidecar "
        "(objects, ranking with its prompt and reply, layer table) and print the layer table. Both files are "
        "written, or neither. If no object is found, OUT still holds a valid file: the preview and the background.")
    com.add_argument("image", type=Path, help="the image (PNG, JPEG, ...; 8-bit RGB or grey)")
    com.add_argument("--task", default="general", help='what a machine will do with the image, e.g. "is the dog on the '
                     'sofa?" (default: general)')
    com.add_argument("-o", "--output", type=Path, required=True, help="where to write the .sdc file")
    com.add_argument("--sidecar", type=Path, help="where to write the JSON sidecar (default: OUT.json)")
    com.add_argument("--grounder", help="grounding backend (default offline; see sdcomp_lite.grounding.available_grounders)")
    com.add_argument("--grounder-model", help="the open-vocabulary grounder's model: a local folder or hub id")
    com.add_argument("--identifier", help="who names the objects to ground: offline, openai-compatible or "
                     "transformers-vlm (default: offline where the grounder needs names, else none)")
    com.add_argument("--ranker", default="offline", help="ranking backend (default offline; openai-compatible, "
                     "transformers-vlm, area, ...)")
    com.add_argument("--base-url", help="the openai-compatible server, e.g. http://127.0.0.1:11434/v1 (default: "
                     "$SDCOMP_LMM_BASE_URL); the key comes from $SDCOMP_LMM_API_KEY only")
    com.add_argument("--model", help="the model of the openai-compatible server (default: $SDCOMP_LMM_MODEL) or of "
                     "transformers-vlm (a local folder or hub id)")
    com.add_argument("--objects", type=Path, help="COCO-format JSON with the objects (as for encode): skips grounding "
                     "and identification; the ranker still orders them")
    add_encode_options(com)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 for a reported error)."""
    args = build_parser().parse_args(argv)
    commands = {"encode": _encode, "decode": _decode, "inspect": _inspect, "demo": _demo, "eval": _eval,
                "compress": _compress}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return commands[args.command](args)
    except SdcompError as error:
        return _fail(args.command, str(error))
    except KeyboardInterrupt:
        again = " run the same command again to resume" if args.command == "eval" else ""
        return _fail(args.command, f"interrupted; nothing half-written was kept.{again}", status=130)
    except MemoryError:
        return _fail(args.command, "out of memory; try a smaller image, or a smaller --max-pixels budget")
    except OSError as error:  # a missing folder, a folder as output, a full disk, no permission
        return _fail(args.command, f"{error.strerror or error} ({error.filename or 'file'})")


def _one_line_warning(command: str):
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"sdcomp-lite {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    return show


def _fail(command: str, message: str, status: int = 2) -> int:
    print(f"sdcomp-lite {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return status


def _check_output(path: Path, kinds: tuple[str, ...] | None = None) -> None:
    """Refuse an output path before any work: a folder, a missing parent, an unknown image extension."""
    if path.is_dir():
        raise DataFileError(f"the output {path} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise DataFileError(f"the folder {path.parent} does not exist; create it first.")
    if kinds is not None and path.suffix.lower() not in kinds:
        raise DataFileError(f"cannot tell which image format to write for {path.name!r}; use one of {', '.join(kinds)}.")


IMAGE_OUTPUTS = (".png", ".bmp", ".tif", ".tiff", ".ppm", ".webp", ".jpg", ".jpeg")


def _encode(args) -> int:
    from sdcomp_lite.coding import encode, encode_to_budget
    from sdcomp_lite.data import objects_from_coco_file

    _check_output(args.output)
    image = to_uint8_array(load_image(args.image, max_pixels=args.max_pixels))
    objects = objects_from_coco_file(args.objects, args.image.name, image.shape[0], image.shape[1])
    objects = _importance_from_order(objects)
    options = _structure_options(args)
    if args.bytes is not None:
        print(f"searching for the best quality within {args.bytes} bytes ...", file=sys.stderr)
        encoded = encode_to_budget(image, objects, args.bytes, background_quality=args.background_quality,
                                   background_scales=(args.background_scale,), **options)
    else:
        encoded = encode(image, objects, quality=args.quality, background_quality=args.background_quality,
                         background_scale=args.background_scale, progress=True, **options)
    args.output.write_bytes(encoded.data)
    first_object = next((layer for layer in encoded.layers if layer.kind == "object"), encoded.layers[-1])
    print(f"wrote {args.output}: {encoded.num_bytes} bytes, {encoded.bpp:.3f} bpp, {len(encoded.layers)} layers "
          f"(quality {first_object.quality}, {encoded.transform})")
    return 0


def _importance_from_order(objects):
    """Objects without an 'importance' of their own keep their file order (first = most important)."""
    if len({obj.importance for obj in objects}) > 1:
        return objects
    count = len(objects)
    return [replace(obj, importance=1.0 - index / max(count, 1)) for index, obj in enumerate(objects)]


MAX_INPUT_BYTES = 1 << 30


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise DataFileError(f"file not found: {path}")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise DataFileError(f"{path} is larger than 1 GiB; that is not an .sdc file this tool wrote.")
    return path.read_bytes()


def _decode(args) -> int:
    from sdcomp_lite.coding import decode

    _check_output(args.output, IMAGE_OUTPUTS)
    if args.coverage:
        _check_output(args.coverage, IMAGE_OUTPUTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the message below says it instead
        decoded = decode(_read(args.bitstream), layers=args.layers, max_pixels=args.max_pixels)
    Image.fromarray(decoded.image).save(args.output)
    print(f"wrote {args.output}: {decoded.layers_decoded} layers decoded, "
          f"{decoded.coverage.mean():.1%} of the pixels covered")
    if decoded.missing:
        print(f"warning: the file is truncated; layers {list(decoded.missing)} are missing "
              "(their pixels hold the preview or the fill colour)", file=sys.stderr)
    if args.coverage:
        Image.fromarray((decoded.coverage * 255).astype(np.uint8)).save(args.coverage)
    return 0


def _inspect(args) -> int:
    data = _read(args.bitstream)
    header = read_header(data, max_pixels=args.max_pixels)
    print(f"{args.bitstream}: {header.width}x{header.height}, {header.channels} channel(s), "
          f"transform {header.transform}, {len(data)} bytes")
    print(format_layer_table(inspect(data, max_pixels=args.max_pixels)))
    return 0


def _eval(args) -> int:
    from dataclasses import replace

    from sdcomp_lite.evaluation.report import write_report
    from sdcomp_lite.evaluation.sweep import SweepConfig, run_sweep

    if args.output.exists() and not args.output.is_dir():
        raise DataFileError(f"the output {args.output} is a file; give a folder for the sweep.")
    config = SweepConfig.from_json(args.config) if args.config else SweepConfig()
    if args.scheduler:
        config = replace(config, scheduler=args.scheduler)
    results = run_sweep(config, args.output)
    print(write_report(args.output))
    print(f"\nresults: {results}; report and plots: {args.output}/report.md")
    return 0


def _demo(args) -> int:
    from sdcomp_lite.demo import format_demo, run_demo

    print(format_demo(run_demo(args.sample, args.quality, args.output_dir, args.task)))
    print(f"pictures written to {args.output_dir}/ ({args.sample}_progressive.png shows every step)")
    return 0


LMM_BACKENDS = ("openai-compatible", "transformers-vlm")


def _lmm_options(backend: str | None, args) -> dict:
    """--base-url and --model for a model-backed ranker or identifier (the API key stays in the environment)."""
    from sdcomp_lite.errors import InvalidParameterError

    if backend == "openai-compatible":
        return {key: value for key, value in (("base_url", args.base_url), ("model", args.model)) if value}
    if backend == "transformers-vlm":
        if not args.model:
            raise InvalidParameterError("transformers-vlm needs --model: a local model folder or a hub id.")
        return {"model": args.model}
    return {}


def _compress(args) -> int:
    from sdcomp_lite.data import objects_from_coco_file
    from sdcomp_lite.errors import InvalidParameterError
    from sdcomp_lite.grounding.identify import OPEN_VOCABULARY
    from sdcomp_lite.pipeline import compress, default_sidecar_path, format_result, sidecar_json, write_outputs

    sidecar = args.sidecar or default_sidecar_path(args.output)
    _check_output(args.output)
    _check_output(sidecar)
    if sidecar.resolve() == args.output.resolve():
        raise DataFileError(f"the sidecar and the output are the same file ({sidecar}); give another --sidecar.")
    if args.objects and (args.grounder or args.grounder_model or args.identifier):
        raise InvalidParameterError("--objects skips grounding and identification; drop --grounder, --grounder-model "
                                    "and --identifier, or drop --objects.")
    if args.grounder_model and (args.grounder or "offline").split("+")[0] not in OPEN_VOCABULARY:
        raise InvalidParameterError(f"--grounder-model is for the grounders {', '.join(OPEN_VOCABULARY)} (and their "
                                    f"+sam, +grabcut forms), not {args.grounder or 'offline'!r}; choose one, or drop it.")
    uses_lmm = args.ranker in LMM_BACKENDS or args.identifier in LMM_BACKENDS
    if (args.base_url or args.model) and not uses_lmm:
        raise InvalidParameterError("--base-url and --model are for --ranker or --identifier openai-compatible or "
                                    "transformers-vlm; choose one of those, or drop them.")
    image = to_uint8_array(load_image(args.image, max_pixels=args.max_pixels))
    objects = None
    if args.objects:
        objects = _importance_from_order(objects_from_coco_file(args.objects, args.image.name, *image.shape[:2]))
    encode_options = {"background_quality": args.background_quality, "background_scale": args.background_scale,
                      **_structure_options(args)}
    if args.bytes is None:
        encode_options.update(quality=args.quality, progress=True)
    result = compress(
        image, args.task, grounder=args.grounder or "offline", ranker=args.ranker, identifier=args.identifier,
        objects=objects, grounder_options={"model": args.grounder_model} if args.grounder_model else None,
        ranker_options=_lmm_options(args.ranker, args), identifier_options=_lmm_options(args.identifier, args),
        max_bytes=args.bytes, **encode_options)
    sidecar_data = {**result.sidecar, "source": {"image": str(args.image), "output": str(args.output),
                                                 "objects": str(args.objects) if args.objects else None}}
    write_outputs({args.output: result.encoded.data, sidecar: sidecar_json(sidecar_data)})
    print(format_result(result, str(args.objects) if args.objects else ""))
    if not result.objects:
        print("sdcomp-lite compress: warning: no objects found; the file holds the preview and background only",
              file=sys.stderr)
    print(f"wrote {args.output}: {result.encoded.num_bytes} bytes, {result.encoded.bpp:.3f} bpp, "
          f"{len(result.encoded.layers)} layers ({result.encoded.transform}); sidecar {sidecar}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
