"""The three discovery documents (RFC 7644 §4): they announce exactly what this server implements."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Meta,
    Patch,
    Resource,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from covey.scim import resources

MAX_RESULTS = 1000
DEFAULT_COUNT = 100

RESOURCE_TYPES: dict[str, tuple[ResourceType, type[Resource[Any]]]] = {
    "User": (resources.USER_TYPE, resources.User),
    "Group": (resources.GROUP_TYPE, resources.Group),
}


def _dump(obj: Resource[Any]) -> dict[str, Any]:
    return obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A SCIM token created by an org admin with POST /v1/manage/scim/token",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )
    return _dump(config)


def resource_type(name: str, base_url: str) -> dict[str, Any] | None:
    found = RESOURCE_TYPES.get(name)
    if found is None:
        return None
    described = found[0].model_copy(
        update={"meta": Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/{name}")}
    )
    return _dump(described)


def schema(schema_id: str, base_url: str) -> dict[str, Any] | None:
    for _type, model in RESOURCE_TYPES.values():
        if str(model.__schema__) == schema_id:
            described: Schema = model.to_schema()
            described.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema_id}")
            return _dump(described)
    return None


def schema_ids() -> list[str]:
    return [str(model.__schema__) for _type, model in RESOURCE_TYPES.values()]


def list_response(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }
