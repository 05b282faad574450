"""cwroles-api-member-role (stack policy): members bound to roles of the same stack only."""

from cwroles.policies.rules import api_member_role
from .policy_helpers import API_MEMBER, SECURITY_ROLE, UNKNOWN_STRING, resource, run_stack


def role_res(name="mobius-role", **props):
    return resource(SECURITY_ROLE, name, {"__provider": "x", "name": "Mobius", "role_type": "Custom",
                                          "admin_flag": False, **props})


def member(role_id, deps=(), pdeps=None, name="mobius-member"):
    props = {"__provider": "x", "identifier": "Mobius", "name": "Mobius", "role_id": role_id,
             "email_address": "api@example.com"}
    return resource(API_MEMBER, name, props, deps=deps, pdeps=pdeps)


def test_member_bound_through_the_role_output_passes_in_preview():
    r = role_res()
    assert run_stack(api_member_role, [r, member(UNKNOWN_STRING, [r], {"role_id": [r]})]) == []


def test_member_with_matching_known_role_id_passes():
    r = role_res(id="63")
    assert run_stack(api_member_role, [r, member(63)]) == []


def test_member_depending_on_a_role_without_property_dependencies_passes():
    r = role_res()
    assert run_stack(api_member_role, [r, member(UNKNOWN_STRING, [r])]) == []


def test_member_bound_to_a_role_from_another_stack():
    ref = resource("pulumi:pulumi:StackReference", "shared-roles", {"name": "org/roles/prod"})
    m = member(UNKNOWN_STRING, [ref], {"role_id": [ref]})
    out = run_stack(api_member_role, [role_res(), ref, m])
    assert out == [("API member “Mobius” is bound to a role this stack does not manage: its role_id comes from "
                    "pulumi:pulumi:StackReference “shared-roles”, not from a SecurityRole of this stack. Create the "
                    "integration's SecurityRole in the same stack and pass its role_id output to the ApiMember, so "
                    "the role's grants are reviewed together with the member.", m.urn)]


def test_member_with_hard_coded_role_id():
    r = role_res(id="63")
    m = member(1)
    out = run_stack(api_member_role, [r, m])
    assert len(out) == 1 and "its role_id 1 is not a SecurityRole managed in this stack" in out[0][0]
    assert out[0][1] == m.urn


def test_member_without_role_or_with_no_role_in_stack():
    assert "it has no role_id" in run_stack(api_member_role, [member(None)])[0][0]
    out = run_stack(api_member_role, [member(UNKNOWN_STRING)])
    assert "not the output of a SecurityRole of this stack" in out[0][0]
