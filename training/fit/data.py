"""Training data: gold ``GoldClause`` records of the configured splits (plus weak records when
a config asks for them) as a ``datasets.DatasetDict`` with ``train``/``dev``/``test`` splits.

Each row is one clause: its identity and text, the context a scorer sees (section, title),
the labels as a multi-hot vector in schema order, the entity spans (type as a ``ClassLabel``
of the schema's entity names), and the loss ``weight`` (1.0 gold, ``data.weak_weight`` weak).
The ``train`` split holds the gold training clauses first, then the weak ones, in file order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.errors import UserError
from inference.gold import GoldClause
from inference.records import Entity
from inference.schema import LabelSchema, default_schema
from inference.scoring.components import ClauseInput
from training.data import gold as gold_data
from training.fit.config import DataSection
from training.paths import for_record

SPLITS = ("train", "dev", "test")


def dataset_features(schema: LabelSchema | None = None) -> Any:
    """The ``datasets.Features`` of a training row."""
    import datasets

    schema = schema or default_schema()
    return datasets.Features({
        "doc_id": datasets.Value("string"),
        "clause_id": datasets.Value("int64"),
        "kind": datasets.Value("string"),
        "section": datasets.Value("string"),
        "title": datasets.Value("string"),
        "text": datasets.Value("string"),
        "labels": datasets.List(datasets.Value("int8"), length=len(schema.label_names)),
        "entities": datasets.List({
            "start": datasets.Value("int32"),
            "end": datasets.Value("int32"),
            "type": datasets.ClassLabel(names=list(schema.entity_names)),
            "text": datasets.Value("string"),
        }),
        "weight": datasets.Value("float64"),
        "weak": datasets.Value("bool"),
        # What the label head learns: the multi-hot labels, or a teacher's probabilities
        # for a weak record that carries them (``soft_label_targets``).
        "targets": datasets.List(datasets.Value("float32"), length=len(schema.label_names)),
    })


def soft_label_targets(record: GoldClause, names: Sequence[str]) -> list[float] | None:
    """A weak record's teacher probabilities in schema order (``scores``, written by
    ``labels weak --model``), or None when it has none or they do not cover every label."""
    scores = record.extra.get("scores") if record.weak else None
    if not isinstance(scores, dict) or not all(
            isinstance(scores.get(name), int | float) for name in names):
        return None
    return [min(1.0, max(0.0, float(scores[name]))) for name in names]


def build_dataset(records: Sequence[GoldClause], titles: dict[str, str] | None = None,
                  weights: Sequence[float] | None = None,
                  schema: LabelSchema | None = None, *, soft_targets: bool = False) -> Any:
    """One ``datasets.Dataset`` of clauses. A record's own ``title`` wins over ``titles``
    (document titles as ``predict`` sees them). With ``soft_targets`` a weak record's teacher
    probabilities are its label targets; otherwise every target is its multi-hot labels."""
    import datasets

    schema = schema or default_schema()
    titles = titles or {}
    weights = [1.0] * len(records) if weights is None else list(weights)
    columns: dict[str, list[Any]] = {name: [] for name in dataset_features(schema)}
    for record, weight in zip(records, weights, strict=True):
        columns["doc_id"].append(record.doc_id)
        columns["clause_id"].append(record.clause_id)
        columns["kind"].append(record.kind)
        columns["section"].append(record.section or "")
        columns["title"].append(str(record.title or titles.get(record.doc_id, "")))
        columns["text"].append(record.text)
        multi_hot = [int(name in record.labels) for name in schema.label_names]
        columns["labels"].append(multi_hot)
        soft = soft_label_targets(record, schema.label_names) if soft_targets else None
        columns["targets"].append(soft if soft is not None else [float(v) for v in multi_hot])
        columns["entities"].append([{"start": e.start, "end": e.end, "type": e.type,
                                     "text": e.text} for e in record.entities])
        columns["weight"].append(float(weight))
        columns["weak"].append(bool(record.weak))
    return datasets.Dataset.from_dict(columns, features=dataset_features(schema))


def label_targets(split: Any) -> list[list[float]]:
    """The label head's BCE targets of a split: multi-hot labels, or teacher probabilities
    for weak rows built with ``soft_targets``."""
    return [[float(v) for v in row] for row in split["targets"]]


def label_sets(split: Any, schema: LabelSchema | None = None) -> list[list[str]]:
    """The label names of each row, in schema order."""
    names = (schema or default_schema()).label_names
    return [[name for name, v in zip(names, row, strict=True) if v] for row in split["labels"]]


def entity_lists(split: Any) -> list[list[Entity]]:
    """The entity spans of each row as ``Entity`` records."""
    types = split.features["entities"].feature["type"]
    return [[Entity(start=e["start"], end=e["end"], type=types.int2str(e["type"]),
                    text=e["text"]) for e in row] for row in split["entities"]]


def clause_inputs_of(split: Any) -> list[ClauseInput]:
    """What a scorer sees of each row: text, heading path and document title."""
    return [ClauseInput(text=text, section=section, title=title)
            for text, section, title in zip(split["text"], split["section"], split["title"],
                                            strict=True)]


def clause_inputs(records: Sequence[GoldClause], titles: dict[str, str]) -> list[ClauseInput]:
    """What a scorer sees of each record: text, heading path and the document title (a
    record's own ``title`` field wins)."""
    return [ClauseInput(text=r.text, section=r.section or "",
                        title=str(r.title or titles.get(r.doc_id, ""))) for r in records]


@dataclass
class TrainingData:
    """Gold train/dev/test records (plus weak training records when the config asks for them)
    and the ``DatasetDict`` the trainers read."""

    train: list[GoldClause]
    dev: list[GoldClause]
    test: list[GoldClause] = field(default_factory=list)
    weak: list[GoldClause] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    weak_weight: float = 1.0
    weak_soft_targets: bool = False
    titles: dict[str, str] = field(default_factory=dict)
    _dataset: Any = field(default=None, repr=False)

    def train_with_weights(self, weak_weight: float | None = None
                           ) -> list[tuple[GoldClause, float]]:
        weight = self.weak_weight if weak_weight is None else weak_weight
        return [(r, 1.0) for r in self.train] + [(r, weight) for r in self.weak]

    @property
    def dataset(self) -> Any:
        """``datasets.DatasetDict``: train (gold, then weak), dev and test (built once)."""
        if self._dataset is None:
            import datasets

            weighted = self.train_with_weights()
            self._dataset = datasets.DatasetDict({
                "train": build_dataset([r for r, _ in weighted], self.titles,
                                       [w for _, w in weighted],
                                       soft_targets=self.weak_soft_targets),
                "dev": build_dataset(self.dev, self.titles),
                "test": build_dataset(self.test, self.titles),
            })
        return self._dataset


def _read_checked(path: Path) -> list[GoldClause]:
    records, problems = gold_data.check_records(gold_data.read_jsonl(path), str(path))
    if problems:
        raise UserError(f"{path}: {len(problems)} problem(s), first: {problems[0]} "
                         "(run 'policy-clauses labels validate')")
    return records


def load_training_data(section: DataSection, *, with_titles: bool = False) -> TrainingData:
    """Records of the configured splits, validated; weak records only when ``weak_path`` is
    set, minus any clause of a gold document (dev/test documents must stay unseen, and on a
    train document the gold wins), capped at ``weak_max_clauses`` by whole documents.
    ``with_titles`` reads document titles from ``documents_path`` (for title context)."""
    for path in (section.gold_path, section.splits_path):
        if not Path(path).is_file():
            raise UserError(
                f"{path} not found: build the gold data first ('policy-clauses labels build', "
                "'policy-clauses labels splits') or set data.gold_path / data.splits_path")
    records = _read_checked(Path(section.gold_path))
    splits = gold_data.load_splits(Path(section.splits_path))
    train = gold_data.records_for_split(records, section.train_split, splits)
    if section.train_share < 1.0:
        train = documents_share(train, section.train_share)
    dev = gold_data.records_for_split(records, section.dev_split, splits)
    test = gold_data.records_for_split(records, "test", splits)
    if not train:
        raise UserError(f"split {section.train_split!r} of {section.splits_path} has no clauses "
                         f"in {section.gold_path}")
    weak: list[GoldClause] = []
    manifest = data_manifest(section)
    manifest.update(weak_sha256=None, weak_dropped_held_out=None)
    if section.weak_path is not None:
        held_out = {d for name, ids in splits.items() if name != section.train_split for d in ids}
        gold_docs = {r.doc_id for r in records}
        raw = _read_checked(Path(section.weak_path))
        outside_held_out = [r for r in raw if r.doc_id not in held_out]
        outside_gold = [r for r in outside_held_out if r.doc_id not in gold_docs]
        weak = (outside_gold if section.weak_max_clauses is None
                else clauses_cap(outside_gold, section.weak_max_clauses))
        manifest["weak_sha256"] = gold_data.file_sha256(Path(section.weak_path))
        manifest["weak_dropped_held_out"] = len(raw) - len(outside_held_out)
        manifest["weak_dropped_gold_train"] = len(outside_held_out) - len(outside_gold)
        manifest["weak_soft_targets"] = sum(
            soft_label_targets(r, default_schema().label_names) is not None
            for r in weak) if section.weak_soft_targets else 0
    manifest.update({"train_clauses": len(train), "dev_clauses": len(dev),
                     "weak_clauses": len(weak),
                     "train_documents": len({r.doc_id for r in train}),
                     "dev_documents": len({r.doc_id for r in dev})})
    titles = document_titles(section.documents_path if with_titles else None,
                             {r.doc_id for r in train + dev + test + weak})
    return TrainingData(train=train, dev=dev, test=test, weak=weak, manifest=manifest,
                        weak_weight=section.weak_weight,
                        weak_soft_targets=section.weak_soft_targets, titles=titles)


def document_order_key(doc_id: str) -> str:
    """The fixed order in which samples take documents: sha256 of the id (unrelated to
    corpus, date or name, and the same on every machine)."""
    import hashlib

    return hashlib.sha256(doc_id.encode("utf-8")).hexdigest()


def clauses_cap(records: Sequence[GoldClause], cap: int) -> list[GoldClause]:
    """Whole documents in sha256-of-id order while their clauses fit under ``cap`` (at least
    one document): a fixed sample, the same documents for the same cap."""
    by_doc: dict[str, list[GoldClause]] = {}
    for record in records:
        by_doc.setdefault(record.doc_id, []).append(record)
    kept: list[GoldClause] = []
    for doc_id in sorted(by_doc, key=document_order_key):
        if kept and len(kept) + len(by_doc[doc_id]) > cap:
            continue
        kept.extend(by_doc[doc_id])
    return kept


def documents_share(records: Sequence[GoldClause], share: float) -> list[GoldClause]:
    """The records of the first ``share`` of their documents in sha256-of-id order: a fixed
    sample of whole documents, where a smaller share is part of a larger one."""
    import math

    doc_ids = sorted({r.doc_id for r in records}, key=document_order_key)
    keep = set(doc_ids[:max(1, math.ceil(share * len(doc_ids)))])
    return [r for r in records if r.doc_id in keep]


def data_manifest(section: DataSection) -> dict[str, Any]:
    """What identifies the data a model learnt from: hashes of gold.jsonl and splits.json."""
    return {
        "gold_path": for_record(section.gold_path),
        "gold_sha256": gold_data.file_sha256(Path(section.gold_path)),
        "splits_path": for_record(section.splits_path),
        "splits_sha256": gold_data.file_sha256(Path(section.splits_path)),
    }


def document_titles(documents_path: Path | None, doc_ids: set[str]) -> dict[str, str]:
    """Titles of documents as ``predict`` sees them (``meta["title"]`` after cleaning), so a
    model trained with title context gets the same string at serve time."""
    if documents_path is None or not Path(documents_path).is_file() or not doc_ids:
        return {}
    from inference.records import ErrorRecord
    from inference.text.ingest import iter_jsonl_lines
    from inference.text.pipeline import EmptyDocumentError, build_document

    titles: dict[str, str] = {}
    with Path(documents_path).open(encoding="utf-8") as handle:
        for raw in iter_jsonl_lines(handle, str(documents_path)):
            if isinstance(raw, ErrorRecord) or raw.doc_id not in doc_ids:
                continue
            try:
                titles[raw.doc_id] = str(build_document(raw).meta.get("title", "") or "")
            except EmptyDocumentError:
                continue
    return titles
