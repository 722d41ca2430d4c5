"""Plugin hooks (the pipeline arrives with its own issue)."""
