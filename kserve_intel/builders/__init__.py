"""Pure functions from a plan to Kubernetes manifests (plain dicts).

Builders decide every field; components only decide how a manifest reaches the
cluster (resource type, options, ordering).
"""
