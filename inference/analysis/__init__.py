"""What predictions mean: amounts in yuan (money), time expressions on a calendar (times),
who must do what (duties), one card per document (card) and a corpus view (corpus_report)."""
