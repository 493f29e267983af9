"""
``current_user()`` as the seed product's Python SDK reads it, against a real ``agenttier up``.

The seed SDK parses ``GET /api/v1/user/me`` into its ``CurrentUser`` model (pydantic, camelCase
aliases, extra keys ignored), which requires ``sub`` and rejects ``null`` for ``groups`` (its
reference, section 7.2 and the compatibility notes). Our router answered ``{id, ...}`` without ``sub``,
so the seed SDK's ``current_user()`` failed; ``check_seed_current_user`` applies the same rules here
(Debian's python3 has no pydantic), to the admin key ``up`` saved, a user key and a sandbox-scoped key.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from agenttier import AgentTierClient


def check_seed_current_user(body: dict[str, Any]) -> None:
    """What the seed SDK's ``CurrentUser`` model needs of the answer."""
    assert isinstance(body.get("sub"), str) and body["sub"], f"CurrentUser.sub is required: {body}"
    for optional in ("email", "name"):
        assert body.get(optional) is None or isinstance(body[optional], str), f"{optional}: {body}"
    # A list field: pydantic refuses null (an absent key takes the model's default).
    assert "groups" not in body or isinstance(body["groups"], list), f"groups must be a list: {body}"
    assert all(isinstance(g, str) for g in body.get("groups", []))
    assert isinstance(body.get("isAdmin", False), bool)


def test_current_user_of_the_admin_key_up_saved(client: AgentTierClient) -> None:
    me = client.current_user()
    check_seed_current_user(me)
    assert me["sub"] == me["id"] == "admin"
    assert me["isAdmin"] is True


def test_current_user_of_a_user_key_and_a_sandbox_scoped_key(client: AgentTierClient, api_url: str) -> None:
    admin = client.current_user()
    assert admin["isAdmin"]
    # The admin issues a key to another user; that user creates a sandbox and a key scoped to it.
    headers = {"x-api-key": _admin_key()}
    made = httpx.post(f"{api_url}/api/v1/user/api-keys", headers=headers,
                      json={"name": "py-user", "user": {"id": "py-user", "email": "py@example.com"}})
    assert made.status_code == 201, made.text
    user_key = made.json()["key"]
    with AgentTierClient(api_url=api_url, api_key=user_key) as as_user:
        me = as_user.current_user()
        check_seed_current_user(me)
        assert (me["sub"], me["email"], me["groups"], me["isAdmin"]) == ("py-user", "py@example.com", [], False)
        box = as_user.create_sandbox(template="general-coding", name="py-me", namespace="py-me-ns")
        try:
            scoped = httpx.post(f"{api_url}/api/v1/user/api-keys", headers={"x-api-key": user_key},
                                json={"name": "agent", "sandbox": "py-me", "namespace": "py-me-ns", "verbs": ["read"]})
            assert scoped.status_code == 201, scoped.text
            with AgentTierClient(api_url=api_url, api_key=scoped.json()["key"]) as as_agent:
                me = as_agent.current_user()
                check_seed_current_user(me)
                assert me["sub"] == "py-user"
                assert me["scope"] == {"namespace": "py-me-ns", "sandbox": "py-me", "verbs": ["read"]}
        finally:
            box.delete()


def _admin_key() -> str:
    """The key the client found in the CLI config ``up`` wrote (the SDK's auth chain)."""
    with open(os.environ["AGENTTIER_CONFIG"], encoding="utf-8") as f:
        return str(json.load(f)["api_key"])
