"""Data, no rules: platforms, serving stacks (pinned, with their sources), the model catalogue, KServe releases
and the Helm charts the program installs."""
