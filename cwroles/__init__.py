"""cwroles: ConnectWise PSA security roles and API members as code.

This package is the one home of the data and models shared by the emulator (``cwsim``),
the provider (``provider``), the stack programs (``stacks``) and the policy pack (``policies``):
the module/function catalog, permission levels and grids, and the vendor manifests.
"""
