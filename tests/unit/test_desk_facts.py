"""Facts the desk reads from a contact: stories first, then the shapes one by one."""

from ordercare.desk.facts import (
    Address,
    extract_facts,
    match_item,
    new_address,
    order_ids,
    pages,
    phones,
    wants,
    wants_callback,
)

IPOD_ORDER = ["iPod nano 8GB", "Pink silicone case for iPod nano"]


def test_the_french_reader_whose_book_lacks_pages_47_to_58():
    text = (
        "Bonjour,\n\nJ'ai reçu le livre commandé (commande 402-1234567-7654321) mais il manque "
        "les pages 47 à 58, on passe directement de la 46 à la 59. Pouvez-vous m'en envoyer "
        "un autre exemplaire ?\n\nCordialement,\nClaire Martin"
    )
    facts = extract_facts(text, ["Le Comte de Monte-Cristo (poche)"])
    assert facts.pages == (47, 58)
    assert facts.order_ids == ("402-1234567-7654321",)
    assert facts.wants == "replacement"
    assert facts.item is not None and facts.item.index == 0


def test_the_ipod_customer_changes_her_mind_from_a_refund_to_the_missing_case():
    text = (
        "Hello, my order o-4821 arrived without the pink case, so please refund me for it. "
        "Actually, on second thought, just send me the case for free, I really want it."
    )
    facts = extract_facts(text, IPOD_ORDER)
    assert facts.wants == "replacement"
    assert facts.changed_mind is True
    assert facts.item is not None
    assert facts.item.title == "Pink silicone case for iPod nano"
    assert facts.order_ids == ("o-4821",)


def test_an_address_change_on_an_eleven_seller_order_names_the_new_address_not_a_line():
    titles = [
        "Pack 6 verres à vin", "Tire-bouchon sommelier", "Nappe lin 160x250",
        "Lot de 4 serviettes", "Carafe à décanter", "Bougies parfumées x3",
        "Dessous de plat en liège", "Seau à glace inox", "Planche à découper bambou",
        "Couteau à fromage", "Sets de table x6",
    ]
    text = (
        "Bonjour, je me suis trompée d'adresse pour la commande O-000123 (11 vendeurs "
        "différents !). Mon ancienne adresse était 3 rue Victor Hugo, 75011 Paris ; la "
        "nouvelle est 14 avenue Jean Jaurès, 69007 Lyon. Merci de mettre à jour tous les colis."
    )
    facts = extract_facts(text, titles)
    assert facts.new_address == Address("14 avenue Jean Jaurès", "69007", "Lyon", "FR")
    assert facts.order_ids == ("O-000123",)
    assert facts.item is None
    assert facts.wants is None


def test_a_callback_request_gives_the_number_in_e164():
    facts = extract_facts("Rappelez-moi au 06 12 34 56 78 svp, c'est urgent")
    assert facts.callback is True
    assert facts.phones == ("+33612345678",)


def test_the_callback_channel_alone_is_a_callback_request():
    assert wants_callback("Order o-12 question", channel="callback_request") is True
    assert wants_callback("Please don't call me, email only.") is False


def test_order_ids_in_our_format_and_the_marketplace_format():
    text = "orders o-123, O-000123, 402-1234567-1234567 and commande 402-1234567"
    assert order_ids(text) == ("o-123", "O-000123", "402-1234567-1234567", "402-1234567")


def test_page_ranges_in_the_ways_customers_write_them():
    assert pages("il manque les pages 47 à 58") == (47, 58)
    assert pages("p. 47-58 are blank") == (47, 58)
    assert pages("pages 47 to 58 are torn") == (47, 58)
    assert pages("from page 12 to page 20") == (12, 20)
    assert pages("de la page 12 à la page 20") == (12, 20)
    assert pages("page 112 is ripped") == (112, 112)
    assert pages("the parcel was soaked") is None


