"""Load our doccano JSONL with doccano's own import pipeline, edit, export with doccano's exporter.

Run with the doccano environment's Python (scripts/setup_doccano.sh), not the project's:

    .venv-doccano/bin/python scripts/doccano_roundtrip.py --task classification \
        --input clauses.jsonl --workdir /tmp/dc --edit '{"clause_id": 3, "add": "goal"}'

It migrates a throwaway SQLite database in --workdir, creates a project of the matching type,
imports the file through ``data_import.datasets.load_dataset`` (the code doccano's upload runs),
optionally applies reviewer edits through doccano's models, exports through
``data_export``'s formatters and JSONL writer (the code doccano's download runs) to
``<workdir>/<username>.jsonl``, and prints a JSON summary: import errors, counts, the path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _setup(workdir: Path) -> None:
    import backend

    # doccano's apps are top-level packages (labels, projects, examples …); run from the work
    # folder so a caller's own packages of the same name (ours has labels/) cannot shadow them.
    os.chdir(workdir)
    sys.path.insert(0, str(Path(backend.__file__).parent))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.development"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'doccano.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("create_roles", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["classification", "ner"], required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--username", default="reviewer1")
    parser.add_argument("--edit", action="append", default=[],
                        help='JSON: {"clause_id": N, "add": LABEL} or {"clause_id": N, '
                        '"remove": LABEL} (classification); {"clause_id": N, "add_span": '
                        '[s, e, T]} or {"clause_id": N, "remove_span": [s, e, T]} (ner)')
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    args.input = str(Path(args.input).resolve())
    workdir.mkdir(parents=True, exist_ok=True)
    _setup(workdir)

    from data_export.models import ExportedExample
    from data_export.pipeline.dataset import Dataset
    from data_export.pipeline.factories import (
        create_comment,
        create_formatter,
        create_labels,
        create_writer,
    )
    from data_export.pipeline.services import ExportApplicationService
    from data_import.datasets import load_dataset
    from data_import.pipeline.catalog import create_file_format
    from data_import.pipeline.readers import FileName
    from django.contrib.auth import get_user_model
    from examples.models import Example
    from label_types.models import CategoryType, SpanType
    from labels.models import Category, Span
    from projects.models import ProjectType, SequenceLabelingProject, TextClassificationProject

    user = get_user_model().objects.create_user(args.username, password="x")
    if args.task == "classification":
        project = TextClassificationProject.objects.create(
            name="policy-clauses", created_by=user,
            project_type=ProjectType.DOCUMENT_CLASSIFICATION)
    else:
        project = SequenceLabelingProject.objects.create(
            name="policy-clauses", created_by=user, project_type=ProjectType.SEQUENCE_LABELING)
    project.add_admin()

    dataset = load_dataset(project.project_type, create_file_format("JSONL"),
                           [FileName(full_path=args.input, generated_name=args.input,
                                     upload_name=Path(args.input).name)],
                           project, column_data="text", column_label="label")
    dataset.save(user, batch_size=1000)
    errors = [e.dict() for e in dataset.errors]

    examples = {ex.meta.get("clause_id"): ex for ex in Example.objects.filter(project=project)}
    for raw in args.edit:
        edit = json.loads(raw)
        example = examples[edit["clause_id"]]
        if "add" in edit:
            ctype, _ = CategoryType.objects.get_or_create(project=project, text=edit["add"])
            Category.objects.create(example=example, user=user, label=ctype)
        if "remove" in edit:
            Category.objects.filter(example=example, label__text=edit["remove"]).delete()
        if "add_span" in edit:
            start, end, label = edit["add_span"]
            stype, _ = SpanType.objects.get_or_create(project=project, text=label)
            Span.objects.create(example=example, user=user, label=stype, start_offset=start,
                                end_offset=end)
        if "remove_span" in edit:
            start, end, label = edit["remove_span"]
            Span.objects.filter(example=example, start_offset=start, end_offset=end,
                                label__text=label).delete()

    # what data_export.celery_tasks.create_individual_dataset does for one member
    exported = ExportedExample.objects.filter(project=project)
    export_set = Dataset(exported, create_labels(project, exported, user),
                         create_comment(exported, user), project.is_text_project)
    writer = create_writer("JSONL")
    out = workdir / f"{args.username}.{writer.extension}"
    ExportApplicationService(export_set, create_formatter(project, "JSONL"), writer).export(
        str(out))

    counts = {"examples": Example.objects.filter(project=project).count(),
              "categories": Category.objects.filter(example__project=project).count(),
              "spans": Span.objects.filter(example__project=project).count()}
    print(json.dumps({"errors": errors, "counts": counts, "export": str(out)},
                     ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
