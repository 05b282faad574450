"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> policies`): serves the pack.

Only this file creates the PolicyPack (its constructor starts the gRPC server and blocks).
"""

import os
import sys

try:
    from cwroles.policies.rules import PACK_NAME, POLICIES
except ImportError:  # the project is not installed in this interpreter: import it from the repository
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from cwroles.policies.rules import PACK_NAME, POLICIES

from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="cwroles PR gate: ConnectWise PSA security roles and API members stay within each vendor's "
                "published requirement; exceptions need explicit waivers.",
    display_name="cwroles ConnectWise security-role policies",
)
