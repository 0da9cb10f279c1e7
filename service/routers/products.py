from __future__ import annotations

from fastapi import APIRouter, status

from reporting.access import Grant, Principal, ResourceType
from reporting.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from reporting.product_data import delete_product_data
from service.deps import Context, CurrentScope, Reader, Writer
from service.schemas import ProductIn, ProductOut, ProductUpdate

router = APIRouter(prefix="/v1/products", tags=["products"])


def _out(product: dict) -> ProductOut:
    return ProductOut(id=product["_id"], name=product["name"], folder_id=product["folder_id"],
                      slug=product["slug"], created_at=product["created_at"])  # fmt: skip


def visible_product(context: Context, scope: CurrentScope, product_id: str) -> dict:
    product = context.products.get(product_id)
    if product is None or not scope.sees_product(product_id):
        raise NotFound(f"product {product_id!r} not found")
    return product


def _may_place_in(
    context: Context, principal: Principal, scope: CurrentScope, folder_id: str
) -> None:
    """Creating a product in (or moving one to) a folder needs the folder: admin or a grant."""
    if context.folders.get(folder_id) is None or not scope.sees_folder(folder_id):
        raise InvalidInput([{"loc": ["body", "folder_id"], "msg": f"no folder {folder_id!r}",
                             "type": "unknown_resource"}])  # fmt: skip
    if not (principal.is_admin or folder_id in principal.granted_folders()):
        raise Forbidden(f"you have no grant on folder {folder_id!r}")


@router.get("", response_model=list[ProductOut])
def list_products(
    context: Context, _: Reader, scope: CurrentScope, folder_id: str | None = None
) -> list[ProductOut]:
    """The products you can see (granted directly or through their folder)."""
    return [_out(p) for p in context.products.list(scope.product_ids, folder_id)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create_product(
    body: ProductIn, context: Context, principal: Writer, scope: CurrentScope
) -> ProductOut:
    _may_place_in(context, principal, scope, body.folder_id)
    product = context.products.create(body.name, body.folder_id, principal.id, body.slug)
    context.audit.record(principal, "product.created", "product", product["_id"],
                         name=body.name, folder_id=body.folder_id)  # fmt: skip
    return _out(product)


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: str, context: Context, _: Reader, scope: CurrentScope) -> ProductOut:
    return _out(visible_product(context, scope, product_id))


@router.patch("/{product_id}", response_model=ProductOut)
def update_product(
    product_id: str, body: ProductUpdate, context: Context, principal: Writer, scope: CurrentScope
) -> ProductOut:
    visible_product(context, scope, product_id)
    changes = body.model_dump(exclude_none=True)
    if "folder_id" in changes:
        _may_place_in(context, principal, scope, changes["folder_id"])
    product = context.products.update(product_id, changes) if changes else None
    context.audit.record(principal, "product.updated", "product", product_id, **changes)
    return _out(product or visible_product(context, scope, product_id))


@router.delete("/{product_id}", response_model=ProductOut)
def delete_product(
    product_id: str, context: Context, principal: Writer, scope: CurrentScope
) -> ProductOut:
    """Delete a product that has no tasks and no snapshots (409 otherwise: their history is
    kept). Its grants, research versions, imported Reddit data, import runs and share-of-voice
    rows go with it (the data first: a failure leaves the product, to delete again)."""
    product = visible_product(context, scope, product_id)
    if context.tasks.count_for_product(product_id):
        raise InvalidTransition("delete", "in use by tasks", what="product")
    if context.snapshots.count_for_product(product_id):
        raise InvalidTransition("delete", "in use by snapshots", what="product")
    removed = delete_product_data(context.store.db, product)
    context.products.delete(product_id)
    context.grants.remove_resource(Grant(ResourceType.product, product_id))
    context.audit.record(principal, "product.deleted", "product", product_id, **removed)
    return _out(product)
