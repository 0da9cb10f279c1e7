from __future__ import annotations

from fastapi import APIRouter, status

from reporting.access import Grant, ResourceType
from reporting.errors import InvalidTransition, NotFound
from service.deps import Admin, Context, CurrentScope, Reader
from service.schemas import FolderIn, FolderOut

router = APIRouter(prefix="/v1/folders", tags=["folders"])


def _out(folder: dict) -> FolderOut:
    return FolderOut(id=folder["_id"], name=folder["name"], created_at=folder["created_at"])


def visible_folder(context: Context, scope: CurrentScope, folder_id: str) -> dict:
    folder = context.folders.get(folder_id)
    if folder is None or not scope.sees_folder(folder_id):
        raise NotFound(f"folder {folder_id!r} not found")
    return folder


@router.get("", response_model=list[FolderOut])
def list_folders(context: Context, _: Reader, scope: CurrentScope) -> list[FolderOut]:
    """The folders you can see: granted ones and those holding a product granted to you."""
    return [_out(f) for f in context.folders.list(scope.folder_ids)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FolderOut)
def create_folder(body: FolderIn, context: Context, admin: Admin) -> FolderOut:
    folder = context.folders.create(body.name, admin.id)
    context.audit.record(admin, "folder.created", "folder", folder["_id"], name=body.name)
    return _out(folder)


@router.get("/{folder_id}", response_model=FolderOut)
def get_folder(folder_id: str, context: Context, _: Reader, scope: CurrentScope) -> FolderOut:
    return _out(visible_folder(context, scope, folder_id))


@router.patch("/{folder_id}", response_model=FolderOut)
def rename_folder(folder_id: str, body: FolderIn, context: Context, admin: Admin) -> FolderOut:
    folder = context.folders.rename(folder_id, body.name)
    if folder is None:
        raise NotFound(f"folder {folder_id!r} not found")
    context.audit.record(admin, "folder.renamed", "folder", folder_id, name=body.name)
    return _out(folder)


@router.delete("/{folder_id}", response_model=FolderOut)
def delete_folder(folder_id: str, context: Context, admin: Admin) -> FolderOut:
    """Delete an empty folder (409 while it holds products); its grants go with it."""
    folder = context.folders.get(folder_id)
    if folder is None:
        raise NotFound(f"folder {folder_id!r} not found")
    if context.products.count_in_folder(folder_id):
        raise InvalidTransition("delete", "not empty", what="folder")
    context.folders.delete(folder_id)
    context.grants.remove_resource(Grant(ResourceType.folder, folder_id))
    context.audit.record(admin, "folder.deleted", "folder", folder_id)
    return _out(folder)
