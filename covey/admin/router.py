"""Every panel route under /admin."""

from __future__ import annotations

from fastapi import APIRouter

from covey.admin import account, audit, budgets, groups, insights, keys, members, overview, users
from covey.admin.web import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for module in (account, overview, groups, members, budgets, users, keys, insights, audit):
    router.include_router(module.router)
