"""Responses kept for the Responses API's `previous_response_id`, `GET` and `DELETE /v1/responses/{id}`."""
