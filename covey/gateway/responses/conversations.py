"""Where a Responses request meets the gateway's flow: its chat form, with the stored conversation it
continues put first (`Conversations.request`), its answer stored when it asked for it
(`Conversations.keep`), and whether an upstream gets it as it came (`served_natively`,
`native_request`)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from covey.budgets.estimate import given_cap
from covey.gateway import routing
from covey.gateway.admission import Admitted
from covey.gateway.catalog import Catalog, CatalogModel
from covey.gateway.errors import GatewayError
from covey.gateway.responses import native, request
from covey.guardrails.masking import Screen
from covey.kit.errors import CoveyError
from covey.plane.runtime import ControlPlane
from covey.response_store.store import ResponseStore, owner, plausible

if TYPE_CHECKING:
    from covey.gateway.outcome import Outcome

Json = dict[str, Any]


class Conversations:
    """The Responses API's state: kept in `store` (None: nothing is kept, and `previous_response_id`
    is refused as any other stateful field)."""

    def __init__(self, store: ResponseStore | None, *, catalog: Catalog, plane: ControlPlane) -> None:
        self.store = store
        self.catalog = catalog
        self.plane = plane

    async def request(self, ad: Admitted) -> tuple[Json, request.Front]:
        """A Responses request as its chat form, with the conversation it continues put first."""
        body = ad.body
        if body.get("store") is not None and not isinstance(body["store"], bool):
            raise GatewayError(400, "store: must be true or false")
        store = self.store is not None and body.get("store") is not False
        previous = body.get("previous_response_id")
        if previous is not None and self.store is not None:
            if not isinstance(previous, str) or not previous:
                raise GatewayError(400, "previous_response_id: must be the id of a stored response")
            found = await self.store.recall(owner(ad.grant), previous) if plausible(previous) else None
            if found is None:
                raise GatewayError(404, f"previous_response_id: no stored response {previous!r} for this key")
            body = request.continued(body, [*found.input, *(found.response.get("output") or [])])
        else:
            previous = None
        try:
            return request.request_to_chat(body, store=store, previous_id=previous)
        except GatewayError as exc:
            if exc.status != 400 or not self._starts_natively(ad, body.get("model")):
                raise
            return request.request_to_chat(body, store=store, previous_id=previous, untranslatable=exc.message)

    def _starts_natively(self, ad: Admitted, model: Any) -> bool:
        """The request's route starts at an upstream that serves the Responses API, and no guardrail
        will have to mask its text: it may carry what chat cannot (a later step in another format
        refuses it)."""
        if ad.grant.guardrails or not isinstance(model, str):
            return False
        try:
            steps = routing.plan(
                model,
                catalog=self.catalog.models,
                allowed=ad.grant.allowed_models,
                policies=self.plane.current.policies.get(ad.grant.org_id, {}),
                trace_id=ad.trace_id,
            )
        except CoveyError:
            return False
        first = self.catalog.models.get(steps[0].model) if steps else None
        return first is not None and first.serves_responses

    async def keep(self, ad: Admitted, response: Json | None) -> None:
        """Stores the answered Response when its request asked for it; unstored (`store: false`) when
        the database refused it."""
        front = ad.front
        if front is None or not front.store or self.store is None or response is None:
            return
        items = request.input_items(front.request.get("input"))
        if ad.grant.guardrails:  # the text guardrails find is stored nowhere (docs/design.md §5)
            items = Screen(ad.grant.guardrails).walk(copy.deepcopy(items))
        kept = await self.store.keep(
            owner(ad.grant), key_id=ad.grant.key_id, response_id=front.response_id, input=items, response=response
        )
        if not kept:
            response["store"] = False


def served_natively(ad: Admitted, model: CatalogModel, outcome: Outcome) -> bool:
    """A Responses request goes as it came to an upstream that serves the Responses API, unless
    guardrails masked its text (the masked form is its chat form)."""
    return ad.front is not None and model.serves_responses and outcome.guard is None


def native_request(ad: Admitted, model: CatalogModel, *, stream: bool) -> Json:
    """The caller's Responses request for that upstream, held to the output cap its chat form was given."""
    assert ad.front is not None
    cap = given_cap(ad.body)
    return native.native_request(ad.front.request, upstream_model=model.upstream_model, cap=cap, stream=stream)


__all__ = ["Conversations", "native_request", "served_natively"]
