"""The label schema, read from labels/schema.yaml: the one place label names come from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml


@dataclass(frozen=True)
class LabelDef:
    name: str
    zh: str
    definition: str
    cues: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelSchema:
    version: int
    clause_labels: tuple[LabelDef, ...]
    entity_types: tuple[LabelDef, ...]
    clause_kinds: tuple[str, ...]

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.clause_labels]

    @property
    def entity_names(self) -> list[str]:
        return [entity.name for entity in self.entity_types]

    @property
    def bio_tags(self) -> list[str]:
        """IOB2 tags for the tagger, ``O`` first so that id 0 means outside."""
        tags = ["O"]
        for name in self.entity_names:
            tags += [f"B-{name}", f"I-{name}"]
        return tags

    def check_labels(self, labels: list[str], where: str) -> None:
        unknown = sorted(set(labels) - set(self.label_names))
        if unknown:
            raise ValueError(
                f"{where}: unknown clause label(s) {unknown}; labels/schema.yaml defines "
                f"{self.label_names}"
            )


def _parse(data: dict) -> LabelSchema:
    def defs(items: list[dict]) -> tuple[LabelDef, ...]:
        return tuple(
            LabelDef(
                name=item["name"],
                zh=item["zh"],
                definition=item["definition"],
                cues=tuple(item.get("cues", ())),
            )
            for item in items
        )

    return LabelSchema(
        version=int(data["version"]),
        clause_labels=defs(data["clause_labels"]),
        entity_types=defs(data["entity_types"]),
        clause_kinds=tuple(data["clause_kinds"]),
    )


def load_schema(path: str | Path | None = None) -> LabelSchema:
    """Load a schema file; without a path, the project's labels/schema.yaml."""
    if path is None:
        return default_schema()
    return _parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_schema() -> LabelSchema:
    text = resources.files("labels").joinpath("schema.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text))
