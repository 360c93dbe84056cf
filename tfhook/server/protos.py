"""Regenerate tfhook/v1 from protos/handler.proto (`make protos`); tests compare the output.

Besides the Python modules, it writes `handler.binpb`: protoc's descriptor set of the file as
the reference names it (`handler.proto`, with a `json_name` on every field), which server
reflection serves (tfhook/server/reflection.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO = "tfhook/v1/handler.proto"
DESCRIPTOR_SET = "handler.binpb"  # read by tfhook.server.reflection


def generate(out_dir: Path) -> list[Path]:
    """Run grpcio-tools' protoc, writing tfhook/v1/handler_pb2*.py(i) under out_dir.

    The include mapping `tfhook/v1=protos` keeps the source at protos/handler.proto
    while the generated modules import each other as `tfhook.v1`.

    Args:
        out_dir: the directory that plays the repository root.

    Returns:
        The generated files.
    """
    from grpc_tools import protoc  # dev-only dependency

    args = [
        "protoc",
        f"-Itfhook/v1={ROOT / 'protos'}",
        f"-I{Path(protoc.__file__).parent / '_proto'}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        PROTO,
    ]
    (out_dir / "tfhook" / "v1").mkdir(parents=True, exist_ok=True)
    descriptor_set = [
        "protoc", f"-I{ROOT / 'protos'}",
        f"--descriptor_set_out={out_dir / 'tfhook' / 'v1' / DESCRIPTOR_SET}", "handler.proto",
    ]
    if protoc.main(args) != 0 or protoc.main(descriptor_set) != 0:
        raise SystemExit("protoc failed")
    return sorted((out_dir / "tfhook" / "v1").glob("handler*"))


if __name__ == "__main__":
    for path in generate(ROOT):
        print(path.relative_to(ROOT))
    sys.exit(0)
