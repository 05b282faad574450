"""Where the bundled emulator listens and who its bootstrap administrator is.

One home for the convention shared by ``cwsim`` (which creates this tenant and member) and the
provider (which falls back to it when no real tenant is configured). These are an emulator's
well-known test keys, never a real tenant's.
"""

import os

HOST = "127.0.0.1"
# Overridable so that tests (and a second copy of the project) can run their own default emulator.
PORT = int(os.environ.get("CWROLES_EMULATOR_PORT", "8765"))
SITE = f"http://{HOST}:{PORT}"
COMPANY_ID = "cwroles"
CODEBASE = "v4_6_release/"
CLIENT_ID = "00000000-0000-4000-8000-00000000c0de"
ADMIN_IDENTIFIER = "cwadmin"
ADMIN_PUBLIC_KEY = "cwsimAdminPublic"
ADMIN_PRIVATE_KEY = "cwsimAdminPrivateKey"
DB_PATH = ".cwsim/tenant.sqlite"
