"""Pure logic of kserve-intel: what to create, decided without Pulumi.

Nothing in this package imports Pulumi, so every decision (config, platform
profiles, catalogue, names, manifests) is testable as plain Python.
"""
