from __future__ import annotations

from fastapi import APIRouter

from service.deps import Context, Reader
from service.schemas import NotebookOut

router = APIRouter(prefix="/v1/notebooks", tags=["notebooks"])


@router.get("", response_model=list[NotebookOut])
def list_notebooks(context: Context, _: Reader) -> list[dict]:
    """The runnable notebooks and the parameters each one takes."""
    return [spec.public() for spec in context.catalog.list()]


@router.get("/{name}", response_model=NotebookOut)
def get_notebook(name: str, context: Context, _: Reader) -> dict:
    return context.catalog.find(name).public()
