from __future__ import annotations

from fastapi import APIRouter

from reporting.notebooks import NotebookSpec
from service.deps import Context, Reader
from service.schemas import NotebookOut

router = APIRouter(prefix="/v1/notebooks", tags=["notebooks"])


@router.get("", response_model=list[NotebookOut])
def list_notebooks(context: Context, principal: Reader) -> list[dict]:
    """The runnable notebooks and the parameters each one takes. Admins also see the
    notebooks that cannot run (`available: false`) and why (`reason`)."""
    return [
        entry.public()
        for entry in context.catalog.list()
        if principal.is_admin or isinstance(entry, NotebookSpec)
    ]


@router.get("/{name}", response_model=NotebookOut)
def get_notebook(name: str, context: Context, _: Reader) -> dict:
    """One notebook: 404 when there is none by that name, 422 naming what is wrong when it
    cannot run."""
    return context.catalog.find(name).public()
