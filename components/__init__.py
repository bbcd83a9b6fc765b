"""Pulumi ComponentResources: how the planned objects reach the cluster.

Each component only wires manifests from `kserve_intel.builders` into
pulumi_kubernetes resources, with parents, dependencies, secrets and timeouts.
"""

from .hub_access import verify_hub_access
from .image_pins import images_output, pin_images
from .intel_runtimes import IntelRuntimes
from .kserve_operator import KServeOperator
from .local_model_cache import LocalModelCaches
from .model_deployment import ModelDeployment
from .model_namespace import ModelNamespace
from .monitoring import Monitoring
from .network_isolation import NetworkIsolation
from .ownership import check_ownership
from .serving_dependencies import ServingDependencies
from .stack_config import read_stack_plan
from .traffic import TrafficRoutes

__all__ = [
    "IntelRuntimes", "KServeOperator", "LocalModelCaches", "ModelDeployment", "ModelNamespace", "Monitoring",
    "NetworkIsolation", "ServingDependencies", "TrafficRoutes", "check_ownership", "images_output", "pin_images",
    "read_stack_plan", "verify_hub_access",
]
