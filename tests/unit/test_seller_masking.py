"""Messaging relay: contact details masked, the sale kept on the platform, the rest untouched."""

from __future__ import annotations

import pytest

from ordercare.sellers.masking import mask_contact_details


@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "0 6 1 2 3 4 5 6 7 8",
        "01 42 68 53 00",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "(+33) 6 12 34 56 78",
        "+44 20 7946 0958",
        "+1 (415) 555-0132",
        "+49 30 1234567",
        "+32 470 12 34 56",
        "07700 900123",
        "(415) 555-0132",
        "415-555-0132",
        "06 - 12 - 34 - 56 - 78",
        "06. 12. 34. 56. 78",
        "06  12  34  56  78",
        "+33  6  12  34  56  78",
        "0033  6  12  34  56  78",
        "+44\u00a0\u00a020 7946 0958",
    ],
)
def test_phone_numbers_in_french_and_international_formats_are_masked(phone: str) -> None:
    result = mask_contact_details(f"Appelez-moi au {phone} demain.", lang="fr")
    assert result.text == "Appelez-moi au [téléphone retiré] demain."
    assert (result.phones, result.masked) == (1, 1)


@pytest.mark.parametrize(
    "address",
    [
        "jean.dupont@monshop.fr",
        "JEAN.DUPONT@MONSHOP.FR",
        "jean.dupont @ monshop . fr",
        "jean.dupont[at]monshop[dot]fr",
        "jean.dupont [at] gmail [dot] com",
        "jean.dupont (at) monshop.co.uk",
        "jean.dupont arobase gmail point com",
        "jean.dupont arobase orange.fr",
        "jane at gmail dot com",
        "jane at hotmail.com",
        "jean.dupont arobase laposte point net",
        "jean.dupont (at) laposte (dot) net",
        "jean [at] skynet [dot] be",
        "jean arobase bluewin point ch",
        "jean arobase videotron point ca",
        "john (at) yahoo (dot) co (dot) uk",
    ],
)
def test_email_addresses_plain_or_spelled_out_are_masked(address: str) -> None:
    result = mask_contact_details(f"Write to {address} for a discount", lang="en")
    assert result.text == "Write to [email removed] for a discount"
    assert (result.emails, result.masked) == (1, 1)


@pytest.mark.parametrize(
    "link",
    [
        "https://monshop.fr/promo?code=DIRECT",
        "http://monshop.com",
        "www.monshop.com",
        "www.monshop.it",
        "monshop.fr",
        "monshop.fr/promo",
        "shop.monshop.de/x",
        "bit.ly/abc123",
        "monshop point com",
        "monshop[.]fr",
        "monshop (dot) shop",
    ],
)
def test_links_that_take_the_buyer_off_the_platform_are_masked(link: str) -> None:
    result = mask_contact_details(f"Commandez directement sur {link}, -10 %.", lang="fr")
    assert result.text == "Commandez directement sur [lien retiré], -10 %."
    assert (result.links, result.masked) == (1, 1)


def test_carrier_tracking_links_and_the_platform_itself_are_kept() -> None:
    text = (
        "Suivi : https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901 "
        "ou sur ups.com, et vos commandes sur https://ordercare.example/orders/o-1."
    )
    assert mask_contact_details(text, lang="fr").text == text
    assert mask_contact_details(text, lang="fr").masked == 0
    custom = mask_contact_details("see monshop.fr", allowed_domains=["monshop.fr"])
    assert custom.masked == 0


@pytest.mark.parametrize(
    "text",
    [
        "Votre colis 6A12345678901 part le 12/05/2026 à 10:30.",
        "UPS 1Z999AA10123456784, Chronopost XY123456789FR, DHL 1234567890.",
        "Prix 12,50 €, remise +20 %, 1 500 ventes, code postal 75011.",
        "Commande 123-4567890-1234567, SIRET 732 829 320 00074, n° 0123.",
        "Envoyé le 05.06.2026. Merci.De rien. Le point de retrait est ouvert.",
        "It's shipped.It arrives soon. Version 2.0 of file.pdf. See you at 10.30 at home.",
        "I bought it at amazon and e.g. the size is 42.5 cm, qty 3.",
        "Votre colis DHL : 00340434161094042557, facture n° 0012345678901234567.",
        "Un bon point de départ, un point de vue, le point net du dossier.",
    ],
)
def test_prices_dates_tracking_and_order_numbers_are_left_alone(text: str) -> None:
    result = mask_contact_details(text, lang="fr")
    assert (result.text, result.masked) == (text, 0)


def test_a_seller_trying_every_channel_is_counted_once_per_item() -> None:
    text = (
        "Bonjour, pour le SAV écrivez à sav@monshop.fr ou appelez le 06 12 34 56 78 "
        "(ou +33 1 42 68 53 00). Moins cher sur www.monshop.fr !"
    )
    result = mask_contact_details(text, lang="fr")
    assert result.text == (
        "Bonjour, pour le SAV écrivez à [e-mail retiré] ou appelez le [téléphone retiré] "
        "(ou [téléphone retiré]). Moins cher sur [lien retiré] !"
    )
    assert (result.emails, result.phones, result.links, result.masked) == (1, 2, 1, 4)


