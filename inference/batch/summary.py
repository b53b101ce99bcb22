"""A short human summary of a predict output file: documents, clauses, labels, entities."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarize(path: Path) -> str:
    docs = 0
    counts: Counter[str] = Counter()
    entity_counts: Counter[str] = Counter()
    flagged = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs += 1
            if record.get("quality", {}).get("mojibake"):
                flagged.append(record["source"])
            for clause in record["clauses"]:
                counts["clauses"] += 1
                counts.update(clause.get("labels", []))
                entity_counts.update(e["type"] for e in clause.get("entities", []))
    lines = [f"{path}: {docs} documents, {counts.pop('clauses', 0)} clauses"]
    lines.append("  labels:   " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    lines.append("  entities: " + ", ".join(f"{k} {v}" for k, v in entity_counts.most_common()))
    if flagged:
        lines.append("  mojibake flagged in: " + ", ".join(flagged))
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1])))
