"""Who is in the simulated marketplace: customers, sellers, the platform's warehouses,
carriers and the catalogue, each with the traits that make their orders go well or badly.

The traits (a seller who ships late, a carrier that loses parcels, a book edition printed
with missing pages) are the world's ground truth. They stay here, on the simulator's side:
ordercare only ever sees the events these parties produce.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ordercare.sim import names

# Fault rates per parcel a seller (or a warehouse) prepares: late = ships after its ship-by;
# never = never ships; cancel = cancels the lines (out of stock); fake_label = marks the
# parcel shipped (label printed) days before handing it to the carrier; wrong_item = sends
# something else (only the customer can see it).
SELLER_PROFILES: dict[str, dict[str, float]] = {
    "good": {"late": 0.02, "never": 0.002, "cancel": 0.006, "fake_label": 0.003, "wrong_item": 0.003},
    "slow": {"late": 0.30, "never": 0.02, "cancel": 0.01, "fake_label": 0.06, "wrong_item": 0.005},
    "canceller": {"late": 0.04, "never": 0.004, "cancel": 0.16, "fake_label": 0.005, "wrong_item": 0.005},
    "unresponsive": {"late": 0.12, "never": 0.10, "cancel": 0.01, "fake_label": 0.02, "wrong_item": 0.005},
    "wrong_items": {"late": 0.03, "never": 0.003, "cancel": 0.01, "fake_label": 0.005, "wrong_item": 0.12},
}
BAD_PROFILES = ("slow", "canceller", "unresponsive", "wrong_items")
# The platform's warehouses weigh every parcel at the pack station: a wrong item would be
# caught there, so none reaches a customer from them in this world.
FC_PROFILE = {"late": 0.008, "never": 0.001, "cancel": 0.0, "fake_label": 0.0, "wrong_item": 0.0}
FC_BACKLOG_LATE = 0.30  # share of parcels leaving late while a warehouse has a backlog


@dataclass(frozen=True)
class CarrierTraits:
    carrier_id: str
    name: str
    share: float          # of the seller parcels handed to it
    express: float        # of the Prime parcels handed to it
    lost: float           # never scanned at all
    late_scan: float      # first scan days after pick-up
    stall: float          # stops moving for days
    exception: float      # scans an exception (address, damage)
    slow: float           # misses a sort: one more day in transit
    prefix: str


CARRIERS = (
    CarrierTraits("colibri", "Colibri Express", 0.45, 0.6, 0.002, 0.002, 0.004, 0.006, 0.04, "CB"),
    CarrierTraits("swiftpost", "SwiftPost", 0.35, 0.4, 0.002, 0.002, 0.005, 0.008, 0.05, "SP"),
    CarrierTraits("rapidoo", "Rapidoo", 0.20, 0.0, 0.02, 0.008, 0.04, 0.03, 0.15, "RP"),
)
FLAKY_CARRIER = "rapidoo"

# Destination regions: (name, country, weight for French customers, extra transit days).
REGIONS = (
    ("Île-de-France", "FR", 0.30, 0.0), ("Lyon", "FR", 0.10, 0.0), ("Marseille", "FR", 0.08, 0.0),
    ("Lille", "FR", 0.07, 0.0), ("Bordeaux", "FR", 0.07, 0.0), ("Toulouse", "FR", 0.07, 0.0),
    ("Nantes", "FR", 0.06, 0.0), ("Rural France", "FR", 0.22, 0.35), ("Corse", "FR", 0.03, 1.0),
    ("United Kingdom", "GB", 0.0, 1.0),
)


@dataclass(eq=False)
class Customer:
    customer_id: str
    lang: str
    tz_min: int
    name: str
    notify: str
    prime: bool
    region: int
    address: dict[str, str]
    phone: str | None
    watcher: bool        # checks the tracking page every day
    patience: float      # scales how long they wait before writing


@dataclass
class Seller:
    seller_id: str
    name: str
    handling_days: int
    profile: str
    weight: float


@dataclass
class Fc:
    fc_id: str
    name: str
    lat: float
    lon: float
    backlog: tuple[int, int] | None = None  # [from, to) microseconds: a backlog at the dock


@dataclass(eq=False)
class Sku:
    sku: str
    title: str
    weight_g: int
    price: float
    seller_id: str
    fc_id: str | None     # stocked at the platform's warehouse: platform-fulfilled, Prime
    weight: float
    category: str = ""
    defect: str | None = None   # "damaged" (missing pages) or "not_as_described"
    defect_rate: float = 0.0
    spike: Spike | None = None  # a hot item: its demand jumps (sim/supply.py)
    supplier_id: str | None = None    # replenished during the horizon from this supplier
    lead_time_days: int | None = None

    @property
    def managed(self) -> bool:
        """Replenished by purchase orders during the horizon (else stocked for the season)."""
        return self.supplier_id is not None


@dataclass(frozen=True)
class Spike:
    """A craze: demand ramps up over ``ramp_days`` from ``start_us`` to ``factor`` times its
    usual pace, then fades with a time constant of ``decay_days``."""

    start_us: int
    factor: float
    decay_days: float
    ramp_days: float = 3.0

    def multiplier(self, at_us: int) -> float:
        since = (at_us - self.start_us) / 86_400_000_000
        if since < 0:
            return 1.0
        ramp = min(1.0, (since + 1.0) / self.ramp_days)
        return 1.0 + (self.factor - 1.0) * ramp * math.exp(-since / self.decay_days)


@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    name: str
    lat: float
    lon: float
    fc_id: str               # the FC whose milk run collects from it
    ready_from: str = "08:00"
    ready_until: str = "16:00"
    dock_minutes: int = 20


@dataclass
class Market:
    customers: list[Customer]
    sellers: dict[str, Seller]
    fcs: dict[str, Fc]
    skus: list[Sku]
    carriers: dict[str, CarrierTraits] = field(default_factory=lambda: {c.carrier_id: c for c in CARRIERS})
    suppliers: dict[str, Supplier] = field(default_factory=dict)

    @property
    def hot_skus(self) -> list[Sku]:
        return [k for k in self.skus if k.spike is not None]

    @property
    def managed_skus(self) -> list[Sku]:
        return [k for k in self.skus if k.managed]

    @property
    def bad_sellers(self) -> list[str]:
        return [s.seller_id for s in self.sellers.values() if s.profile != "good"]

    @property
    def bad_skus(self) -> list[str]:
        return [k.sku for k in self.skus if k.defect]


def build_market(rng: random.Random, n_orders: int, start_us: int, horizon_us: int) -> Market:
    """A marketplace sized for ``n_orders``: about one customer per four orders, dozens of
    sellers, one SKU per dozen orders (at least a hundred)."""
    customers = [_customer(rng, i) for i in range(max(50, n_orders // 4))]
    sellers = _sellers(rng, 40)
    fcs = {
        "fc-bretigny": Fc("fc-bretigny", "Brétigny-sur-Orge", 48.61, 2.31),
        "fc-lyon": Fc("fc-lyon", "Saint-Priest (Lyon)", 45.70, 4.94,
                      backlog=(start_us + int(horizon_us * 0.40), start_us + int(horizon_us * 0.52))),
    }
    skus = _catalogue(rng, max(100, min(2000, n_orders // 12)), sellers)
    market = Market(customers, sellers, fcs, skus)
    # Drawn last, from the same generator: the parties above are those of a world without them.
    from ordercare.sim.supply import add_hot_items, assign_suppliers
    add_hot_items(rng, market, start_us, horizon_us)
    assign_suppliers(rng, market)
    return market


def _customer(rng: random.Random, i: int) -> Customer:
    lang = "fr" if rng.random() < 0.6 else "en"
    uk = lang == "en" and rng.random() < 0.6
    region = len(REGIONS) - 1 if uk else rng.choices(range(len(REGIONS)), [r[2] for r in REGIONS])[0]
    name = names.person(rng, "en" if uk or (lang == "en" and rng.random() < 0.7) else "fr")
    notify = rng.choices(("every_step", "milestones", "exceptions"), (0.25, 0.55, 0.20))[0]
    return Customer(
        customer_id=f"c-{10000 + i}", lang=lang, tz_min=60 if uk else 120, name=name, notify=notify,
        prime=not uk and rng.random() < 0.3, region=region, address=names.address(rng, name, REGIONS[region]),
        phone=names.phone(rng, uk) if rng.random() < 0.7 else None,
        watcher=notify == "every_step" or rng.random() < 0.15, patience=rng.lognormvariate(0, 0.5))


def _sellers(rng: random.Random, n: int) -> dict[str, Seller]:
    weights = sorted((rng.lognormvariate(0, 1.0) for _ in range(n)), reverse=True)
    shop_names = names.shops(rng, n)
    # The bad sellers are ordinary mid-sized shops: big enough that their faults add up,
    # not the marketplace's giants.
    bad_slots = {5: "slow", 9: "canceller", 13: "unresponsive", 17: "wrong_items"}
    out = {}
    for i in range(n):
        profile = bad_slots.get(i, "good")
        sid = f"s-{101 + i}"
        out[sid] = Seller(sid, shop_names[i], rng.choice((1, 2, 2, 2, 3)), profile, weights[i])
    return out


def _catalogue(rng: random.Random, n: int, sellers: dict[str, Seller]) -> list[Sku]:
    seller_ids = list(sellers)
    seller_w = [sellers[s].weight for s in seller_ids]
    skus = []
    for i in range(n):
        title, weight_g, price, category = names.product(rng)
        seller = rng.choices(seller_ids, seller_w)[0]
        fc = None
        if rng.random() < 0.45:
            fc = "fc-bretigny" if rng.random() < 0.6 else "fc-lyon"
        skus.append(Sku(f"k-{10000 + i}", title, weight_g, price, seller, fc,
                        rng.lognormvariate(0, 1.1), category))
    # Two bad products among the well-selling ones (about 1.5 % and 1 % of orders, whatever
    # the catalogue's size): one printing with missing pages, a gadget that is not what the
    # listing says.
    total = sum(k.weight for k in skus)

    def near(share: float, pool: list[Sku]) -> Sku:
        return min(pool, key=lambda k: abs(k.weight / total - share))

    pages = near(0.015, [k for k in skus if k.category == "book"] or skus)
    pages.defect, pages.defect_rate = "damaged", 0.15
    gadget = near(0.010, [k for k in skus if k.category != "book" and k is not pages])
    gadget.defect, gadget.defect_rate = "not_as_described", 0.15
    return skus