def test_placeholders_speak_the_readers_language() -> None:
    text = "Call me on 06 12 34 56 78"
    assert mask_contact_details(text, lang="en").text == "Call me on [phone removed]"
    assert mask_contact_details(text, lang="fr").text == "Call me on [téléphone retiré]"


_DIALLED = "+33" + "1 " * 5000 + "x"


@pytest.mark.timeout(60)  # (each takes milliseconds; a backtracking pattern would take hours)
@pytest.mark.parametrize(
    ("hostile", "expected", "masked"),
    [
        ("a point " * 3000, "a point " * 3000, 0),
        ("a.b." * 5000, "a.b." * 5000, 0),
        ("aaaa-" * 5000 + "!", "aaaa-" * 5000 + "!", 0),
        # a phone number is at most 15 digits (E.164): the rest of the run stays as it was
        (_DIALLED, "[phone removed]" + _DIALLED[18:], 1),
        ("a@" * 8000, "a@" * 8000, 0),
        ("un " * 8000, "un " * 8000, 0),  # 8,000 digits read out: no phone number
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit" + " et" * 8000 + " un",
         "[phone removed]" + " et" * 8000 + " un", 1),
        ("soixante " * 8000, "soixante " * 8000, 0),
    ],
)
def test_a_hostile_message_is_handled(hostile: str, expected: str, masked: int) -> None:
    """Inputs built to make a backtracking pattern explode (a quadratic or exponential
    pattern would hang here, and the timeout fail the test): they come back whole, or with
    only the one phone number they hold masked."""
    result = mask_contact_details(hostile)
    assert result.text == expected
    assert result.masked == masked


@pytest.mark.parametrize(
    "spoken",
    [
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "zero six douze trente quatre cinquante six soixante dix huit",
        "06 douze 34 cinquante-six 78",
        "zéro un quarante-deux soixante-huit cinquante-trois zéro zéro",
        "zéro sept quatre-vingt-douze quatre-vingt-dix-neuf soixante et onze vingt et un",
        "zéro zéro trente-trois six soixante-dix-sept quatre-vingt-dix-huit soixante-dix-neuf dix-sept",
        "zéro six / douze / trente-quatre / cinquante-six / soixante-dix-huit",
        "oh seven seven oh oh, triple nine, one two three",
        "oh six one two, three four, five six, seven eight",
        "zero seven seven double oh nine double one two three",
    ],
)
def test_phone_numbers_read_out_in_words_are_masked(spoken: str) -> None:
    result = mask_contact_details(f"Mon numéro : {spoken}. Merci", lang="fr")
    assert result.text == "Mon numéro : [téléphone retiré]. Merci"
    assert (result.phones, result.masked) == (1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Livraison en deux ou trois jours, douze euros cinquante, le vingt-six juin.",
        "J'ai commandé deux mille vingt-six ? Non : trois, et un sac.",
        "order 12345678 and two items, one blue and one red",
        "commande 6A12345678901 et deux colis, vingt et un euros",
        "Oh no, one of the two cups arrived broken, the other one is fine.",
        "I'll be home between ten fifteen and eleven forty-five.",
        "Twenty, thirty, forty, fifty percent off this week.",
        "tailles trente-six, trente-huit, quarante et quarante-deux",
        "Sizes 36, 38, 40 and forty-two, forty-four",
        "Commande 1234-5678, deux et un reçus.",
        "Livraison prévue @14h30, see you @10am.",
        "Livré le vingt-deux juin deux mille vingt-six à quatorze heures trente, vingt-deux rue des Lilas.",
    ],
)
def test_number_words_that_are_no_phone_number_are_left_alone(text: str) -> None:
    result = mask_contact_details(text, lang="fr")
    assert (result.text, result.masked) == (text, 0)


def test_social_handles_are_masked_and_addresses_still_count_as_addresses() -> None:
    result = mask_contact_details("Suivez-nous sur insta : @mon.shop, tiktok : @monshop_fr. SAV : sav@monshop.fr",
                                  lang="fr")
    assert result.text == "Suivez-nous sur insta : [lien retiré], tiktok : [lien retiré]. SAV : [e-mail retiré]"
    assert (result.links, result.emails) == (2, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+33 6 12 34 56 78 - 75011 Paris", "[téléphone retiré] - 75011 Paris"),
        ("mon numéro +33 6 12 34 56 78 12345", "mon numéro [téléphone retiré]"),
        ("0033 6 12 34 56 78 - 9h 18h", "[téléphone retiré] - 9h 18h"),
        ("+33  6  12  34  56  78  9h-18h", "[téléphone retiré]  9h-18h"),
        ("+33 6 12 34 56 78 - 06 98 76 54 32", "[téléphone retiré] - [téléphone retiré]"),
    ],
)
def test_a_phone_number_followed_by_other_figures_is_still_masked(text: str, expected: str) -> None:
    assert mask_contact_details(text, lang="fr").text == expected
