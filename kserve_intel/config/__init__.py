"""The stack configuration as pydantic models: one module per config section, the shared value types
(values.py) and the JSON schema generator (schema.py). Cross-key rules live in rules/, loading in load.py."""
