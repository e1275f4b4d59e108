"""Builds the package with the gRPC stubs of proto/phaze/v1/ generated into it.

The generated modules import each other as `phaze.v1.*` (the proto package), so they are shipped
as the top-level package `phaze.v1` beside `phaze_client`.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent  # proto/: holds phaze/v1/*.proto
PROTOS = ["phaze/v1/phaze.proto", "phaze/v1/service.proto"]


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc  # Debian: python3-grpc-tools

    (out_dir / "phaze" / "v1").mkdir(parents=True, exist_ok=True)
    for name in PROTOS:
        source = PROTO_ROOT / name
        if not source.exists():
            raise SystemExit(f"phaze-client: {source} not found (build from a Phaze checkout)")
        rc = protoc.main(["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"--python_out={out_dir}",
                          f"--grpc_python_out={out_dir}", str(source)])
        if rc != 0:
            raise SystemExit(f"phaze-client: protoc failed on {name}")
    for package in (out_dir / "phaze", out_dir / "phaze" / "v1"):
        (package / "__init__.py").touch()


class BuildPyWithStubs(build_py):
    def run(self):
        super().run()
        generate(Path(self.build_lib))


setup(cmdclass={"build_py": BuildPyWithStubs})
