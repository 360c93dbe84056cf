"""Regenerate tfhook/v1 from protos/ (`make protos`); tests compare the output.

`handler.proto` is the handler protocol; `admin.proto` tfhook's own admin service
(tfhook/server/admin.py), generated the same way.

Besides the Python modules, it writes `handler.binpb`: protoc's descriptor set of the file as
the reference names it (`handler.proto`, with a `json_name` on every field), which server
reflection serves (tfhook/server/reflection.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ("tfhook/v1/handler.proto", "tfhook/v1/admin.proto")
DESCRIPTOR_SET = "handler.binpb"  # read by tfhook.server.reflection


def generate(out_dir: Path) -> list[Path]:
    """Run grpcio-tools' protoc, writing tfhook/v1/{handler,admin}_pb2*.py(i) under out_dir.

    The include mapping `tfhook/v1=protos` keeps the sources in protos/
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
        *PROTOS,
    ]
    (out_dir / "tfhook" / "v1").mkdir(parents=True, exist_ok=True)
    descriptor_set = [
        "protoc", f"-I{ROOT / 'protos'}",
        f"--descriptor_set_out={out_dir / 'tfhook' / 'v1' / DESCRIPTOR_SET}", "handler.proto",
    ]
    if protoc.main(args) != 0 or protoc.main(descriptor_set) != 0:
        raise SystemExit("protoc failed")
    return sorted(path for prefix in ("admin", "handler")
                  for path in (out_dir / "tfhook" / "v1").glob(f"{prefix}*"))


if __name__ == "__main__":
    for path in generate(ROOT):
        print(path.relative_to(ROOT))
    sys.exit(0)
