"""Renders protobuf descriptors as the line format of upstream_api.txt."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

_TYPES = {
    v: k[len("TYPE_"):].lower()
    for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()
}


def compile_protos(proto_root: str, files: list[str]) -> descriptor_pb2.FileDescriptorSet:
    """Compiles .proto files with grpc_tools' bundled protoc into a descriptor set."""
    from grpc_tools import protoc
    import grpc_tools

    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        rc = protoc.main(["protoc", f"-I{proto_root}", f"-I{include}", f"--descriptor_set_out={out}", *files])
        if rc != 0:
            raise RuntimeError(f"protoc failed with {rc} for {files}")
        result = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            result.ParseFromString(f.read())
        return result


def _field_type(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type_name:
        return field.type_name
    return _TYPES[field.type]


def signature(files: descriptor_pb2.FileDescriptorSet) -> list[str]:
    lines: list[str] = []

    def message(prefix: str, msg: descriptor_pb2.DescriptorProto) -> None:
        full = f"{prefix}.{msg.name}"
        entries = {f".{full}.{n.name}": n for n in msg.nested_type if n.options.map_entry}
        lines.append(f"message {full}")
        for field in sorted(msg.field, key=lambda f: f.number):
            entry = entries.get(field.type_name)
            if entry is not None:
                key, value = sorted(entry.field, key=lambda f: f.number)
                lines.append(f"  {field.name} {field.number} map {_field_type(key)} {_field_type(value)}")
            else:
                label = "repeated" if field.label == field.LABEL_REPEATED else "optional"
                if field.HasField("proto3_optional") and field.proto3_optional:
                    label = "explicit-optional"
                lines.append(f"  {field.name} {field.number} {label} {_field_type(field)}")
        for nested in msg.nested_type:
            if not nested.options.map_entry:
                message(full, nested)
        for nested_enum in msg.enum_type:
            enum(full, nested_enum)

    def enum(prefix: str, en: descriptor_pb2.EnumDescriptorProto) -> None:
        lines.append(f"enum {prefix}.{en.name}")
        for value in en.value:
            lines.append(f"  {value.name} {value.number}")

    for file in files.file:
        for msg in file.message_type:
            message(file.package, msg)
        for en in file.enum_type:
            enum(file.package, en)
        for service in file.service:
            for method in service.method:
                lines.append(
                    f"rpc /{file.package}.{service.name}/{method.name} {method.input_type} {method.output_type} "
                    f"{str(method.client_streaming).lower()} {str(method.server_streaming).lower()}"
                )
    return lines


def read_expected(path: str) -> list[str]:
    with open(path) as f:
        return [line.rstrip() for line in f if line.strip() and not line.startswith("#")]


def blocks(lines: list[str]) -> dict[str, list[str]]:
    """Groups lines under their message/enum header (rpc lines stand alone)."""
    result: dict[str, list[str]] = {}
    header = None
    for line in lines:
        if not line.startswith("  "):
            header = line
            result[header] = []
        else:
            result[header].append(line)
    return result


if __name__ == "__main__":
    # Usage: api_signature.py PROTO_ROOT FILE...  (prints the signature lines)
    print("\n".join(signature(compile_protos(sys.argv[1], sys.argv[2:]))))
