"""cwroles' Pulumi policy pack: the pull-request gate for ConnectWise PSA security roles.

The rules live in :mod:`policies.rules` (importable, testable without the Pulumi engine); the
``PolicyPack`` itself is only created in ``policies/__main__.py``, which the Pulumi CLI runs.
``python -m cwroles.policies.report`` turns a preview's policy results into Markdown and SARIF.
"""
