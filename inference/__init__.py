"""policy-clauses runtime: ingest → clean → segment → classify/tag → export."""

__version__ = "0.1.0"
