"""kserve-intel guardrails: `pulumi preview --policy-pack policy`.

The policies live in `kserve_intel_policies.py` (importable and unit-tested);
constructing the PolicyPack starts the analyzer server the Pulumi CLI talks to.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from kserve_intel_policies import POLICIES

PolicyPack(
    name="kserve-intel-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
