"""Label data of policy-clauses: schema.yaml is read through ``inference.schema``."""
