from __future__ import annotations

from fastapi import APIRouter

from covey.kit.responses import ERRORS

router = APIRouter(prefix="/policy", tags=["routing policies"], responses=ERRORS)
