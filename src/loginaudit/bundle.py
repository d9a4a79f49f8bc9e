"""One self-contained OpenAPI document from one that refers into a sibling document.

Microsoft publishes Graph's `beta` beside `v1.0` as a separate document; ours (`entra-beta.yaml`) says only
what beta adds and refers to `entra.yaml` for the rest (`$ref: "entra.yaml#/components/..."`), so nothing
is written twice. Connexion, openapi-core and the served `openapi.json` want one document: the referred
components are copied in under their own names (the referring document's name wins a clash; the copy is
then named `<file stem>_<name>`) and the references made local. A component that is nothing but a
reference to another document's (`bearerAuth: {$ref: "entra.yaml#/components/securitySchemes/bearerAuth"}`)
becomes that component.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml


def bundled(doc: dict[str, Any], directory: pathlib.Path) -> dict[str, Any]:
    """`doc` with every reference into another document of `directory` replaced by a local one."""
    own = doc.get("components", {})
    copied: dict[str, dict[str, Any]] = {}  # section -> name -> component, copied from other documents
    sources: dict[str, dict[str, Any]] = {}
    placed: dict[tuple[str, str], str] = {}

    def load(name: str) -> dict[str, Any]:
        if name not in sources:
            if "/" in name or not name.endswith(".yaml"):
                raise ValueError(f"only sibling documents can be referred to: {name!r}")
            with open(directory / name, encoding="utf-8") as fh:
                sources[name] = yaml.safe_load(fh)
        return sources[name]

    def place(source: str, pointer: str) -> str:
        """The local pointer of `source`'s component at `pointer`, copying it in on first use."""
        if (source, pointer) in placed:
            return placed[(source, pointer)]
        parts = pointer.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "components":
            raise ValueError(f"only components can be referred to: {source}#{pointer}")
        section = copied.setdefault(parts[1], {})
        name = parts[2] if parts[2] not in own.get(parts[1], {}) else f"{pathlib.Path(source).stem}_{parts[2]}"
        local = f"#/components/{parts[1]}/{name}"
        placed[(source, pointer)] = local
        section[name] = {}  # reserved before walking, so a component that refers to itself terminates
        section[name] = walk(load(source)["components"][parts[1]][parts[2]], source)
        return local

    def walk(node: Any, source: str | None) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                file, _, pointer = ref.partition("#")
                if file or source is not None:
                    return {**node, "$ref": place(file or str(source), pointer)}
            return {k: walk(v, source) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, source) for v in node]
        return node

    taken: dict[tuple[str, str], tuple[str, str]] = {}  # (section, name) -> (document, pointer)
    for section, components in own.items():  # whole components taken from another document keep their name
        for name, node in components.items():
            if isinstance(node, dict) and list(node) == ["$ref"] and not node["$ref"].startswith("#"):
                file, _, pointer = node["$ref"].partition("#")
                placed[(file, pointer)] = f"#/components/{section}/{name}"
                taken[(section, name)] = (file, pointer)
    out: dict[str, Any] = {k: walk(v, None) for k, v in doc.items()}
    for (section, name), (file, pointer) in taken.items():
        target: Any = load(file)
        for part in pointer.strip("/").split("/"):
            target = target[part]
        out["components"][section][name] = walk(target, file)
    for section, components in copied.items():
        out.setdefault("components", {}).setdefault(section, {}).update(components)
    return out
