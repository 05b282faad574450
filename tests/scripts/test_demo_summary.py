"""`make demo` narrates the CLI's output: the number of checklist items it reports is the error's own count."""

from scripts.demo import _summary

ERROR = """Updating (msp-process):
 +  pulumi-python:dynamic/connectwise:ApiMember msp-process-api-member created (1s)
 +  pulumi-python:dynamic/connectwise:RolePermissions msp-process-permissions **creating failed** error: Exception calling application: Security role 'MSP Process' (id 2) in ConnectWise company 'cwroles' at http://127.0.0.1:8765 does not match the code: 13 settings differ. ...
Diagnostics:
  pulumi-python:dynamic/connectwise:RolePermissions (msp-process-permissions):
    error: Exception calling application: Security role 'MSP Process' (id 2) in ConnectWise company 'cwroles' at http://127.0.0.1:8765 does not match the code: 13 settings differ. ConnectWise's API cannot write role permissions, so set them by hand in System › Security Roles › MSP Process, then run `pulumi up` again:
""" + "".join(f"      - Companies › F{i} › Inquire: set All (now None)\n" for i in range(10)) + "".join(
    f"      - System › Table Setup › Customize: allow 'Item {i}' (missing)\n" for i in range(3)) + """    Checklist: /x/.cwroles/checklists/msp-process/cwroles/MSP Process.md

Outputs:
  - pending         : [
  -     [0]: "Companies › F0 › Inquire: set All (now None)"
    ]
"""


def test_the_summary_counts_every_item_of_the_error_levels_and_customize_moves():
    lines = _summary(ERROR)
    shown = [ln for ln in lines if ln.startswith("- ")]
    assert len(shown) == 8
    assert "… and 5 more (all of them in the checklist file)" in lines  # 13 items in the error, 8 shown
    assert not any("[0]" in ln for ln in lines)
