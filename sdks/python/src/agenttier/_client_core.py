"""What a client does, written once as plans (``_async/client.py`` binds them; see ``_core.py``)."""

from __future__ import annotations

from typing import Any, Mapping

from ._core import Call, Plan, call_json, create_body, sandbox_path

View = dict[str, Any]


class ClientCore:
    """The calls of a client, once. Sandbox calls answer views; each flavour wraps them in its handle."""

    def _health(self) -> Plan[dict[str, Any]]:
        """``{"status": "ok", "version": "…"}`` from ``GET /healthz``."""
        return dict((yield from call_json(Call("GET", "/healthz", headers={"accept": "application/json"}))))

    def _create_sandbox(
        self,
        name: str,
        template: str,
        namespace: str = "default",
        *,
        timeout: str | None = None,
        idle_timeout: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Plan[View]:
        """Creates a sandbox from a template; ``overrides`` adds create-body fields (``resources``, ``env``, …)."""
        body = create_body(name, template, namespace, timeout, idle_timeout, overrides)
        return dict((yield from call_json(Call("POST", "/api/v1/sandboxes", json=body))))

    def _get_sandbox(self, name: str, namespace: str = "default") -> Plan[View]:
        return dict((yield from call_json(Call("GET", sandbox_path(name), params={"namespace": namespace}))))

    def _list_sandboxes(
        self, namespace: str | None = None, status: str | None = None, template: str | None = None
    ) -> Plan[list[View]]:
        res = yield from call_json(Call("GET", "/api/v1/sandboxes", params={"namespace": namespace, "status": status}))
        views = (res or {}).get("sandboxes") or []
        return [dict(v) for v in views if template is None or (v.get("templateRef") or {}).get("name") == template]

    def _list_templates(self) -> Plan[list[dict[str, Any]]]:
        res = yield from call_json(Call("GET", "/api/v1/templates"))
        return list((res or {}).get("templates") or [])

    def _get_template(self, name: str) -> Plan[dict[str, Any]]:
        return dict((yield from call_json(Call("GET", f"/api/v1/templates/{name}"))))

    def _current_user(self) -> Plan[dict[str, Any]]:
        return dict((yield from call_json(Call("GET", "/api/v1/user/me"))))
