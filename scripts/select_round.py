"""Choose the documents of an annotation round and write their sheets (training/data/selection.py).

    python scripts/select_round.py OUT_DIR [--model models/default] [--corpus ../shared/data/corpus]

Writes OUT_DIR/chosen.jsonl (one row per document: corpus, layout, clauses, cue counts, model
uncertainty, the reason it was chosen), OUT_DIR/documents.jsonl (the documents as
labels/documents.jsonl stores them), OUT_DIR/drafts/<doc>.txt (sheets with the model's labels
and mentions as proposals, for first annotators) and OUT_DIR/blank/<doc>.txt (empty sheets, for
a second, independent annotator). Round 2 used the quotas below and --model models/default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inference.scoring.models import load_scorer
from inference.scoring.runtime import configure_threads
from training.data.gold import DOCUMENTS_PATH, LABELS_DIR
from training.data.selection import candidate_row, run_round
from training.data.sheets import render_sheet

ROOT = Path(__file__).resolve().parents[1]
QUOTAS = {"st_policies": 28, "mee_documents": 20, "govcn_documents": 10, "st_laws": 8,
          "city_work_reports_2024": 3, "national_work_reports": 2, "jiangxi_notices": 8,
          "digital_plans": 1}
# Round 3: small money-dense documents, for AMOUNT spans (the scarcest entity) and documents.
QUOTAS_AMOUNT = {"st_policies": 12, "mee_documents": 14, "govcn_documents": 6, "st_laws": 2,
                 "jiangxi_notices": 2}
# Round 4: the documents with the most money in all, whatever their length. Round 3 showed that
# small documents are money-poor; in this corpus the sums sit in work reports (budgets, output,
# subsidies) and in a few laws with fines.
QUOTAS_MONEY = {"city_work_reports_2024": 4, "national_work_reports": 1, "st_laws": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default=None, help="score the chosen documents (proposals)")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "data" / "corpus")
    parser.add_argument("--max-clauses", type=int, default=350)
    parser.add_argument("--focus", choices=("labels", "amount", "money"), default="labels",
                        help="labels: rare-label cues (round 2); amount: AMOUNT mentions per "
                        "clause, with the round-3 quotas; money: AMOUNT mentions in all, with "
                        "the round-4 quotas")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="more documents files (documents.jsonl of rounds not yet in the "
                        "gold data) whose documents must not be chosen again")
    parser.add_argument("--quota", action="append", default=[], metavar="CORPUS=N",
                        help="documents to choose from CORPUS (repeatable); replaces the "
                        "focus's quotas")
    parser.add_argument("--only", nargs="*", default=None, metavar="DOC_ID",
                        help="choose among these documents only (a round picked by hand, e.g. "
                        "from a ranking of rule cues); quotas still apply per corpus")
    args = parser.parse_args()

    def ids(path: Path) -> set[str]:
        return {json.loads(line)["id"] for line in path.open(encoding="utf-8") if line.strip()}

    exclude = (ids(DOCUMENTS_PATH) | ids(LABELS_DIR / "segmentation" / "sources.jsonl")
               | ids(LABELS_DIR / "segmentation_heldout" / "sources.jsonl"))
    for path in args.exclude:
        exclude |= ids(path)
    if args.only is not None:
        exclude |= {doc_id for path in sorted(args.corpus.glob("*.jsonl"))
                    for doc_id in ids(path)} - set(args.only)
    configure_threads(None)
    scorer = load_scorer(args.model, fast="bf16") if args.model else None
    quotas = {"amount": QUOTAS_AMOUNT, "money": QUOTAS_MONEY}.get(args.focus, QUOTAS)
    if args.quota:
        quotas = {name: int(count) for name, count in (q.split("=", 1) for q in args.quota)}
    chosen, documents = run_round(sorted(args.corpus.glob("*.jsonl")), exclude, quotas,
                                  max_clauses=args.max_clauses, focus=args.focus, scorer=scorer)
    texts = {}
    for path in sorted(args.corpus.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            texts[str(record["id"])] = (path.stem, record)
    for folder in ("drafts", "blank"):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
    with (args.out / "chosen.jsonl").open("w", encoding="utf-8") as rows, \
            (args.out / "documents.jsonl").open("w", encoding="utf-8") as docs:
        for candidate in chosen:
            rows.write(json.dumps(candidate_row(candidate), ensure_ascii=False) + "\n")
            corpus, record = texts[candidate.doc_id]
            docs.write(json.dumps({"id": record["id"], "text": record["text"],
                                   "provenance": record.get("provenance"), "corpus": corpus},
                                  ensure_ascii=False) + "\n")
            clauses = documents[candidate.doc_id].clauses
            (args.out / "drafts" / f"{candidate.doc_id}.txt").write_text(
                render_sheet(candidate.doc_id, corpus, clauses), encoding="utf-8")
            for clause in clauses:
                clause.labels, clause.entities = [], []
            (args.out / "blank" / f"{candidate.doc_id}.txt").write_text(
                render_sheet(candidate.doc_id, corpus, clauses), encoding="utf-8")
    print(f"{len(chosen)} documents, {sum(c.clauses for c in chosen)} clauses → {args.out}")


if __name__ == "__main__":
    main()
