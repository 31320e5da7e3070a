"""deploy/: every kustomization renders with `kubectl kustomize`, every object passes
kubernetes-validate --strict (custom resources: the schema of our own CRDs), every command in
the manifests is one the CLI has, and every environment variable they set is one the command
reads (named in its --help) or one another value refers to as $(NAME)."""
import os
import re
import subprocess

import jsonschema
import pytest
import yaml

from conftest import ROOT, nsm_binary
from webhook_support import validate

DEPLOY = os.path.join(ROOT, "deploy")
KUSTOMIZATIONS = sorted(os.path.relpath(d, DEPLOY) for d, _, files in os.walk(DEPLOY) if "kustomization.yaml" in files)


def render(directory):
    result = subprocess.run(["kubectl", "kustomize", os.path.join(DEPLOY, directory)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def crd_schemas():
    schemas = {}
    for name in os.listdir(os.path.join(DEPLOY, "crds")):
        if not name.endswith(".yaml") or name == "kustomization.yaml":
            continue
        crd = yaml.safe_load(open(os.path.join(DEPLOY, "crds", name)))
        for version in crd["spec"]["versions"]:
            key = (f'{crd["spec"]["group"]}/{version["name"]}', crd["spec"]["names"]["kind"])
            schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def containers(obj):
    spec = obj.get("spec") or {}
    template = (spec.get("jobTemplate") or {}).get("spec", {}).get("template") or spec.get("template") or {"spec": spec}
    pod = template.get("spec") or {}
    return (pod.get("initContainers") or []) + (pod.get("containers") or [])


def test_every_kustomization_is_found():
    assert {".", "crds", "registry", "node", "webhook", "examples"} <= set(KUSTOMIZATIONS)


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_rendered_objects_are_valid(directory):
    objects = render(directory)
    assert objects
    schemas = crd_schemas()
    builtin = []
    for obj in objects:
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        if schema is not None:
            jsonschema.validate(obj, schema)  # our CRD's structural schema (OpenAPI v3 subset)
        else:
            builtin.append(obj)
    if builtin:
        validate(*builtin)


def help_text(arguments):
    """`nsm <subcommand…> --help`, and the arguments that are flags."""
    words = [a for a in arguments if not a.startswith("-")]
    result = subprocess.run([nsm_binary(), *words, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"nsm {' '.join(words)}: {result.stderr}"
    return result.stdout


@pytest.mark.parametrize("directory", [".", "examples"])
def test_commands_and_environment_are_ones_the_binary_has(directory):
    checked = 0
    for obj in render(directory):
        for container in containers(obj):
            if "nsm" not in container["image"]:
                continue
            arguments = container.get("command", [])[1:] + container.get("args", [])
            text = help_text(arguments)
            for flag in (a.split("=")[0] for a in arguments if a.startswith("--")):
                assert flag in text, f"{obj['kind']}/{obj['metadata']['name']} {container['name']}: nsm {' '.join(arguments)}: no flag {flag}"
            values = " ".join(str(e.get("value", "")) for e in container.get("env", [])) + " " + " ".join(arguments)
            referenced = set(re.findall(r"\$\(([A-Z_]+)\)", values))
            for variable in (e["name"] for e in container.get("env", [])):
                assert re.search(rf"\b{variable}\b", text) or variable in referenced, \
                    f"{obj['kind']}/{obj['metadata']['name']} {container['name']}: {variable} is read by no one (nsm {' '.join(arguments)} --help does not name it)"
            checked += 1
    assert checked >= (4 if directory == "." else 3)
