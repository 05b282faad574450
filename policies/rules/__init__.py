"""cwroles policy rules, importable without starting a policy-pack server."""

from .pack import (DOCS, PACK_ERRORS, PACK_NAME, POLICIES, admin_role, api_member_role, broad_writes, least_privilege,
                   pack_errors, privileged_functions, table_setup_allowlist, vendor_requirement, waived_grants)

__all__ = ["DOCS", "PACK_ERRORS", "PACK_NAME", "POLICIES", "admin_role", "api_member_role", "broad_writes",
           "least_privilege", "pack_errors", "privileged_functions", "table_setup_allowlist", "vendor_requirement",
           "waived_grants"]
