"""Descriptor-level check: our dev/protos declare exactly upstream's wire API."""
import os

import pytest

from api_signature import blocks, compile_protos, read_expected, signature

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROTOS = os.path.join(ROOT, "dev", "protos")
FILES = [
    "connection.proto",
    "connectioncontext.proto",
    "networkservice.proto",
    "registry.proto",
    "ipam.proto",
    "grpc/health/v1/health.proto",
]


@pytest.fixture(scope="module")
def ours():
    return blocks(signature(compile_protos(PROTOS, FILES)))


@pytest.fixture(scope="module")
def expected():
    return blocks(read_expected(os.path.join(HERE, "upstream_api.txt")))


def test_every_upstream_declaration_exists(ours, expected):
    missing = sorted(set(expected) - set(ours))
    assert not missing, f"declared upstream but missing from dev/protos: {missing}"


def test_no_extra_declarations(ours, expected):
    extra = sorted(set(ours) - set(expected))
    assert not extra, f"declared in dev/protos but not upstream: {extra}"


def test_fields_and_values_identical(ours, expected):
    for header, lines in expected.items():
        assert ours.get(header) == lines, f"{header}: ours {ours.get(header)} != upstream {lines}"


def test_packages_and_files():
    files = compile_protos(PROTOS, FILES)
    packages = {f.name: f.package for f in files.file}
    assert packages == {
        "connection.proto": "connection",
        "connectioncontext.proto": "connectioncontext",
        "networkservice.proto": "networkservice",
        "registry.proto": "registry",
        "ipam.proto": "ipam",
        "grpc/health/v1/health.proto": "grpc.health.v1",
    }
    assert all(f.syntax == "proto3" for f in files.file)
