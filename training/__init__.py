"""policy-clauses training side: gold and weak data, training, evaluation."""
