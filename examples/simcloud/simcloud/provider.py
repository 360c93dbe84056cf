"""The provider on the `tf` framework: `simcloud_elb` and `simcloud_server`, kept in `api.py`."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from tf import iface, schema, types
from tf.iface import Config, State
from tf.utils import Diagnostics

from simcloud import PROVIDER, api

API_ENV = "SIMCLOUD_API"


class SimCloud(iface.Provider):
    """Provider `tfhook/simcloud`: `api` (or $SIMCLOUD_API) names the cloud's JSON file."""

    def __init__(self) -> None:
        self.api = os.environ.get(API_ENV, "")

    def get_model_prefix(self) -> str:
        return "simcloud_"

    def full_name(self) -> str:
        return PROVIDER

    def get_provider_schema(self, diags: Diagnostics) -> schema.Schema:
        return schema.Schema(attributes=[schema.Attribute(
            "api", types.String(), optional=True,
            description=f"Path of the simulated cloud's JSON file (default: ${API_ENV}).")])

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        pass

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        path = config.get("api") or self.api
        self.api = os.path.abspath(path) if path else ""
        if not self.api:
            diags.add_error("simcloud: no cloud API file",
                            f'Set api = "PATH" in the provider block or ${API_ENV}.')

    def get_data_sources(self) -> list[Any]:
        return []

    def get_resources(self) -> list[Any]:
        return [Elb, Server]


class _Object(iface.Resource):
    """One kind of cloud object: CRUD against the JSON file, keyed by the object's id."""

    kind: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]
    attributes: ClassVar[list[schema.Attribute]]

    def __init__(self, provider: SimCloud) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.kind

    @classmethod
    def get_schema(cls) -> schema.Schema:
        return schema.Schema(attributes=[
            schema.Attribute("id", types.String(), computed=True), *cls.attributes])

    def _fields(self, planned: State) -> dict[str, Any]:
        return {name: planned[name] if planned.get(name) not in (None, types.Unknown) else default
                for name, default in self.defaults.items()}

    def _computed(self, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _state(self, object_id: str, fields: dict[str, Any]) -> State:
        return {"id": object_id, **{name: fields.get(name) for name in self.defaults},
                **self._computed(object_id, fields)}

    def create(self, ctx: iface.CreateContext, planned: State) -> State:
        object_id = api.create(self.provider.api, self.kind, {})
        fields = {**self._fields(planned), **self._computed(object_id, {})}
        api.put(self.provider.api, self.kind, object_id, **fields)
        return self._state(object_id, fields)

    def read(self, ctx: iface.ReadContext, current: State) -> State | None:
        found = api.get(self.provider.api, self.kind, current["id"])
        return None if found is None else self._state(current["id"], found)

    def update(self, ctx: iface.UpdateContext, current: State, planned: State) -> State:
        try:
            fields = api.put(self.provider.api, self.kind, current["id"], **self._fields(planned))
        except KeyError:
            ctx.diagnostics.add_error(f"simcloud: {self.kind} {current['id']} not found")
            return current
        return self._state(current["id"], fields)

    def delete(self, ctx: iface.DeleteContext, current: State) -> None:
        api.delete(self.provider.api, self.kind, current["id"])

    def upgrade(self, ctx: iface.UpgradeContext, version: int, old: State) -> State:
        return old  # one schema version so far: nothing to upgrade (and no warning for it)

    def import_(self, ctx: iface.ImportContext, id: str) -> State | None:
        found = api.get(self.provider.api, self.kind, id)
        if found is None:
            ctx.diagnostics.add_error(f"simcloud: no {self.kind} with id {id}")
            return None
        return self._state(id, found)


def _settable(name: str, kind: types.TfType, text: str) -> schema.Attribute:
    """An attribute the configuration may set; the cloud's value when it does not."""
    return schema.Attribute(name, kind, optional=True, computed=True, description=text)


class Elb(_Object):
    """`simcloud_elb`: a load balancer whose `plan` (CPS) an autoscaler changes."""

    kind = "elb"
    defaults: ClassVar[dict[str, Any]] = {"name": None, "plan": 100, "servers": []}
    attributes: ClassVar[list[schema.Attribute]] = [
        schema.Attribute("name", types.String(), required=True),
        _settable("plan", types.Number(), "Connections per second: 100, 500, 1000 ..."),
        _settable("servers", types.List(types.String()), "Ids of the servers behind it."),
        schema.Attribute("vip", types.String(), computed=True),
    ]

    def _computed(self, object_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {"vip": fields.get("vip") or f"192.0.2.{int(object_id) % 250 + 1}"}


class Server(_Object):
    """`simcloud_server`: a server whose `core` and `memory` an autoscaler changes."""

    kind = "server"
    defaults: ClassVar[dict[str, Any]] = {"name": None, "core": 1, "memory": 1}
    attributes: ClassVar[list[schema.Attribute]] = [
        schema.Attribute("name", types.String(), required=True),
        _settable("core", types.Number(), "CPU cores."),
        _settable("memory", types.Number(), "Memory in GiB."),
    ]
