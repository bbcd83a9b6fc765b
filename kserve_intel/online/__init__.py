"""Read-only lookups at deploy time (`pulumi preview` and `up`): the Hugging Face hub and the MLflow registry.

Plain Python with `requests` (proxies from the environment); no Pulumi. Offline renders never call them.
"""
