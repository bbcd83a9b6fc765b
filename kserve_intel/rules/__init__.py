"""Cross-key and resolved-value rules, one module per feature (named as its config section and its page in docs/).

A feature's module holds how its config resolves against the catalog (which serving stack a model runs,
which autoscaling engine, which adapters) together with what it refuses, because the refusal is a by-product
of resolving. load.py runs the config-time checks; plan.py calls the resolved-value ones as it resolves.
Every problem is a `ConfigIssue` with its key path; nothing here imports Pulumi or plan.py.
"""