def test_phone_numbers_are_normalised_and_order_ids_never_read_as_phones():
    assert phones("call me at 06.12.34.56.78.") == ("+33612345678",)
    assert phones("+33 (0)6 12 34 56 78") == ("+33612345678",)
    assert phones("0033 6 12 34 56 78") == ("+33612345678",)
    assert phones("call +44 7700 900123") == ("+447700900123",)
    assert phones("order 402-1234567-1234567") == ()
    assert phones("ordered on 01.02.2026 10:30, call 07-11-22-33-44") == ("+33711223344",)


def test_the_address_introduced_as_new_wins_over_the_old_one():
    text = "Please send it to 221B Baker Street, London NW1 6XE instead of my old flat."
    assert new_address(text) == Address("221B Baker Street", "NW1 6XE", "London", "GB")
    assert new_address("Nouvelle adresse : 12 rue des Lilas 69003 Lyon merci") == Address(
        "12 rue des Lilas", "69003", "Lyon", "FR"
    )
    assert new_address("where is my parcel?") is None


def test_the_last_wish_counts_and_instead_of_rejects():
    assert wants("Instead of a refund, send me the item") == ("replacement", False)
    assert wants(
        "finalement je préfère recevoir l'article plutôt qu'un remboursement"
    ) == ("replacement", False)
    assert wants("Please refund me, I don't want a replacement") == ("refund", False)
    assert wants("send me the invoice please") == (None, False)
    assert wants("Could you send the parcel to my work address?") == (None, False)


def test_the_line_is_matched_by_the_words_that_tell_lines_apart():
    assert match_item("the case", IPOD_ORDER).index == 1  # type: ignore[union-attr]
    assert match_item("l'étui rose n'était pas dans le colis", IPOD_ORDER).index == 1  # type: ignore[union-attr]
    assert match_item("my iPod nano won't switch on", IPOD_ORDER).index == 0  # type: ignore[union-attr]
    assert match_item("where is my parcel", IPOD_ORDER) is None
    assert match_item("the case", []) is None


def test_a_refund_from_someone_buying_a_new_one_elsewhere_is_a_refund():
    assert wants("The case I got is cracked. Please refund me, I will buy a new one somewhere else.") == (
        "refund", False)
    assert wants("La coque est arrivée cassée. Remboursez-moi svp, j'en achèterai une autre ailleurs.") == (
        "refund", False)
    assert wants("Remboursez-moi svp, j'ai reçu un autre modèle que celui commandé.") == ("refund", False)
    assert wants("Please refund me. I'm not interested in a new one.") == ("refund", False)
    assert wants("Can I get a new one please?") == ("replacement", False)


def test_an_ipod_nano_replacement_is_a_replacement_not_a_no():
    assert wants("My iPod nano arrived dead. I'd like an iPod nano replacement please.") == ("replacement", False)
    assert wants("Could I get an iPod nano replacement please?") == ("replacement", False)
    assert wants("I'd like a refund, not a replacement.") == ("refund", False)


def test_no_need_to_call_me_is_no_callback_request():
    for text in ("My parcel is late. No need to call me back, an email is fine.",
                 "You don't need to call me, just tell me where the parcel is.",
                 "Inutile de me rappeler, répondez-moi par mail svp. Où est mon colis ?",
                 "Pas besoin de me rappeler, un mail suffit. Où en est ma commande ?"):
        assert wants_callback(text) is False, text
    assert wants_callback("Where is my parcel? Please call me back.") is True
    assert wants_callback("Pouvez-vous me rappeler svp ?") is True


def test_a_french_city_ends_at_an_accented_word():
    lyon = Address("12 rue des Lilas", "69003", "Lyon", "FR")
    assert new_address("Merci de livrer au 12 rue des Lilas, 69003 Lyon à la place.") == lyon
    assert new_address("Nouvelle adresse : 12 rue des Lilas 69003 Lyon désormais merci") == lyon


def test_receiving_a_new_one_is_a_wish_for_a_replacement_having_received_one_is_not():
    assert wants("Could I receive a new one please?")[0] == "replacement"
    assert wants("I would like to receive a new mug")[0] == "replacement"
