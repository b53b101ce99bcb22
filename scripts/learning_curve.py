"""Learning curve of the shared-encoder model: dev scores against the share of train documents.

    for share in 0.25 0.5 1.0; do
      policy-clauses train joint --config configs/joint.yaml --data.train_share $share \
          --train.epochs 2 --output.dir out/lc/share-$share
    done
    python scripts/learning_curve.py out/lc/share-0.25 out/lc/share-0.5 out/lc/share-1.0 \
        --split test --plot labels/learning_curve.png

Reads each model folder's metadata (train documents and clauses; with ``--split dev``, the
best epoch's dev scores) or scores it on the test split through ``policy-clauses evaluate``'s
code (``--split test``, the default; the curve measures, it chooses nothing), prints a
Markdown table of label micro-F1, per-label F1, entity F1 and per-type F1, and draws the
curve.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inference.scoring.model_folder import read_meta


def point(folder: Path, split: str = "test") -> dict[str, float | int]:
    classifier, tagger = read_meta(folder / "classifier"), read_meta(folder / "tagger")
    labels, entities = classifier.metrics["dev"], tagger.metrics["dev"]
    if split != "dev":
        from training.eval.evaluate import evaluate

        scored = evaluate(folder, split, baseline=False).to_dict()["model"]
        labels = {"micro_f1": scored["micro_f1"], "labels": scored["labels"]}
        entities = {**scored["entities"], "micro": {"f1": scored["entity_micro_f1"]}}
    return {
        "share": float(classifier.config["data"].get("train_share", 1.0)),
        "documents": classifier.data.train_documents,
        "clauses": classifier.data.train_clauses,
        "epochs": classifier.training.epochs,
        "label_micro_f1": float(labels["micro_f1"]),
        **{f"{name}_f1": float(row["f1"]) for name, row in labels["labels"].items()},
        "entity_f1": float(entities["micro"]["f1"]),
        **{f"{name}_f1": float(row["f1"]) for name, row in entities.items() if name != "micro"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    points = sorted((point(f, args.split) for f in args.folders), key=lambda p: p["share"])
    keys = [k for k in points[0] if k.endswith("_f1")]
    print("| train share | documents | clauses | epochs | " + " | ".join(keys) + " |")
    print("|---" * (4 + len(keys)) + "|")
    for p in points:
        print(f"| {p['share']:.0%} | {p['documents']} | {p['clauses']} | {p['epochs']} | "
              + " | ".join(f"{p[k]:.3f}" for k in keys) + " |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        x = [p["clauses"] for p in points]
        for key in keys:
            ax.plot(x, [p[key] for p in points], marker="o",
                    linewidth=2.5 if key in ("label_micro_f1", "entity_f1") else 1,
                    label=key.removesuffix("_f1"))
        ax.set_xlabel("train clauses (whole documents)")
        ax.set_ylabel(f"{args.split} F1")
        ax.set_title("shared-encoder model, 2 epochs per point")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
