"""Names, addresses and product titles for the simulated marketplace (French and English)."""

from __future__ import annotations

import random

_FIRST = {
    "fr": ("Anne", "Camille", "Julien", "Léa", "Thomas", "Chloé", "Hugo", "Manon", "Nicolas", "Inès",
           "Sébastien", "Élodie", "Mathieu", "Sarah", "Antoine", "Pauline", "Karim", "Nadia", "Yann",
           "Aurélie", "Lucas", "Émilie", "François", "Zoé", "Mehdi", "Claire", "Benoît", "Jeanne"),
    "en": ("Oliver", "Amelia", "Harry", "Isla", "Jack", "Emily", "George", "Sophie", "Noah", "Grace",
           "James", "Ruby", "William", "Chloe", "Thomas", "Lily", "Daniel", "Hannah", "Samuel", "Ella",
           "Priya", "Arjun", "Fiona", "Callum", "Megan", "Owen", "Bethany", "Rhys"),
}
_LAST = {
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
           "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
           "Vincent", "Fournier", "Morel", "Girard", "Bonnet", "Mercier", "Benali", "Nguyen"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
           "Wright", "Evans", "Walker", "Roberts", "Hughes", "Green", "Hall", "Wood", "Clarke",
           "Jackson", "Turner", "Hill", "Cooper", "Ward", "Morris", "Khan", "Murphy"),
}
_STREETS = {
    "FR": ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur",
           "rue des Lilas", "place de la Mairie", "chemin des Vignes", "rue du Moulin", "allée des Tilleuls"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane",
           "Queen's Road", "The Crescent", "Orchard Close"),
}
_CITIES = {
    "Île-de-France": (("Paris", "750"), ("Montreuil", "931"), ("Versailles", "780"), ("Créteil", "940")),
    "Lyon": (("Lyon", "690"), ("Villeurbanne", "691")),
    "Marseille": (("Marseille", "130"), ("Aix-en-Provence", "131")),
    "Lille": (("Lille", "590"), ("Roubaix", "591")),
    "Bordeaux": (("Bordeaux", "330"), ("Mérignac", "337")),
    "Toulouse": (("Toulouse", "310"), ("Blagnac", "317")),
    "Nantes": (("Nantes", "440"), ("Saint-Herblain", "448")),
    "Rural France": (("Saint-Flour", "151"), ("Aubusson", "232"), ("Millau", "121"), ("Guéret", "230"),
                     ("Langres", "522"), ("Mende", "480")),
    "Corse": (("Ajaccio", "201"), ("Bastia", "202"), ("Corte", "202")),
    "United Kingdom": (("London", "SW1"), ("Manchester", "M14"), ("Bristol", "BS6"), ("Leeds", "LS6"),
                       ("Edinburgh", "EH3"), ("Cardiff", "CF10")),
}
_SHOP_A = ("Atelier", "Maison", "Librairie", "Comptoir", "Studio", "Boutique", "Bazar", "Galerie",
           "Dépôt", "Halle", "Marché", "Cabinet")
_SHOP_B = ("du Livre", "Lumière", "Tech", "Nomade", "des Arts", "Bleu", "Futé", "Malin", "Express",
           "Saint-Jean", "du Port", "Vert", "Léon", "Moderne", "Pixel", "Riviera", "Alpin", "Océan")
_BOOKS = ("Le Petit Prince", "L'Étranger", "Madame Bovary", "Les Misérables", "Germinal", "Candide",
          "Pride and Prejudice", "Jane Eyre", "Great Expectations", "The Hobbit", "Dune", "Le Rouge et le Noir",
          "Bel-Ami", "Notre-Dame de Paris", "Frankenstein", "Wuthering Heights", "Middlemarch",
          "Le Comte de Monte-Cristo", "Les Trois Mousquetaires", "Emma", "Vingt mille lieues sous les mers")
_EDITIONS = ("poche", "édition illustrée", "paperback", "hardback", "collector", "Folio", "grand format")
_GOODS = (
    ("electronics", "Écouteurs sans fil", 120, 49.0), ("electronics", "USB-C charger 65 W", 180, 29.0),
    ("electronics", "Enceinte Bluetooth", 650, 79.0), ("electronics", "Smartwatch", 90, 129.0),
    ("electronics", "Webcam HD", 160, 45.0), ("electronics", "Clavier mécanique", 900, 89.0),
    ("electronics", "iPod nano 8GB", 60, 149.0), ("electronics", "Power bank 20000 mAh", 420, 35.0),
    ("home", "Bouilloire inox", 1200, 39.0), ("home", "Cafetière italienne", 700, 32.0),
    ("home", "Linen tea towels (set of 3)", 300, 19.0), ("home", "Lampe de chevet", 1100, 45.0),
    ("home", "Cast iron pan 26 cm", 2600, 55.0), ("home", "Plaid en laine", 900, 59.0),
    ("toys", "Puzzle 1000 pièces", 800, 18.0), ("toys", "Wooden train set", 1500, 42.0),
    ("toys", "Jeu de société famille", 1100, 29.0), ("sport", "Tapis de yoga", 1300, 25.0),
    ("sport", "Running socks (3 pairs)", 150, 14.0), ("sport", "Gourde isotherme 750 ml", 380, 22.0),
    ("fashion", "Écharpe en cachemire", 200, 69.0), ("fashion", "Leather wallet", 150, 39.0),
    ("fashion", "Pink silicone case for iPod nano", 40, 9.9), ("beauty", "Savon de Marseille (lot de 4)", 450, 12.0),
)
_COLOURS = ("noir", "blanc", "bleu", "rouge", "vert", "grey", "navy", "sand", "rose")


def person(rng: random.Random, lang: str) -> str:
    return f"{rng.choice(_FIRST[lang])} {rng.choice(_LAST[lang])}"


def address(rng: random.Random, name: str, region: tuple[str, str, float, float]) -> dict[str, str]:
    city, code = rng.choice(_CITIES[region[0]])
    country = region[1]
    if country == "GB":
        postcode = f"{code} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    else:
        postcode = f"{code}{rng.randint(0, 9)}{rng.randint(0, 9)}"[:5]
    return {"name": name, "line1": f"{rng.randint(1, 120)} {rng.choice(_STREETS[country])}",
            "city": city, "postcode": postcode, "country": country}


def phone(rng: random.Random, uk: bool) -> str:
    if uk:
        return f"+44 7700 9{rng.randint(0, 99999):05d}"
    return f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def shops(rng: random.Random, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = f"{rng.choice(_SHOP_A)} {rng.choice(_SHOP_B)}"
        if name not in out:
            out.append(name)
    return out


def product(rng: random.Random) -> tuple[str, int, float, str]:
    """(title, weight in grams, price, category)."""
    if rng.random() < 0.35:
        return (f"{rng.choice(_BOOKS)} ({rng.choice(_EDITIONS)})", rng.randint(150, 900),
                round(rng.uniform(6, 32), 2), "book")
    category, title, grams, price = rng.choice(_GOODS)
    return (f"{title} {rng.choice(_COLOURS)}", int(grams * rng.uniform(0.9, 1.1)),
            round(price * rng.uniform(0.8, 1.25), 2), category)
