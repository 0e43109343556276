"""``omnisync listings link`` and ``omnisync catalog import --from CHANNEL``: adopting what the
channels already list, by matching it to the catalogue or by building the catalogue from it.

Wired into the main CLI by :func:`register`; the engine is imported when a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from omnisync.engine.runtime import Engine

catalog_app = typer.Typer(
    rich_markup_mode="markdown",
    no_args_is_help=True,
    help="The master catalogue: build or complete it from a channel's listings.",
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ChannelOpt = Annotated[str | None, typer.Option("--channel", help="Only this channel.")]
WriteAliasesOpt = Annotated[
    bool,
    typer.Option(
        "--write-aliases",
        help="Add the channel SKUs of listings found by barcode to the mapping's sku_aliases, and link them.",
    ),
]


def listings_link(
    channel: ChannelOpt = None, write_aliases: WriteAliasesOpt = False, as_json: JsonOpt = False
) -> None:
    """Match each channel's existing listings to the catalogue by SKU, then by barcode: the ones found
    are kept (updated, not created again) and their stock follows. A listing found by barcode under
    another SKU is linked once that SKU is an alias of the master SKU (--write-aliases adds it to the
    mapping file). Unmatched, partly matched, ambiguous and unknown listings are reported. Nothing is
    written to the channels."""
    from omnisync import cli

    async def one(engine: Engine, n: str) -> dict[str, Any]:
        r = await engine.link_listings(n, write_aliases=write_aliases)
        plan = r.plan
        return {
            "linked": plan.linked,
            "partial": plan.partial,
            "unmatched": plan.unmatched,
            "ambiguous": plan.ambiguous,
            "by_sku": len(plan.by_sku),
            "by_barcode": {
                m.sku: {"channel_sku": m.channel_sku, "barcode": m.barcode} for m in plan.by_barcode
            },
            "refused": plan.refused,
            "unknown_on_channel": plan.unknown,
            "barcodes_read": r.barcode_read,
            "aliases_written": r.aliases_written,
            "mapping": r.mapping_file,
        }

    async def go(engine: Engine) -> dict[str, Any]:
        return await cli._each_channel(engine, channel, one)

    rows = cli._run(go, prepare=True)
    if as_json:
        cli._print_json(rows)
        return
    say = cli.out.print
    for n, r in rows.items():
        barcode = f", {len(r['by_barcode'])} by barcode" if r["barcodes_read"] else " (barcodes not readable)"
        say(
            f"{n}: {len(r['linked'])} linked, {len(r['partial'])} partly, {len(r['unmatched'])} unmatched"
            f" ({r['by_sku']} variants by SKU{barcode})",
            soft_wrap=True,
        )
        for product, lacking in r["partial"].items():
            say(f"  {product}: the channel lacks {', '.join(lacking)}", soft_wrap=True)
        for key, count in r["ambiguous"].items():
            say(f"  {key}: {count} listings on the channel (ambiguous, not linked)", soft_wrap=True)
        for sku, why in r["refused"].items():
            say(f"  {sku}: {why}", soft_wrap=True)
        pending = {s: m for s, m in r["by_barcode"].items() if s not in r["aliases_written"]}
        for sku, m in r["by_barcode"].items():
            state = "alias added, linked" if sku in r["aliases_written"] else "not linked yet"
            say(f"  {sku}: found by barcode {m['barcode']} as {m['channel_sku']} ({state})", soft_wrap=True)
        if pending:
            where = r["mapping"] or "its mapping file"
            say(
                f"  to link them, add to {where} under sku_aliases: "
                + ", ".join(f"{s}: {m['channel_sku']}" for s, m in pending.items())
                + " (or run again with --write-aliases)",
                soft_wrap=True,
            )
        if r["unknown_on_channel"]:
            shown = ", ".join(r["unknown_on_channel"][:5]) + (
                " ..." if len(r["unknown_on_channel"]) > 5 else ""
            )
            say(
                f"  {len(r['unknown_on_channel'])} products on the channel are not in the catalogue"
                f" ({shown}); `omnisync catalog import --from {n}` adopts them",
                soft_wrap=True,
            )


FromOpt = Annotated[str, typer.Option("--from", help="The channel whose listings are read.")]
WriteOpt = Annotated[bool, typer.Option("--write", help="Write to the ledger (without it: a dry run).")]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite", help="Replace what differs with the channel's (without it, merchant data is kept)."
    ),
]


def catalog_import(
    source: FromOpt, write: WriteOpt = False, overwrite: OverwriteOpt = False, as_json: JsonOpt = False
) -> None:
    """Build or complete the master catalogue from a channel's products: products, variants (one
    SKU each), options, images, barcodes, descriptions and, for new SKUs, prices. A dry run unless
    --write; empty fields are filled and differences reported, never replaced without --overwrite.
    Stock is not read: set it with `ledger import` or `stock receive`."""
    from omnisync import cli
    from omnisync.sdk.errors import ConfigurationError

    async def go(engine: Engine) -> dict[str, Any]:
        if source not in engine.channels:
            raise ConfigurationError(
                f"--from {source}: no such channel (channels: {', '.join(engine.channels)})"
            )
        found = await engine.import_catalogue(source, write=write, overwrite=overwrite)
        return {
            "written": write,
            "created": found.created,
            "completed": found.completed,
            "unchanged": found.unchanged,
            "new_skus": found.new_skus,
            "kept": found.kept,
            "skipped": found.skipped,
        }

    r = cli._run(go, prepare=True)
    if as_json:
        cli._print_json(r)
        return
    say = cli.out.print
    verb = "" if write else "would be "
    say(
        f"{source}: {len(r['created'])} products {verb}created, {len(r['completed'])} {verb}completed, "
        f"{len(r['unchanged'])} unchanged; {len(r['new_skus'])} new SKUs",
        soft_wrap=True,
    )
    for handle, fields in r["completed"].items():
        say(f"  {handle}: {', '.join(fields)}", soft_wrap=True)
    for line in r["kept"]:
        say(f"  kept: {line}", soft_wrap=True)
    for line in r["skipped"]:
        cli.err.print(escape(f"skipped: {line}"), soft_wrap=True)
    if r["kept"] and not overwrite:
        say("  (--overwrite takes the channel's values instead)")
    if not write:
        say("dry run: nothing written (--write writes it)")


def register(app: typer.Typer, listings_app: typer.Typer) -> None:
    listings_app.command("link")(listings_link)
    app.add_typer(catalog_app, name="catalog")
    catalog_app.command("import")(catalog_import)


__all__ = ["register"]
