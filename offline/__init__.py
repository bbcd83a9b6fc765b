"""Run the real Pulumi program without a cluster, credentials or the Pulumi CLI.

The same `__main__.py` that `pulumi up` runs is evaluated against Pulumi's
in-process mock engine; what it registers is recorded. Tests, the offline
render and the benchmark all go through `offline.engine.evaluate`.
"""
