"""The planning read: per chunk of products, the slices of the product, stock and listing tables
planning needs, column by column, and the decoder of their raw values."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from json.decoder import JSONDecoder
from typing import Any

from sqlalchemy import Connection, Integer, Text, and_, bindparam, case, cast, func, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType

from .statements import one_of
from .supply import incoming_for
from .tables import KC, LI, P, S

PLAN_PRODUCT_COLUMNS = 7
"""Planning rows start with: id, sku, tags (raw), price (raw), currency, active (raw), version."""
PLAN_STOCK_COLUMNS = 2
"""Then per location asked for: on_hand, reserved (None without a stock record)."""
PLAN_LISTING_COLUMNS = 7
"""Then per channel asked for: flags (None when there is no listing or the channel does not know the
SKU, else the ``PLAN_*`` bits), channel SKU, ids (raw), acked quantity, acked price (raw), acked
preorder signal, dirty mark (``listing.dirty_mark``)."""
PLAN_FLAGS, PLAN_CHANNEL_SKU, PLAN_IDS, PLAN_ACKED_QUANTITY, PLAN_ACKED_PRICE = range(5)
PLAN_ACKED_PREORDER_KEY = 5
PLAN_DIRTY_MARK = 6
"""Positions within a channel's listing columns."""
PLAN_DIRTY = 1
PLAN_ACKED_AVAILABLE = 2
PLAN_ACKED_UNAVAILABLE = 4
PLAN_ACKED_KNOWN = 8
"""The listing's acknowledged quantity is known (the read gives 0 for an unknown one)."""
PLAN_ACKED_PREORDER = 16
"""The channel last accepted a preorder signal for the listing (``listing.acked_preorder``)."""


Names = Callable[[int, Any], tuple[list[Any], list[Any]]]
"""(channel id, product ids) -> the channel SKU and the raw ids of each product's listing there
(None and None for a listing gone meanwhile)."""
Details = Callable[[Any], tuple[list[Any], list[Any]]]
"""(product ids) -> the SKU and the raw tags of each product (a lean chunk's, read when needed)."""
KEYED_BELOW = 2**62
"""A packed SQLite read gives a product and its channel (location) as one number below this."""
UNKNOWN_ACKED = -(2**63) + 1
"""The packed SQLite read's acked quantity of a listing whose acknowledged quantity is unknown."""


@dataclass(frozen=True, slots=True)
class PlanChunk:
    """One chunk of the planning read, as the tables hold it, column by column: no object per row.

    ``products``: id, sku, tags, price, currency, active, version (raw values, see
    :class:`PlanDecoder`). ``stock``: product id, location id, on_hand, reserved, for the locations
    asked for. ``listings``: channel id, product id, flags (``PLAN_*`` bits), acked quantity (0 when
    unknown), acked price (raw), acked preorder signal, dirty mark, for the channels asked for; a
    listing the channel does not know (``missing``) is left out. Integer columns are numpy arrays of
    int64 (ids, active, version, every stock column, the listings' channel, product, flags, acked
    quantity and dirty mark), the others lists. Rows
    come in no particular order. ``names`` reads the channel SKUs and ids of the listings a plan
    pushes, and of those only (most pairs of a large plan need neither).

    ``kits``: kit id, component id, quantity per kit, for the kits of the chunk (:mod:`omnisync.kits`);
    ``component_stock``: the stock of their components outside the chunk (those inside are in
    ``stock``), in its columns. A kit's own stock records are not in ``stock``: its
    stock is computed from its components'. ``draws``: channel id, kit id, component id, quantity
    per kit, for every kit listed on a channel asked for that uses one of those components, and
    ``listed``: channel id, product id, those kits and components listed there: who shares a
    component on each channel (:func:`omnisync.kits.shared_columns`).
    """

    channel_ids: tuple[int, ...]
    location_ids: tuple[int, ...]
    products: Sequence[Any]
    stock: Sequence[Any]
    listings: Sequence[Any]
    names: Names
    incoming: Mapping[int, Mapping[int, tuple[int, date | None]]] = field(default_factory=dict)
    """Product id -> location id -> (units on order, earliest expected date), for the chunk's products
    with stock on order at the locations asked for; read only when some channel takes preorders."""
    kits: Sequence[Any] = ((), (), ())
    component_stock: Sequence[Any] = ((), (), (), ())
    details: Details | None = None
    """A lean chunk's SKUs and tags: its ``products`` hold None for both columns (the planner reads
    them only for the pairs it builds or explains). None: the columns are there."""
    draws: Sequence[Any] = ((), (), (), ())
    listed: Sequence[Any] = ((), ())

    def __len__(self) -> int:
        return len(self.products[0])


