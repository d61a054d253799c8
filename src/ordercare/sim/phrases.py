"""What simulated customers write, in their words: French and English, e-mail, chat and
phone transcripts, polite or cross, with the typos and missing accents of real contacts.

Each topic has several openings of its own; greetings, closings, the order number and the
item title vary around them, so two customers with the same trouble rarely write alike.
"""

from __future__ import annotations

import random
import unicodedata

_GREET = {"en": ("Hello,", "Hi,", "Hi there,", "Dear customer service,", "Good morning,", ""),
          "fr": ("Bonjour,", "Bonjour madame, monsieur,", "Bonsoir,", "Madame, Monsieur,", "bjr", "")}
_CLOSE = {"en": ("Thanks.", "Thank you", "Regards,", "Please help.", "Waiting for your answer.", ""),
          "fr": ("Merci.", "Cordialement", "Merci d'avance", "Dans l'attente de votre réponse.",
                 "Bonne journée", "")}
_BODY: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "late": ("My order {order} was supposed to arrive by now and it still hasn't. Where is it?",
                 "I'm still waiting for {item}, it was due days ago.",
                 "Order {order}: nothing has arrived and the delivery date has passed.",
                 "where is my parcel?? order {order}, it should have been here already"),
        "not_shipped": ("I ordered {item} {days} days ago and it still says not shipped.",
                        "Why hasn't my order {order} been sent yet?",
                        "It's been {days} days and {item} hasn't even left the seller."),
        "no_scan": ("The tracking number for {order} doesn't show anything at all.",
                    "Tracking {tracking} says label created and nothing since. Has it really been sent?",
                    "I got a tracking number but the carrier has no record of my parcel."),
        "stalled": ("The tracking for {order} hasn't moved in days.",
                    "My parcel has been stuck at the same depot since last week ({tracking}).",
                    "tracking stuck 'in transit' for ages, is my parcel lost?"),
        "exception": ("The carrier says there is a problem with the delivery of {order}. What does that mean?",
                      "Tracking {tracking} shows a delivery exception. Please sort it out.",
                      "Delivery failed apparently, but I was at home all day!"),
        "partial": ("I only received part of order {order}: {item} is missing.",
                    "Half of my order came, where is {item}?",
                    "The parcel arrived without {item}."),
        "cancellation": ("My order {order} was cancelled by the seller. When do I get my money back?",
                         "Why was {item} cancelled? I need a refund.",
                         "The seller cancelled my order, has the refund been done?"),
        "damaged": ("{item} arrived with pages missing, pages 40 to 72 are blank.",
                    "{item} is defective, it doesn't work at all.",
                    "The item arrived broken. I want a replacement."),
        "not_as_described": ("{item} is not what the listing said, the size is completely different.",
                             "This is not the product in the photos. I want to return it.",
                             "The description was misleading, {item} is a cheap copy."),
        "wrong_item": ("I received the wrong item instead of {item}.",
                       "You sent me something I never ordered, order {order}.",
                       "Wrong product in the box! I ordered {item}."),
        "wrong_address": ("I typed the wrong address for order {order}, can you change it please?",
                          "Mistake in my delivery address on {order}, the street number is wrong.",
                          "Please update the address of my last order, I moved."),
        "wismo": ("Any update on order {order}?", "When will {item} arrive?",
                  "Can you tell me the status of my order {order}?"),
        "question": ("Can I get an invoice for order {order}?", "Does {item} come with a warranty?",
                     "Can I change the delivery slot for {order}?"),
        "reply": ("Thanks for letting me know. I'd rather have a refund for {item} please.",
                  "Ok but I need it by the weekend, can you send a replacement?",
                  "Thank you for the message. Please just cancel and refund."),
        "chase": ("Still nothing for {order}. This is the second time I write!",
                  "I wrote a few days ago and nobody answered. Where is {item}?",
                  "Second message: still waiting for my order. Not happy."),
        "date_missed": ("You told me new stock of {item} would come around now. Order {order} still hasn't shipped: "
                        "what is happening?",
                        "The date you gave me for {item} has passed and my order {order} has not been sent. Any news?",
                        "order {order}: you said the item would be back in stock by now, still not shipped. when?"),
    },
    "fr": {
        "late": ("Ma commande {order} devait arriver et je n'ai toujours rien reçu. Où est-elle ?",
                 "J'attends toujours {item}, la date de livraison est dépassée.",
                 "Commande {order} : toujours pas livrée alors que la date est passée.",
                 "ou est mon colis ?? commande {order}, il devait etre la"),
        "not_shipped": ("J'ai commandé {item} il y a {days} jours et ce n'est toujours pas expédié.",
                        "Pourquoi ma commande {order} n'est-elle pas encore partie ?",
                        "Cela fait {days} jours et {item} n'a même pas quitté le vendeur."),
        "no_scan": ("Le numéro de suivi de {order} n'affiche rien du tout.",
                    "Le suivi {tracking} indique étiquette créée et plus rien. Le colis est-il vraiment parti ?",
                    "J'ai un numéro de suivi mais le transporteur ne connaît pas mon colis."),
        "stalled": ("Le suivi de {order} ne bouge plus depuis des jours.",
                    "Mon colis est bloqué au même dépôt depuis la semaine dernière ({tracking}).",
                    "suivi bloqué 'en transit' depuis longtemps, mon colis est perdu ?"),
        "exception": ("Le transporteur signale un problème de livraison pour {order}. Qu'est-ce que ça veut dire ?",
                      "Le suivi {tracking} indique un incident de livraison. Merci de régler ça.",
                      "Livraison échouée soi-disant, mais j'étais chez moi toute la journée !"),
        "partial": ("Je n'ai reçu qu'une partie de la commande {order} : il manque {item}.",
                    "La moitié de ma commande est arrivée, où est {item} ?",
                    "Le colis est arrivé sans {item}."),
        "cancellation": ("Ma commande {order} a été annulée par le vendeur. Quand serai-je remboursé ?",
                         "Pourquoi {item} a été annulé ? Je veux être remboursée.",
                         "Le vendeur a annulé ma commande, le remboursement est-il fait ?"),
        "damaged": ("{item} est arrivé avec des pages manquantes, les pages 40 à 72 sont blanches.",
                    "{item} est défectueux, il ne fonctionne pas du tout.",
                    "L'article est arrivé cassé. Je veux un remplacement."),
        "not_as_described": ("{item} ne correspond pas à l'annonce, la taille n'a rien à voir.",
                             "Ce n'est pas le produit des photos. Je veux le retourner.",
                             "Description trompeuse, {item} est une mauvaise copie."),
        "wrong_item": ("J'ai reçu le mauvais article à la place de {item}.",
                       "Vous m'avez envoyé quelque chose que je n'ai jamais commandé, commande {order}.",
                       "Mauvais produit dans le carton ! J'avais commandé {item}."),
        "wrong_address": ("Je me suis trompé d'adresse pour la commande {order}, pouvez-vous la corriger ?",
                          "Erreur dans mon adresse de livraison sur {order}, le numéro de rue est faux.",
                          "Merci de modifier l'adresse de ma dernière commande, j'ai déménagé."),
        "wismo": ("Du nouveau pour la commande {order} ?", "Quand vais-je recevoir {item} ?",
                  "Pouvez-vous me donner le statut de ma commande {order} ?"),
        "question": ("Puis-je avoir une facture pour la commande {order} ?", "{item} est-il garanti ?",
                     "Puis-je changer le créneau de livraison de {order} ?"),
        "reply": ("Merci de m'avoir prévenu. Je préfère être remboursé pour {item}.",
                  "D'accord mais j'en ai besoin pour le week-end, pouvez-vous renvoyer un article ?",
                  "Merci pour le message. Annulez et remboursez-moi simplement."),
        "chase": ("Toujours rien pour {order}. C'est la deuxième fois que j'écris !",
                  "J'ai écrit il y a quelques jours et personne n'a répondu. Où est {item} ?",
                  "Deuxième message : j'attends toujours ma commande. Pas content du tout."),
        "date_missed": ("Vous m'aviez annoncé du stock de {item} pour ces jours-ci. Ma commande {order} n'est toujours "
                        "pas expédiée : que se passe-t-il ?",
                        "La date que vous m'aviez donnée pour {item} est passée et ma commande {order} "
                        "n'est pas partie. Des nouvelles ?",
                        "commande {order} : vous disiez que l'article serait de nouveau en stock, toujours pas "
                        "expédié. c'est pour quand ?"),
    },
}
TOPIC_OF_KIND = {
    "never_shipped": "not_shipped", "late_shipment": "late", "partial": "partial", "no_scan": "no_scan",
    "stalled": "stalled", "carrier_exception": "exception", "late_delivery": "late",
    "seller_cancellation": "cancellation", "damaged": "damaged", "not_as_described": "not_as_described",
    "wrong_item": "wrong_item", "wrong_address": "wrong_address", "stockout": "not_shipped",
}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def compose(rng: random.Random, lang: str, topic: str, channel: str, order_id: str, item: str,
            tracking: str | None, days: int) -> str:
    """One contact's text about ``topic``."""
    lang = lang if lang in _BODY else "en"
    body = rng.choice(_BODY[lang][topic]).format(order=order_id, item=item, tracking=tracking or order_id,
                                                 days=max(1, days))
    if channel == "chat":
        text = body if rng.random() < 0.6 else body.lower()
        return _fold(text) if lang == "fr" and rng.random() < 0.4 else text
    if channel == "phone":
        lead = ("Caller says: " if lang == "en" else "L'appelant dit : ")
        return lead + body[0].lower() + body[1:]
    parts = [rng.choice(_GREET[lang]), body, rng.choice(_CLOSE[lang])]
    return "\n".join(p for p in parts if p)
