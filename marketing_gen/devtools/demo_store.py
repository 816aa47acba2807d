"""A deterministic demo store (Northwind Outfitters): canonical users/items/interactions CSVs and brand JSON.

Owns the demo data the README's quick start imports. Does not import it (``importers``) or run campaigns.
Same ``seed`` → byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
import unicodedata
from pathlib import Path

BRAND: dict[str, object] = {
    "name": "Northwind Outfitters",
    "voice": "warm, practical and down-to-earth; short sentences; speaks like a friend who loves the outdoors; "
    "no hype, no exclamation marks in every line",
    "banned_terms": ["guaranteed", "miracle", "risk-free", "best ever", "act now"],
    "postal_address": "Northwind Outfitters Ltd, 12 Harbour Street, Bristol BS1 4QA, United Kingdom",
    "website_url": "https://shop.example.com",
    "unsubscribe_url_template": "{base_url}/u/{token}",
    "offer_policy": {"max_discount_pct": 10, "refunds": "within 30 days", "allowed_domains": ["shop.example.com"]},
}
"""The demo brand (``import brand`` input)."""

CURRENCY = "GBP"
SHOP_URL = "https://shop.example.com"
OUT_OF_STOCK = frozenset({"NW-CMP-104", "NW-JKT-503"})

# (sku, title, category, price, description: a lead sentence then short feature sentences)
CATALOG: tuple[tuple[str, str, str, str, str], ...] = (
    ("NW-MUG-001", "Enamel Camp Mug", "Kitchen > Mugs", "12.00",
     "A classic speckled enamel mug for tea at the trailhead. 350 ml capacity. Chip-resistant enamel. "
     "Rolled rim that is comfortable to drink from."),
    ("NW-MUG-002", "Double-Wall Insulated Mug", "Kitchen > Mugs", "22.50",
     "Keeps coffee hot through a long morning on the porch. Double-wall stainless steel. 400 ml. "
     "Splash-proof slider lid."),
    ("NW-MUG-003", "Stoneware Mug Set of 2", "Kitchen > Mugs", "24.00",
     "Hand-glazed stoneware mugs in moss green. 300 ml each. Dishwasher and microwave safe. Made in Portugal."),
    ("NW-MUG-004", "Collapsible Silicone Cup", "Kitchen > Mugs", "9.50",
     "Folds flat to fit a hip-belt pocket. Food-grade silicone. 250 ml. Heat-resistant to 120 °C."),
    ("NW-MUG-005", "Walnut Handle Espresso Cups", "Kitchen > Mugs", "18.00",
     "Two small porcelain cups with walnut handles. 90 ml each. Matching saucers included."),
    ("NW-COF-101", "Pour-Over Coffee Dripper", "Kitchen > Coffee & Tea", "19.00",
     "A ceramic cone dripper for a clean, bright cup. Fits most mugs. Uses size 02 paper filters."),
    ("NW-COF-102", "Hand Grinder with Steel Burrs", "Kitchen > Coffee & Tea", "45.00",
     "Grinds enough for two cups in under a minute. Conical steel burrs. 30 grind settings. Packs small."),
    ("NW-COF-103", "Loose Leaf Tea Tin Trio", "Kitchen > Coffee & Tea", "16.50",
     "Three airtight tins of organic loose leaf tea: breakfast, Earl Grey and mint. 50 g each."),
    ("NW-COF-104", "Gooseneck Kettle 1 L", "Kitchen > Coffee & Tea", "39.00",
     "Precise pouring for pour-over coffee. Stainless steel. Works on gas, electric and induction hobs."),
    ("NW-COF-105", "Cold Brew Bottle", "Kitchen > Coffee & Tea", "21.00",
     "Make smooth cold brew overnight in the fridge. 1 litre glass bottle. Fine mesh filter. Silicone grip."),
    ("NW-CKW-201", "Cast Iron Skillet 26 cm", "Kitchen > Cookware", "34.00",
     "Pre-seasoned cast iron that goes from hob to oven to campfire. 26 cm. Helper handle. Lasts for decades."),
    ("NW-CKW-202", "Nesting Camp Cook Set", "Kitchen > Cookware", "48.00",
     "Two pots, a pan and lids that nest into one bag. Hard-anodised aluminium. Folding handles. Serves 2–3."),
    ("NW-CKW-203", "Oak Chopping Board", "Kitchen > Cookware", "27.00",
     "End-grain oak board that is kind to knives. 35 × 25 cm. Juice groove. Oiled with food-safe linseed."),
    ("NW-CKW-204", "Linen Tea Towels Set of 3", "Kitchen > Cookware", "15.00",
     "Stonewashed linen towels that dry glasses without lint. 50 × 70 cm. Hanging loop."),
    ("NW-CKW-205", "Titanium Spork", "Kitchen > Cookware", "11.00",
     "One utensil for every camp meal. 18 g. Titanium. Polished edges."),
    ("NW-CMP-101", "Two-Person Backpacking Tent", "Outdoor > Camping", "189.00",
     "A freestanding tent that pitches in five minutes. 1.9 kg. Two doors and two porches. 3000 mm flysheet."),
    ("NW-CMP-102", "Down Sleeping Bag -5 °C", "Outdoor > Camping", "149.00",
     "Warm, light and packs to the size of a loaf. Responsibly sourced down. Comfort -5 °C. 980 g."),
    ("NW-CMP-103", "Self-Inflating Sleeping Mat", "Outdoor > Camping", "59.00",
     "Open the valve and it inflates itself. 5 cm thick. R-value 3.5. Stuff sack included."),
    ("NW-CMP-104", "Rechargeable Camp Lantern", "Outdoor > Camping", "29.00",
     "Warm light for the tent or the table. 300 lumens. USB-C charging. Runs 40 hours on low."),
    ("NW-CMP-105", "Folding Camp Chair", "Outdoor > Camping", "42.00",
     "Sit comfortably around the fire. Holds 120 kg. Cup holder. Folds into a shoulder bag."),
    ("NW-HIK-201", "Trekking Poles Pair", "Outdoor > Hiking", "54.00",
     "Aluminium poles that save your knees on the descent. Adjustable 105–135 cm. Cork grips. Flick locks."),
    ("NW-HIK-202", "Daypack 22 L", "Outdoor > Hiking", "65.00",
     "A comfortable pack for long days out. 22 litres. Ventilated back panel. Hydration sleeve. Rain cover."),
    ("NW-HIK-203", "Merino Hiking Socks", "Outdoor > Hiking", "16.00",
     "Cushioned merino socks that stay fresh for days. Reinforced heel and toe. Sizes 3–12."),
    ("NW-HIK-204", "Stainless Water Bottle 750 ml", "Outdoor > Hiking", "24.00",
     "Keeps water cold for 24 hours. 750 ml. Leak-proof cap. Fits most bottle pockets."),
    ("NW-HIK-205", "Head Torch 400", "Outdoor > Hiking", "32.00",
     "Bright enough for a night descent. 400 lumens. Red light mode. Rechargeable. IPX4."),
    ("NW-PIC-301", "Waterproof Picnic Blanket", "Outdoor > Picnic", "36.00",
     "Soft wool-blend top with a waterproof backing. 150 × 200 cm. Rolls up with a leather strap."),
    ("NW-PIC-302", "Wicker Picnic Basket for 4", "Outdoor > Picnic", "79.00",
     "A willow basket with plates, cups and cutlery for four. Insulated cool compartment. Leather buckles."),
    ("NW-PIC-303", "Insulated Food Flask", "Outdoor > Picnic", "26.00",
     "Hot soup at the top of the hill. 500 ml. Keeps food hot for 9 hours. Wide mouth for easy cleaning."),
    ("NW-PIC-304", "Enamel Plate Set of 4", "Outdoor > Picnic", "28.00",
     "Speckled enamel plates that survive drops on rocks. 24 cm. Stackable. Oven safe."),
    ("NW-PIC-305", "Soft Cool Bag 15 L", "Outdoor > Picnic", "38.00",
     "Keeps drinks cold all afternoon. 15 litres. Leak-proof liner. Padded shoulder strap."),
    ("NW-CND-401", "Cedar & Pine Soy Candle", "Home > Candles", "18.00",
     "Smells like a walk through the forest. Hand-poured soy wax. Cotton wick. Burns for 45 hours."),
    ("NW-CND-402", "Beeswax Taper Candles Pair", "Home > Candles", "12.50",
     "Natural beeswax tapers with a gentle honey scent. 25 cm. Drip-less. Made in Devon."),
    ("NW-CND-403", "Campfire Scented Tin Candle", "Home > Candles", "14.00",
     "Smoky campfire scent in a travel tin. Soy wax. 25-hour burn. Lid included."),
    ("NW-CND-404", "Brass Candle Holder", "Home > Candles", "22.00",
     "A solid brass holder that ages beautifully. Fits standard tapers. Felt base protects tables."),
    ("NW-CND-405", "Tealight Lantern Set of 3", "Home > Candles", "25.00",
     "Glass and black steel lanterns for the windowsill or garden table. Three sizes. Tealights included."),
    ("NW-TEX-501", "Wool Throw Blanket", "Home > Textiles", "69.00",
     "A heavy wool throw for the sofa or the tent. 130 × 180 cm. Woven in Wales. Fringed edges."),
    ("NW-TEX-502", "Linen Cushion Cover", "Home > Textiles", "19.00",
     "Washed linen cover in forest green. 45 × 45 cm. Hidden zip. Machine washable."),
    ("NW-TEX-503", "Waffle Cotton Bath Towel", "Home > Textiles", "24.00",
     "Light, quick-drying waffle towel. 70 × 140 cm. Organic cotton. Gets softer with every wash."),
    ("NW-TEX-504", "Knitted Hot Water Bottle", "Home > Textiles", "21.00",
     "A 2 litre bottle in a chunky knitted cover. Natural rubber. Removable, washable cover."),
    ("NW-TEX-505", "Sherpa Fleece Blanket", "Home > Textiles", "39.00",
     "Plush fleece on one side, sherpa on the other. 150 × 200 cm. Machine washable."),
    ("NW-DEC-601", "Topographic Map Print", "Home > Decor", "30.00",
     "A contour map print of the Lake District. A3. Printed on recycled paper. Frame not included."),
    ("NW-DEC-602", "Driftwood Wall Hooks", "Home > Decor", "17.00",
     "Three hooks made from Cornish driftwood. Each holds 5 kg. Screws included."),
    ("NW-DEC-603", "Ceramic Bud Vase", "Home > Decor", "15.00",
     "A small speckled vase for wildflowers. 12 cm tall. Hand-thrown. Waterproof glaze."),
    ("NW-DEC-604", "Oak Wall Shelf", "Home > Decor", "45.00",
     "A floating shelf in solid oak. 60 cm. Holds 15 kg. Hidden fixings."),
    ("NW-DEC-605", "Jute Doormat", "Home > Decor", "23.00",
     "A hard-wearing jute mat that scrapes off trail mud. 40 × 60 cm. Non-slip backing."),
    ("NW-GDN-701", "Hand Trowel and Fork Set", "Garden > Tools", "26.00",
     "Stainless steel heads with ash handles. Rust-resistant. Leather hanging loops."),
    ("NW-GDN-702", "Leather Gardening Gloves", "Garden > Tools", "19.50",
     "Goatskin gloves that protect from thorns. Breathable back. Sizes S–XL."),
    ("NW-GDN-703", "Galvanised Watering Can 5 L", "Garden > Tools", "34.00",
     "A traditional watering can with a brass rose. 5 litres. Galvanised steel. Balanced handle."),
    ("NW-GDN-704", "Pruning Secateurs", "Garden > Tools", "29.00",
     "Bypass secateurs for clean cuts. Cuts up to 20 mm. Replaceable blade. Safety lock."),
    ("NW-GDN-705", "Kneeling Pad", "Garden > Tools", "12.00",
     "Thick foam pad that saves your knees. Water-resistant. Carry handle."),
    ("NW-PLT-801", "Terracotta Herb Pots Set of 3", "Garden > Planters", "18.00",
     "Classic terracotta pots for a windowsill herb garden. 12 cm. Drainage holes. Saucers included."),
    ("NW-PLT-802", "Hanging Macramé Planter", "Garden > Planters", "16.00",
     "Hand-knotted cotton planter for trailing plants. 90 cm drop. Fits pots up to 18 cm."),
    ("NW-PLT-803", "Raised Bed Planter", "Garden > Planters", "89.00",
     "A cedar raised bed for vegetables on a patio. 120 × 60 cm. Weather-resistant. Tool-free assembly."),
    ("NW-PLT-804", "Self-Watering Planter", "Garden > Planters", "28.00",
     "A reservoir keeps plants watered for up to two weeks. 25 cm. Water level indicator."),
    ("NW-PLT-805", "Seed Starter Kit", "Garden > Planters", "22.00",
     "Everything to start tomatoes, basil and chillies on a windowsill. Peat-free compost. Reusable tray."),
    ("NW-JKT-501", "Packable Rain Jacket", "Apparel > Jackets", "95.00",
     "A waterproof, breathable shell that packs into its own pocket. 10,000 mm. Taped seams. Adjustable hood."),
    ("NW-JKT-502", "Insulated Puffer Vest", "Apparel > Jackets", "72.00",
     "Warm core layer for cold mornings. Recycled insulation. Packs into its pocket. Water-repellent finish."),
    ("NW-JKT-503", "Waxed Cotton Field Jacket", "Apparel > Jackets", "165.00",
     "A waxed cotton jacket that gets better with age. Corduroy collar. Four pockets. Re-waxable."),
    ("NW-ACC-601", "Merino Beanie", "Apparel > Accessories", "22.00",
     "A soft, itch-free merino beanie. One size. Made in Scotland."),
    ("NW-ACC-602", "Waxed Canvas Tote", "Apparel > Accessories", "48.00",
     "A sturdy tote for market days and beach days. Waxed canvas. Leather handles. Inner zip pocket."),
    ("NW-ACC-603", "Wool Buff Neck Gaiter", "Apparel > Accessories", "19.00",
     "Wear it as a scarf, a hat or a face cover on windy ridges. Merino wool. One size."),
)  # fmt: skip
"""The 61 demo items: (sku, title, category path, price in GBP, description)."""

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # locale: (first names, last names, countries)
    "en": (
        ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Ella", "Sophie", "Oliver", "George",
         "Harry", "Noah", "Jack", "Leo", "Arthur", "Oscar", "Charlie", "Thomas", "Priya", "Aisha", "Sean", "Niamh"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Patel", "Khan", "Murphy",
         "Walsh", "Roberts", "Wright", "Hughes", "Green"),
        ("United Kingdom", "United Kingdom", "United Kingdom", "United Kingdom", "Ireland"),
    ),
    "de": (
        ("Lukas", "Anna", "Leon", "Mia", "Finn", "Lena", "Jonas", "Marie", "Felix", "Hannah"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Wagner"),
        ("Germany", "Germany", "Austria"),
    ),
    "fr": (
        ("Camille", "Louis", "Léa", "Gabriel", "Chloé", "Hugo", "Manon", "Jules", "Inès", "Arthur"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"),
        ("France", "France", "Belgium"),
    ),
    "es": (
        ("Lucía", "Mateo", "Sofía", "Hugo", "Martina", "Leo", "Paula", "Daniel", "Valeria", "Pablo"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"),
        ("Spain", "Spain", "Spain"),
    ),
}  # fmt: skip
_PHONE_PREFIX = {
    # country: (international, national) prefix; three digits follow. Odd users get the international form,
    # even ones the national form people type, which the importer reads in the user's country (E.164).
    "United Kingdom": ("+44 7400 123", "07400 123"), "Ireland": ("+353 85 123 4", "085 123 4"),
    "Germany": ("+49 151 2345 6", "0151 2345 6"), "Austria": ("+43 660 123 4", "0660 123 4"),
    "France": ("+33 6 12 34 5", "06 12 34 5"), "Belgium": ("+32 470 12 3", "0470 12 3"),
    "Spain": ("+34 600 12 3", "600 12 3"),
}  # fmt: skip
_EPOCH = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
"""Interactions fall in the 90 days before this fixed date (fixed, so files are reproducible)."""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def write_demo_store(out_dir: str | Path, *, users: int = 120, seed: int = 0) -> dict[str, Path]:
    """Write users.csv, items.csv, interactions.csv and brand.json for the demo store; returns their paths."""
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "users": out / "users.csv",
        "items": out / "items.csv",
        "interactions": out / "interactions.csv",
        "brand": out / "brand.json",
    }
    categories = sorted({c[2] for c in CATALOG})
    by_category = {cat: [c[0] for c in CATALOG if c[2] == cat] for cat in categories}

    with paths["items"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["item_id", "title", "description", "category", "price", "currency", "url", "image_url",
                    "in_stock", "material"])  # fmt: skip
        for sku, title, category, price, description in CATALOG:
            slug = sku.lower()
            material = rng.choice(("recycled", "natural", "stainless", "organic", "")) if rng.random() < 0.5 else ""
            w.writerow([sku, title, description, category, price, CURRENCY, f"{SHOP_URL}/p/{slug}",
                        f"{SHOP_URL}/img/{slug}.jpg", _yes(sku not in OUT_OF_STOCK), material])  # fmt: skip

    user_rows = []
    locales = ["en"] * 7 + ["de", "fr", "es"]
    for i in range(1, users + 1):
        locale = rng.choice(locales)
        firsts, lasts, countries = _NAMES[locale]
        first, last, country = rng.choice(firsts), rng.choice(lasts), rng.choice(countries)
        email_local = f"{first}.{last}{i}".lower()
        # Plain ASCII local parts: strip accents (á → a, ß stays out of the name lists).
        email_local = unicodedata.normalize("NFKD", email_local).encode("ascii", "ignore").decode()
        sms = rng.random() < 0.3
        phone = f"{_PHONE_PREFIX[country][i % 2 == 0]}{i:03d}" if sms or rng.random() < 0.2 else ""
        row = [f"C{i:05d}", f"{email_local}@example.com", "" if rng.random() < 0.03 else first, last, locale,
               country, phone, _yes(rng.random() < 0.85), _yes(sms), _yes(rng.random() < 0.4),
               _yes(rng.random() < 0.5), rng.choice(("bronze", "bronze", "silver", "gold"))]  # fmt: skip
        # Push users have the app: odd ones on iOS (an APNs token), even ones on Android (an FCM token); every
        # fifth push user has not opened the app since the token system changed (no token: no push draft).
        token = hashlib.sha256(f"demo-device-{i}".encode()).hexdigest()
        has_app = row[9] == "yes" and i % 5 != 0
        row += [token if has_app and i % 2 else "", f"demo-fcm:{token[:48]}" if has_app and not i % 2 else ""]
        user_rows.append(row)
    with paths["users"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["user_id", "email", "first_name", "last_name", "locale", "country", "phone", "email_consent",
                    "sms_consent", "push_consent", "ads_consent", "loyalty_tier", "apns_token",
                    "fcm_token"])  # fmt: skip
        w.writerows(user_rows)

    with paths["interactions"].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["user_id", "item_id", "event", "timestamp", "quantity"])
        for row in user_rows:
            favourite, second = rng.sample(categories, 2)
            seen: set[tuple[str, str, str]] = set()
            for _ in range(rng.randint(20, 40)):
                roll = rng.random()
                pool = by_category[favourite] if roll < 0.65 else by_category[second] if roll < 0.8 else None
                sku = rng.choice(pool) if pool else rng.choice(CATALOG)[0]
                event = rng.choices(("view", "cart", "purchase"), weights=(6, 2, 2))[0]
                ts = _EPOCH - dt.timedelta(seconds=rng.randrange(90 * 24 * 3600))
                stamp = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
                if (sku, event, stamp) in seen:
                    continue
                seen.add((sku, event, stamp))
                quantity = rng.choice((1, 1, 1, 2)) if event == "purchase" else 1
                w.writerow([row[0], sku, event, stamp, quantity])

    paths["brand"].write_text(json.dumps(BRAND, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
