"""cwroles policy rules, importable without starting a policy-pack server."""

from .pack import (DOCS, PACK_ERRORS, PACK_NAME, POLICIES, admin_role, api_member_role, least_privilege,
                   pack_errors, privileged_functions, table_setup_allowlist, waived_grants)

__all__ = ["DOCS", "PACK_ERRORS", "PACK_NAME", "POLICIES", "admin_role", "api_member_role", "least_privilege",
           "pack_errors", "privileged_functions", "table_setup_allowlist", "waived_grants"]
