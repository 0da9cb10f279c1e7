"""Weekly snapshots: ask for one, follow its steps, download its PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from reporting.errors import InvalidInput, InvalidTransition, NotFound
from reporting.snapshots import SnapshotStatus, launch, new_snapshot
from reporting.tasks import utcnow
from service.deps import Context, CurrentScope, Reader, Writer
from service.schemas import SnapshotCreate, SnapshotOut

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


def _out(snapshot: dict[str, Any]) -> SnapshotOut:
    sid = snapshot["_id"]
    artifacts = [{**a, "url": f"/v1/snapshots/{sid}/{a['kind']}"} for a in snapshot["artifacts"]]
    return SnapshotOut(**{**snapshot, "id": sid, "artifacts": artifacts})


def _visible(context: Context, scope: CurrentScope, snapshot_id: str) -> dict[str, Any]:
    snapshot = context.snapshots.get(snapshot_id)
    if snapshot is None or not scope.sees_product(snapshot["product_id"]):
        raise NotFound(f"snapshot {snapshot_id!r} not found")
    return snapshot


def _bad_product(product_id: str, message: str) -> InvalidInput:
    return InvalidInput([{"loc": ["body", "product_id"], "msg": message,
                          "type": "unknown_resource"}])  # fmt: skip


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SnapshotOut)
def create_snapshot(
    body: SnapshotCreate,
    context: Context,
    principal: Writer,
    scope: CurrentScope,
    weekly: Annotated[
        bool | None,
        Query(description="Schedule the next week's when it ends. Default: only if the "
              "product has no weekly series yet (one series per product); true starts "
              "another series, false makes a one-off"),
    ] = None,
) -> SnapshotOut:  # fmt: skip
    """Run a product's snapshot pipeline for a period (default: the last 7 whole days):
    prompts from the product research, scrape, one notebook task per brand, then one PDF
    with what changed since the previous snapshot. The next one is scheduled 7 days after
    it ends, unless the product already has a weekly series (then this one is a one-off;
    `?weekly=true` starts another series). Due now: launched at once; later: launched by the
    scheduler."""
    product = context.products.get(body.product_id)
    if product is None or not scope.sees_product(body.product_id):
        raise _bad_product(body.product_id, f"no product {body.product_id!r}")
    if context.research.latest(product["_id"]) is None:
        raise _bad_product(body.product_id, "the product has no research yet: PUT "
                           f"/v1/products/{product['_id']}/research first")  # fmt: skip
    assert body.start is not None and body.end is not None  # filled in by the model
    if weekly is None:
        weekly = not context.snapshots.has_weekly_series(product["_id"])
    snapshot = context.snapshots.insert(
        new_snapshot(product, body.start, body.end, principal.id, body.run_at, weekly=weekly)
    )
    if snapshot["run_at"] <= utcnow():
        launch(context.snapshots, context.queue, snapshot["_id"])
    context.audit.record(principal, "snapshot.created", "snapshot", snapshot["_id"],
                         product_id=product["_id"])  # fmt: skip
    return _out(context.snapshots.get(snapshot["_id"]) or snapshot)


@router.get("", response_model=list[SnapshotOut])
def list_snapshots(
    context: Context,
    _: Reader,
    scope: CurrentScope,
    product_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SnapshotOut]:
    """Newest first: those of the products you can see, or of one of them."""
    if product_id is not None and not scope.sees_product(product_id):
        return []
    return [_out(s) for s in context.snapshots.recent(scope.product_ids, product_id, limit)]


@router.get("/{snapshot_id}", response_model=SnapshotOut)
def get_snapshot(snapshot_id: str, context: Context, _: Reader, scope: CurrentScope) -> SnapshotOut:
    return _out(_visible(context, scope, snapshot_id))


@router.post(
    "/{snapshot_id}/cancel",
    response_model=SnapshotOut,
    responses={409: {"description": "Only a scheduled snapshot can be cancelled"}},
)
def cancel_snapshot(
    snapshot_id: str, context: Context, principal: Writer, scope: CurrentScope
) -> SnapshotOut:
    """Cancel a scheduled snapshot; this also ends the product's weekly series."""
    snapshot = _visible(context, scope, snapshot_id)
    cancelled = context.snapshots.move(
        snapshot_id, SnapshotStatus.scheduled, SnapshotStatus.cancelled, finished_at=utcnow()
    )
    if cancelled is None:
        raise InvalidTransition("cancel", snapshot["status"], what="snapshot")
    context.audit.record(principal, "snapshot.cancelled", "snapshot", snapshot_id)
    return _out(cancelled)


@router.get(
    "/{snapshot_id}/pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        404: {"description": "No such snapshot, or it has not succeeded"},
    },
)
def snapshot_pdf(snapshot_id: str, context: Context, _: Reader, scope: CurrentScope) -> Response:
    snapshot = _visible(context, scope, snapshot_id)
    if snapshot["status"] != SnapshotStatus.succeeded.value:
        raise NotFound(f"snapshot {snapshot_id!r} has no PDF (it is {snapshot['status']})")
    data = context.artifacts.get(snapshot_id, "snapshot.pdf")
    filename = f"snapshot-{snapshot['product_slug']}-{snapshot['end']}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
