"""The model registry: groups, versions, approvals and lineage, kept in the store."""