class PlanDecoder:
    """Turns the raw values of :class:`PlanQueries` into what :class:`ListingRow` would hold.

    The columns skip SQLAlchemy's per-value result processing (millions of pairs are read to plan a
    large catalogue and most are never looked at again); the few values a planner needs go through the
    column types' own processors here, decimals memoised by raw value.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._to_decimal = P.c.price.type.result_processor(dialect, None)
        self._from_json = LI.c.ids.type.result_processor(dialect, None)
        # json.loads is what SQLAlchemy uses unless the engine was given its own deserializer; its C
        # scanner alone is three times quicker on the small objects listing ids are
        custom = getattr(dialect, "_json_deserializer", None) is not None
        self._scan = None if custom else JSONDecoder().scan_once  # type: ignore[attr-defined]
        self.decimals: dict[Any, Decimal] = {}
        """Raw value -> Decimal, filled by :meth:`decimal` (a hot loop may look here first)."""

    def decimal(self, raw: Any) -> Decimal:
        value = self.decimals.get(raw)
        if value is None:
            if len(self.decimals) > 100_000:
                self.decimals.clear()
            converted = raw if isinstance(raw, Decimal) or self._to_decimal is None else self._to_decimal(raw)
            value = self.decimals[raw] = Decimal(converted)
        return value

    def ids_of(self, raws: Sequence[Any]) -> list[dict[str, str]]:
        """:meth:`ids` of each raw value; JSON texts decoded in one ``json.loads`` when they can be."""
        if self._scan is not None and raws and set(map(type, raws)) == {str}:
            try:
                decoded = json.loads("[" + ",".join(raws) + "]")
            except ValueError:
                decoded = None
            if type(decoded) is list and len(decoded) == len(raws) and set(map(type, decoded)) == {dict}:
                return decoded
        return [self.ids(raw) for raw in raws]

    def ids(self, raw: Any) -> dict[str, str]:
        if type(raw) is dict:  # decoded by the driver (psycopg)
            return raw
        if raw is None or raw == "{}":
            return {}
        if self._scan is not None and type(raw) is str:
            try:
                value, end = self._scan(raw, 0)
            except StopIteration:
                value, end = None, -1
            if end == len(raw) and type(value) is dict:
                return value
        if isinstance(raw, str | bytes) and self._from_json is not None:
            raw = self._from_json(raw)
        return dict(raw) if raw else {}


def raw_column(column: Any) -> Any:
    """The column's value as the driver returns it, without SQLAlchemy's result processing."""
    return type_coerce(column, NullType())


class Columns:
    """A query whose result is wanted column by column (every column of it taken raw): the columns
    at ``integers`` (never NULL) as numpy arrays of int64, the others as lists. Built once, read
    many times with different parameters.

    On SQLite the database builds each column as one value in a single step without the GIL -- a
    comma-separated text for an integer column, which numpy parses without a Python object per value,
    a JSON array for the others -- instead of Python's sqlite3 module taking the GIL back for every
    row (a reader thread would then wait for the planning thread at each one). Elsewhere the DBAPI
    rows are fetched straight from the cursor and transposed.
    """

    def __init__(self, dialect: Dialect, q: Any, integers: Sequence[int]) -> None:
        self.width = len(q.selected_columns)
        self.integers = frozenset(integers)
        self.packed = dialect.name == "sqlite"
        if self.packed:
            sub = q.subquery()
            q = select(
                *(
                    func.group_concat(c) if i in self.integers else func.json_group_array(c)
                    for i, c in enumerate(sub.c)
                )
            )
        self.q = q

    def read(self, conn: Connection, **params: Any) -> list[Any]:
        import numpy as np  # the planning read needs it; the CLI's start-up does not

        if self.packed:
            packed = conn.execute(self.q, params).one()
            return [
                np.fromstring(value or "", dtype=np.int64, sep=",")
                if i in self.integers
                else json.loads(value)
                for i, value in enumerate(packed)
            ]
        with conn.execute(self.q, params) as result:
            rows = result.cursor.fetchall()
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in range(self.width)]
        return [np.array(c, dtype=np.int64) if i in self.integers else c for i, c in enumerate(columns)]


class PlanQueries:
    """The planning read for some channels and locations: per chunk of products, three range reads
    on the tables' keys (products, their stock, their listings) instead of a join per product, so
    the cost per pair is a scan's. The statements are built once per channels, locations and kind
    of read (:meth:`of`), so a plan of a few dirty pairs does not pay for building them.

    ``by_ids``: chunks are given as product ids; otherwise as the next ``limit`` products after one.
    The products are read first: stock read after a product's version is at least as new as that
    version, so a pair planned from them is never settled at a version newer than its numbers.
    """

    @staticmethod
    @lru_cache(maxsize=64)
    def of(
        dialect: Dialect,
        channel_ids: tuple[int, ...],
        location_ids: tuple[int, ...],
        *,
        by_ids: bool,
        incoming: bool = False,
        lean: bool = False,
    ) -> PlanQueries:
        """The queries for these channels and locations, built once (they hold no state)."""
        return PlanQueries(dialect, channel_ids, location_ids, by_ids=by_ids, incoming=incoming, lean=lean)

    def __init__(
        self,
        dialect: Dialect,
        channel_ids: Sequence[int],
        location_ids: Sequence[int],
        *,
        by_ids: bool,
        incoming: bool = False,
        lean: bool = False,
    ) -> None:
        self.channel_ids, self.location_ids, self.by_ids = tuple(channel_ids), tuple(location_ids), by_ids
        self.incoming = incoming
        """Read the stock on order too (some channel takes preorders)."""
        self.lean = lean
        """Leave out what a plan from channel-wide rules reads only for the pairs it builds or explains:
        the products' SKUs and tags (read through :attr:`PlanChunk.details`), the listings' preorder
        signals but those of the listings that hold one (read in the chunk's transaction)."""
        named = () if lean else (P.c.sku, P.c.tags)
        products = select(
            P.c.id, *named, raw_column(P.c.price), P.c.currency, raw_column(P.c.active), P.c.version
        ).order_by(P.c.id)
        whole = (0, 3, 4) if lean else (0, 5, 6)
        self._first = None
        if by_ids:
            products = products.where(one_of(P.c.id, "ids"))
        else:
            self._first = Columns(dialect, products.limit(bindparam("limit")), whole)
            products = products.where(P.c.id > bindparam("after")).limit(bindparam("limit"))

        def of_chunk(column: Any) -> Any:
            if by_ids:
                return one_of(column, "ids")
            return and_(column >= bindparam("low"), column <= bindparam("high"))

        of_stock = and_(S.c.location_id.in_(list(location_ids)), of_chunk(S.c.product_id))
        stock = select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved).where(of_stock)
        of_listings = and_(
            LI.c.channel_id.in_(list(channel_ids)), of_chunk(LI.c.product_id), LI.c.missing.is_(False)
        )
        preorder = () if lean else (LI.c.acked_preorder,)
        self.packed = dialect.name == "sqlite"
        self._stock_keyed: Columns | None = None
        self._listings_keyed: Columns | None = None
        self._channel_key = self._location_key = 1
        self._channel_bits = self._location_bits = 0
        self._key_limit = 0
        """The listings' flags and dirty mark read as one number (``dirty_mark * 32 + flags``), the
        unknown acknowledged quantity as :data:`UNKNOWN_ACKED`: SQLite builds each column of the read
        value by value, so fewer columns and no ``CASE`` cost less per pair (booleans are 0 or 1
        there)."""
        if self.packed:
            flags = (
                LI.c.dirty_mark * 32
                + type_coerce(LI.c.dirty, Integer)
                # acked_available 1 -> 2 (PLAN_ACKED_AVAILABLE), 0 -> 4 (PLAN_ACKED_UNAVAILABLE), NULL -> 0
                + func.coalesce(PLAN_ACKED_UNAVAILABLE - 2 * type_coerce(LI.c.acked_available, Integer), 0)
                + case((LI.c.acked_preorder > "", PLAN_ACKED_PREORDER), else_=0)
            )
            listings = select(
                LI.c.channel_id,
                LI.c.product_id,
                flags,
                func.coalesce(LI.c.acked_quantity, UNKNOWN_ACKED),
                raw_column(LI.c.acked_price),
                *preorder,
            ).where(of_listings)
            listing_integers: tuple[int, ...] = (0, 1, 2, 3)
            # keyed: the product and the channel (location) as one number, product id * key + id, one
            # column less per pair where the ids allow it (read when the chunk's ids stay within the limit)
            # (split again with shifts and masks: the same as // and % by a power of two, for any sign)
            self._channel_bits = max(channel_ids, default=0).bit_length()
            self._location_bits = max(location_ids, default=0).bit_length()
            self._channel_key, self._location_key = 1 << self._channel_bits, 1 << self._location_bits
            self._key_limit = KEYED_BELOW // max(self._channel_key, self._location_key)
            keyable = min((*channel_ids, *location_ids), default=0) >= 0
            keyed_stock = select(
                S.c.product_id * self._location_key + S.c.location_id, S.c.on_hand, S.c.reserved
            ).where(of_stock)
            keyed_listings = select(
                LI.c.product_id * self._channel_key + LI.c.channel_id, *listings.selected_columns[2:]
            ).where(of_listings)
            self._stock_keyed = Columns(dialect, keyed_stock, (0, 1, 2)) if keyable else None
            self._listings_keyed = Columns(dialect, keyed_listings, (0, 1, 2)) if keyable else None
        else:
            flags = (
                case((LI.c.dirty.is_(True), PLAN_DIRTY), else_=0)
                + case(
                    (LI.c.acked_available.is_(True), PLAN_ACKED_AVAILABLE),
                    (LI.c.acked_available.is_(False), PLAN_ACKED_UNAVAILABLE),
                    else_=0,
                )
                + case((LI.c.acked_quantity.is_(None), 0), else_=PLAN_ACKED_KNOWN)
                + case((func.coalesce(LI.c.acked_preorder, "") == "", 0), else_=PLAN_ACKED_PREORDER)
            )
            listings = select(
                LI.c.channel_id,
                LI.c.product_id,
                flags,
                func.coalesce(LI.c.acked_quantity, 0),
                raw_column(LI.c.acked_price),
                *preorder,
                LI.c.dirty_mark,
            ).where(of_listings)
            listing_integers = (0, 1, 2, 3, 5 + len(preorder))
        kits = select(KC.c.kit_id, KC.c.component_id, KC.c.quantity).where(of_chunk(KC.c.kit_id))
        component_stock = select(S.c.product_id, S.c.location_id, S.c.on_hand, S.c.reserved).where(
            and_(
                S.c.location_id.in_(list(location_ids)),
                one_of(S.c.product_id, "components"),
            )
        )
        self._products = Columns(dialect, products, whole)
        self._stock = Columns(dialect, stock, (0, 1, 2, 3))
        self._kits = Columns(dialect, kits, (0, 1, 2))
        # the chunk's products that are components, and who draws on the components on each channel
        self._components = Columns(
            dialect, select(KC.c.component_id).where(of_chunk(KC.c.component_id)).distinct(), (0,)
        )
        # (driven by the components' index, then the listings' key: never a scan of a channel's listings)
        self._using = Columns(
            dialect,
            select(KC.c.kit_id, KC.c.component_id, KC.c.quantity).where(
                one_of(KC.c.component_id, "components")
            ),
            (0, 1, 2),
        )
        self._listed = Columns(
            dialect,
            select(LI.c.channel_id, LI.c.product_id).where(
                and_(
                    LI.c.channel_id.in_(list(channel_ids)),
                    LI.c.missing.is_(False),
                    one_of(LI.c.product_id, "components"),
                )
            ),
            (0, 1),
        )
        self._component_stock = Columns(dialect, component_stock, (0, 1, 2, 3))
        self._listings = Columns(dialect, listings, listing_integers)
        # a lean read's preorder signals: of the few listings that hold one, by product
        self._preorders = Columns(
            dialect,
            select(LI.c.channel_id, LI.c.product_id, LI.c.acked_preorder).where(
                and_(LI.c.channel_id.in_(list(channel_ids)), one_of(LI.c.product_id, "ids"))
            ),
            (0, 1),
        )
        # a lean chunk's SKUs and tags, of the products a plan builds or explains
        details = select(P.c.id, P.c.sku, P.c.tags)
        self._details_between = Columns(
            dialect, details.where(and_(P.c.id >= bindparam("low"), P.c.id <= bindparam("high"))), (0,)
        )
        self._details_of = Columns(dialect, details.where(one_of(P.c.id, "ids")), (0,))
        # the names of the listings a plan pushes: a range of the chunk, or the few products asked for
        names = select(LI.c.product_id, LI.c.channel_sku, raw_column(cast(LI.c.ids, Text))).where(
            LI.c.channel_id == bindparam("channel")
        )
        self._names_between = Columns(
            dialect,
            names.where(and_(LI.c.product_id >= bindparam("low"), LI.c.product_id <= bindparam("high"))),
            (0,),
        )
        self._names_of = Columns(dialect, names.where(one_of(LI.c.product_id, "ids")), (0,))

    def read(
        self,
        conn: Connection,
        *,
        after_product_id: int | None = None,
        product_ids: Sequence[int] = (),
        limit: int = 0,
    ) -> PlanChunk:
        """The chunk of ``product_ids`` (``by_ids``), or of the ``limit`` products after
        ``after_product_id`` (the first ones without it)."""
        if self.by_ids:
            params: dict[str, Any] = {"ids": list(product_ids)}
            products = self._products.read(conn, **params)
        else:
            if after_product_id is None:
                assert self._first is not None
                products = self._first.read(conn, limit=limit)
            else:
                products = self._products.read(conn, after=after_product_id, limit=limit)
            if len(products[0]):
                params = {"low": int(products[0].min()), "high": int(products[0].max())}
        if self.lean:  # id, (no sku, no tags), price, currency, active, version
            products = [products[0], None, None, *products[1:]]
        chunk = PlanChunk(self.channel_ids, self.location_ids, products, [()] * 4, [()] * 7, self._no_names)
        if not len(chunk):
            return chunk
        ids = products[0]
        keyed = self.packed and max(-int(ids.min()), int(ids.max())) < self._key_limit
        if not self.location_ids:
            stock = chunk.stock
        elif keyed and self._stock_keyed is not None:
            key, on_hand, reserved = self._stock_keyed.read(conn, **params)
            stock = [key >> self._location_bits, key & (self._location_key - 1), on_hand, reserved]
        else:
            stock = self._stock.read(conn, **params)
        listings = self._listings_of(conn, params, keyed) if self.channel_ids else chunk.listings
        incoming: dict[int, dict[int, tuple[int, date | None]]] = {}
        if self.incoming and self.location_ids:
            wanted = set(self.location_ids)
            for pid, per_location in incoming_for(conn, products[0].tolist()).items():
                mine = {lid: v for lid, v in per_location.items() if lid in wanted}
                if mine:
                    incoming[pid] = mine
        kits = self._kits.read(conn, **params)
        parts: Sequence[Any] = ((), (), (), ())
        draws: Sequence[Any] = ((), (), (), ())
        listed: Sequence[Any] = ((), ())
        among = self._components.read(conn, **params)[0]
        if len(kits[0]) or len(among):
            import numpy as np

            components = sorted(set(kits[1].tolist()) | set(among.tolist()))
            # what the chunk's own reads hold is not read again: only the products outside it
            inside = products[0]
            if self.location_ids:  # a kit's own records hold nothing: its stock is its components'
                needed = np.asarray(components, dtype=np.int64)
                parts = self._component_stock.read(conn, components=needed[~np.isin(needed, inside)].tolist())
                own = ~np.isin(stock[0], kits[0])
                stock = [column[own] for column in stock]
            if self.channel_ids:
                using = self._using.read(conn, components=components)
                named = np.unique(np.concatenate([np.asarray(components, dtype=np.int64), using[0]]))
                held = np.isin(listings[1], named)
                more = self._listed.read(conn, components=named[~np.isin(named, inside)].tolist())
                listed = [
                    np.concatenate([listings[0][held], more[0]]),
                    np.concatenate([listings[1][held], more[1]]),
                ]
                draws = _drawing(using, listed)
        return PlanChunk(
            self.channel_ids,
            self.location_ids,
            products,
            stock,
            listings,
            self._no_names,
            incoming,
            kits=kits,
            component_stock=parts,
            details=self._no_details if self.lean else None,
            draws=draws,
            listed=listed,
        )

    def _listings_of(self, conn: Connection, params: dict[str, Any], keyed: bool) -> list[Any]:
        """The listing columns of a chunk in the :class:`PlanChunk` layout."""
        import numpy as np

        if keyed and self._listings_keyed is not None:
            key, *listings = self._listings_keyed.read(conn, **params)
            listings = [key & (self._channel_key - 1), key >> self._channel_bits, *listings]
        else:
            listings = self._listings.read(conn, **params)
        if self.packed:  # flags and mark as one number; an unknown acknowledged quantity marked
            channels, products, packed, acked, prices, *rest = listings
            known = acked != UNKNOWN_ACKED
            flags = packed & 31 | np.where(known, PLAN_ACKED_KNOWN, 0)
            listings = [channels, products, flags, np.where(known, acked, 0), prices, *rest, packed >> 5]
        if self.lean:  # the preorder signals of the listings that hold one, none elsewhere
            channels, products, flags = listings[:3]
            signals: list[Any] = [None] * len(products)
            held = np.flatnonzero(flags & PLAN_ACKED_PREORDER)
            if len(held):
                read = self._preorders.read(conn, ids=sorted(set(products[held].tolist())))
                found = dict(zip(zip(read[0].tolist(), read[1].tolist(), strict=True), read[2], strict=True))
                for j in held.tolist():
                    signals[j] = found.get((int(channels[j]), int(products[j])))
            listings = [*listings[:5], signals, listings[5]]
        return listings

    @staticmethod
    def _no_details(product_ids: Any) -> tuple[list[Any], list[Any]]:
        raise NotImplementedError("bind the details to a connection: PlanQueries.details_in")

    def details_in(self, connect: Callable[[], Any]) -> Details:
        """:attr:`PlanChunk.details` reading through connections from ``connect``."""

        def details(product_ids: Any) -> tuple[list[Any], list[Any]]:
            return self._by_product(connect, product_ids, self._details_between, self._details_of, {})

        return details

    @staticmethod
    def _no_names(channel_id: int, product_ids: Any) -> tuple[list[Any], list[Any]]:
        raise NotImplementedError("bind the names to a connection: PlanQueries.names_in")

    def names_in(self, connect: Callable[[], Any]) -> Names:
        """:attr:`PlanChunk.names` reading through connections from ``connect`` (a context manager)."""

        def names(channel_id: int, product_ids: Any) -> tuple[list[Any], list[Any]]:
            params = {"channel": channel_id}
            return self._by_product(connect, product_ids, self._names_between, self._names_of, params)

        return names

    @staticmethod
    def _by_product(
        connect: Callable[[], Any], product_ids: Any, between: Columns, of: Columns, params: dict[str, Any]
    ) -> tuple[list[Any], list[Any]]:
        """The two columns after the product id that ``between`` (a range of ids) or ``of`` (a list)
        read, for each of ``product_ids`` (None and None for a row not found)."""
        import numpy as np

        wanted = np.asarray(product_ids, dtype=np.int64)
        if not len(wanted):
            return [], []
        low, high = int(wanted.min()), int(wanted.max())
        with connect() as conn:
            if high - low < 4 * len(wanted):  # most of a range: scan it
                got, first, second = between.read(conn, low=low, high=high, **params)
            else:
                got, first, second = of.read(conn, ids=wanted.tolist(), **params)
        if len(got) == len(wanted) and bool((got == wanted).all()):
            return first, second  # the usual case of a full plan: every pair of the range
        if len(got) > 1 and not bool((got[1:] > got[:-1]).all()):  # key order, unless not
            order = np.argsort(got, kind="stable")
            got, first, second = (
                got[order],
                [first[j] for j in order.tolist()],
                [second[j] for j in order.tolist()],
            )
        at = np.searchsorted(got, wanted).clip(max=max(len(got) - 1, 0))
        found = got[at] == wanted if len(got) else np.zeros(len(wanted), dtype=np.bool_)
        rows = at.tolist()
        if bool(found.all()):
            return [first[j] for j in rows], [second[j] for j in rows]
        hits = found.tolist()
        return (
            [first[j] if ok else None for j, ok in zip(rows, hits, strict=True)],
            [second[j] if ok else None for j, ok in zip(rows, hits, strict=True)],
        )


def _drawing(using: Sequence[Any], listed: Sequence[Any]) -> list[Any]:
    """(channel id, kit id, component id, quantity) for each kit of ``using`` (kit, component,
    quantity) listed on a channel of ``listed`` (channel id, product id)."""
    import numpy as np

    kit, component, quantity = (np.asarray(c, dtype=np.int64) for c in using)
    channel_ids, products = (np.asarray(c, dtype=np.int64) for c in listed)
    parts: list[list[Any]] = [[], [], [], []]
    for channel_id in np.unique(channel_ids).tolist():
        on = np.isin(kit, products[channel_ids == channel_id])
        parts[0].append(np.full(int(on.sum()), channel_id, dtype=np.int64))
        parts[1].append(kit[on])
        parts[2].append(component[on])
        parts[3].append(quantity[on])
    empty = np.zeros(0, dtype=np.int64)
    return [np.concatenate(p) if p else empty for p in parts]
