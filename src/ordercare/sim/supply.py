"""Where the platform's stock comes from in the simulated marketplace: the hot items whose
demand jumps during the horizon, the suppliers near each fulfilment centre, and which SKUs
are replenished by purchase orders (the rest is stocked for the season before it starts).

The spikes are ground truth: ordercare never sees them, only the orders they bring.
"""

from __future__ import annotations

import random

from ordercare.sim.world import Market, Sku, Spike, Supplier

DAY_US = 86_400_000_000
# The crazes: (title, category, grams, price, FC, start as a share of the horizon, factor,
# decay days, supplier lead time). Everyone wants the toy a fortnight in; the camera sells
# out after a review; the console and the unicorn later, as a video and a birthday fad.
HOT_ITEMS = (
    ("Robot dinosaure télécommandé", "toys", 1400, 59.0, "fc-bretigny", 0.22, 8.0, 12.0, 8),
    ("Appareil photo instantané", "electronics", 480, 89.0, "fc-lyon", 0.38, 6.0, 20.0, 8),
    ("Console portable rétro", "electronics", 320, 69.0, "fc-bretigny", 0.50, 7.0, 14.0, 1),
    ("Peluche géante licorne", "toys", 900, 35.0, "fc-lyon", 0.30, 5.0, 25.0, 1),
)
HOT_SHARE = 0.004  # each hot item's usual share of the lines sold, before its craze
# Suppliers near each FC, collected by its weekly milk run (name, lat, lon, FC).
SUPPLIERS = (
    ("sup-evry", "Jouets Essonne (Évry)", 48.63, 2.44, "fc-bretigny"),
    ("sup-massy", "Photo Optique Massy", 48.73, 2.27, "fc-bretigny"),
    ("sup-rungis", "Distri Rungis", 48.75, 2.35, "fc-bretigny"),
    ("sup-villeurbanne", "Comptoir Villeurbanne", 45.77, 4.89, "fc-lyon"),
    ("sup-venissieux", "Grossiste Vénissieux", 45.70, 4.89, "fc-lyon"),
    ("sup-vienne", "Entrepôt Vienne", 45.52, 4.87, "fc-lyon"),
)
LEAD_TIMES = (1, 8)  # a Monday purchase order is collected by Tuesday's milk run, this or next week


def add_hot_items(rng: random.Random, market: Market, start_us: int, horizon_us: int) -> None:
    """Four platform SKUs with a demand spike, sold by good sellers, usual share ``HOT_SHARE``."""
    total = sum(k.weight for k in market.skus)
    # Sold by good sellers with no faulty product: what insights says about them is the stock.
    faulty = {k.seller_id for k in market.skus if k.defect}
    good = sorted(s.seller_id for s in market.sellers.values() if s.profile == "good" and s.seller_id not in faulty)
    for i, (title, category, grams, price, fc, at, factor, decay, lead) in enumerate(HOT_ITEMS):
        spike = Spike(start_us + int(horizon_us * at) + int(rng.uniform(0, 1) * DAY_US), factor, decay)
        market.skus.append(Sku(f"k-{90001 + i}", title, grams, price, rng.choice(good[:12]), fc,
                               total * HOT_SHARE, category, spike=spike, lead_time_days=lead))


def assign_suppliers(rng: random.Random, market: Market, top: int = 24) -> None:
    """The hot items and the ``top`` best-selling platform SKUs are bought by the week from a
    supplier near their FC; every other platform SKU is stocked for the season."""
    market.suppliers = {sid: Supplier(sid, name, lat, lon, fc) for sid, name, lat, lon, fc in SUPPLIERS}
    platform = sorted((k for k in market.skus if k.fc_id and k.spike is None), key=lambda k: (-k.weight, k.sku))
    for k in [*market.hot_skus, *platform[:top]]:
        near = [s.supplier_id for s in market.suppliers.values() if s.fc_id == k.fc_id]
        k.supplier_id = rng.choice(near)
        if k.lead_time_days is None:
            k.lead_time_days = rng.choice(LEAD_TIMES)
