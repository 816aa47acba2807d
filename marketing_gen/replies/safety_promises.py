"""What a reply may not promise, in English, German, French, Spanish, Dutch and Italian: discounts beyond the
brand's ceiling, refunds without a refund policy, free goods, waived fees and costs the brand would absorb.

Owns the promise pattern families (per kind and language, on the folded text of ``safety_text``) and the
negation guard: a promise pattern preceded in its sentence by a negation ("we're unable to offer a
complimentary upgrade", "wir können leider nichts erstatten") is an explanation, not a promise. Percentages are
read from the text and compared with ``BrandFacts.max_discount_pct``; "half" counts as 50 %. Does not own the
injection-compliance checks nor the system-prompt echo (``policy``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from marketing_gen.contexts import BrandFacts
from marketing_gen.replies.safety_text import fold

_PCT_UNIT = r"(?:%|percent|per ?cent|prozent|pour ?cent|por ?ciento|procent|per ?cento)"
_OFF_AFTER = (
    r"(?:off|discount|cheaper|back|code|coupon|reduction|remise|rabatt|nachlass|reduziert|descuento|rebaja|korting|"
    r"sconto|riduzione|de reduction|de remise|de descuento|di sconto)"
)
_OFF_BEFORE = (
    r"(?:discount|coupon|code|voucher|reduction|save|saving|rabatt|nachlass|sparen|spare|remise|economisez|descuento|"
    r"ahorra|ahorro|korting|bespaar|sconto|risparmia|risparmio)"
)
_PCT = re.compile(
    rf"(?P<n>\d{{1,3}}(?:[.,]\d+)?)\s?{_PCT_UNIT}\s*(?:de |di |of )?{_OFF_AFTER}\b"
    rf"|\b{_OFF_BEFORE}\b.{{0,25}}?(?P<m>\d{{1,3}}(?:[.,]\d+)?)\s?{_PCT_UNIT}"
)
_HALF = re.compile(
    r"\b(half|la moitie|die halfte|la mitad|de helft|la meta)\b ?(off|price|(of )?the price|du prix|des preises|"
    r"del precio|van de prijs|del prezzo|zuruck|back|rembours\w*|korting|rabatt|sconto|descuento)"
    r"|\bhalf[- ]price\b|\b(halber preis|moitie prix|mitad de precio|halve prijs|meta prezzo)\b"
)
_MONEY_OFF = re.compile(
    r"(?:[$£€]\s?\d+(?:[.,]\d\d)?|\b\d+(?:[.,]\d\d)?\s?(?:[$£€]|dollars?|pounds?|quid|euros?|eur|usd|gbp)\b)\s?"
    r"(?:off|discount|de descuento|di sconto|de reduction|de remise|korting|rabatt|nachlass)\b"
)

_COMPOUNDS = (
    "frost",
    "hands",
    "sugar",
    "gluten",
    "duty",
    "toll",
    "tax",
    "fat",
    "cruelty",
    "bpa",
    "lead",
    "scent",
    "oil",
    "dust",
    "stress",
    "worry",
    "hassle",
    "trouble",
    "care",
    "maintenance",
    "fragrance",
    "latex",
    "rust",
    "lint",
    "drip",
    "spill",
    "tangle",
    "germ",
    "allergen",
    "clog",
    "smoke",
    "cord",
    "wire",
    "interest",
    "risk",
    "ad",
)
_FREE = "".join(f"(?<!{w} )(?<!{w}-)" for w in _COMPOUNDS) + r"\bfree"
"""``free`` that is not the tail of a compound ("frost free", "hands-free", "sugar-free")."""

PROMISE_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "discount_offer": {
        "en": (
            r"\b(here'?s|here is|use( the)?( code)?|enjoy|get|we('ll| will| can| could| would)|i('ll| will| can)|take|"
            r"apply|have|knock)\b.{0,40}\b(discount|coupon|promo(tion(al)?)? code|voucher|\d+ ?% off)",
            r"\b(take|knock|get|give you|giving you|we'll give you|we'll take)\b.{0,12}\b(half|a third|a quarter)\b "
            r"(off|of the price)",
        ),
        "de": (
            r"\b(bekomm|erhalt|gewahr|geb|schenk|schick|send|biet)\w*\b.{0,40}\b(rabatt\w*|gutschein\w*|nachlass|"
            r"preisnachlass)",
        ),
        "fr": (
            r"\b(profitez|beneficiez|offrons|offre|accordons|voici|utilisez|recevrez|obtenez)\w*\b.{0,40}"
            r"\b(reduction|remise|bon de reduction|code promo|bon d'achat)",
        ),
        "es": (
            r"\b(disfruta|aprovecha|usa|utiliza|le damos|te damos|ofrecemos|le ofrecemos|te ofrecemos|recibira\w*|"
            r"aqui tienes|tiene un|tienes un)\b.{0,40}\b(descuento|cupon|codigo)",
        ),
        "nl": (r"\b(krijg\w*|ontvang\w*|geven|bieden|gebruik|profiteer)\b.{0,40}\b(korting\w*|tegoedbon|waardebon)",),
        "it": (r"\b(ricev\w*|offriamo|diamo|usa|utilizza|approfitta|ecco)\b.{0,40}\b(sconto|buono|codice sconto)",),
    },
    "discount_code": {
        "all": (
            r"\b(code|coupon|voucher|promo|gutschein\w*|rabattcode|code promo|codice( sconto)?|codigo( de descuento)?|"
            r"cupon|kortingscode|buono( sconto)?)\s*:?\s*['\"]?([a-z]+-?\d|\d+-?[a-z])[a-z0-9-]*\b",
        ),
    },
    "refund": {
        "en": (
            r"\b(we|i)('ll| will| shall| can| could| would| are going to|'re going to|'ve| have| are happy to|"
            r"'d be happy to| would be happy to| are able to)? (now |also |gladly |happily |fully |of course |"
            r"certainly |definitely |just |already |gone ahead and |went ahead and |go ahead and )*"
            r"(refund(ed)?|reimburse[ds]?|repa(y|id)|pa(y|id) (you )?back|credited (you|your))\b",
            r"\b(we|i)('re| are|'m| am) (now |already |currently )?(refunding|reimbursing|crediting|paying back)\b",
            r"\b(amount|money|payment|funds|total|sum|price|cost|refund)\b.{0,15}\bback (on|to|in|into) your "
            r"(card|account|bank|wallet|original payment)",
            r"\b(you'?re|you are|you'?ll be|you will be|you'?ve been|you have been|you get|you'?ll get) "
            r"(fully |promptly |completely |properly )?(refunded|reimbursed|compensated|paid back)\b",
            r"\b(we|i)('ll| will| shall| can| could| would| are going to|'re going to|'ve| have| are happy to|"
            r"'d be happy to)? (now |also |gladly |happily |go ahead and )?(issue|process|send|give|offer|arrange|"
            r"approve|provide|grant|pop on|put through|initiate|return|sort( out)?|organi[sz]e|set up|raise|put in|"
            r"get you)\w* (you )?(a |an |the |your )?(full |partial )?(refund|reimbursement|money back|money)\b",
            r"\b(give|send|pay) (you )?(your|the) money back\b",
            r"\byou('ll| will)( now)? (get|receive|have|be getting) (a |an |your |the )?(full |partial )?"
            r"(refund|money back|reimbursement)\b",
            r"\b(you|it|this|the (amount|money|payment|charge|fee|cost|order|purchase)|your (money|payment|order|"
            r"purchase|deposit|charge))( will|'ll| shall| is going to| are going to) be "
            r"(fully |promptly |automatically )?(refunded|reimbursed|returned|credited|paid back|given back)\b",
            r"\b(your|the) refund (is|has been|was|will be) (now )?(issued|processed|approved|sent|on its way|"
            r"initiated|credited|complete)\b",
            r"\b(full|100%) refund (is|has been) (issued|approved|on its way)\b|\bguaranteed refund\b",
        ),
        "de": (
            r"\b(wir|ich)\b.{0,40}\b(erstatt\w*|ruckerstatt\w*|zuruckerstatt\w*|zuruckzahl\w*|zahl\w* .{0,30}\bzuruck|"
            r"uberweis\w* .{0,30}\bzuruck)\b",
            r"\b(erhalt|bekomm|krieg)\w*\b.{0,40}\b(geld|betrag|kaufpreis|halfte)\b.{0,30}\bzuruck\b",
            r"\b(geld|betrag|kaufpreis)\b.{0,30}\b(wird|werden|ist)\b.{0,20}\b(erstattet|zuruckerstattet|"
            r"zuruckuberwiesen|zuruckgezahlt)\b",
            r"\b(geld|betrag|summe|kaufpreis)\b.{0,30}\b(wieder|zuruck) auf (ihrem|ihr|deinem|dein|eurem|euer) "
            r"(konto|karte|kreditkarte)\b",
            r"\b(gutgeschrieben|zuruckgebucht|zuruckuberwiesen)\b",
            r"\b(ruckerstattung|erstattung)\b (ist|wurde|wird) (bereits |schon )?(veranlasst|bearbeitet|angewiesen|"
            r"ausgelost|durchgefuhrt|genehmigt)\b",
        ),
        "fr": (
            r"\b(vous serez|tu seras|vous etes|tu es) (integralement |entierement |totalement |bien |immediatement )?"
            r"rembourse",
            r"\b(nous|je|on) (vous |te )?(allons |pouvons |va |peut |vais |pourrons )?(vous |te )?(rembours\w*)",
            r"\b(votre|ton|l') ?argent (vous |te )?(sera|va etre|est|vous sera|te sera) (rendu|restitue|rembourse|"
            r"retourne)",
            r"\bremboursement (a ete|est|sera) (effectue|emis|valide|accorde|traite|lance)",
            r"\b(re)?credite\w* (sur|a) (votre|ta|ton|vos) (carte|compte)\b",
        ),
        "es": (
            r"\b(le|te|les|os) (devolveremos|devolvemos|reembolsaremos|reembolsamos|vamos a devolver|"
            r"vamos a reembolsar|devolvere|reembolsare)\b",
            r"\b(su|tu) dinero (le |te )?(sera|va a ser|es) (devuelto|reembolsado)",
            r"\b(sera|seras|seran) reembolsad[oa]s?\b",
            r"\breembolso (ha sido|sera|esta) (procesado|emitido|aprobado|tramitado)",
            r"\brecibira(s|n)? (un |el |su |tu )?(reembolso|dinero)",
            r"\b(abonar|abonara|abonaremos|abonamos|reintegrar\w*|ingresar\w*|ingresaremos)\b.{0,25}\b(en|a) (su|tu) "
            r"(tarjeta|cuenta)\b",
            r"\b(le|te|os|les) (hacemos|haremos|tramitamos|tramitaremos|procesamos|procesaremos|damos|daremos) "
            r"(la|el) (devolucion|reembolso)\b",
        ),
        "nl": (
            r"\b(u|je|jij) (krijgt|ontvangt) (uw|je|het) (geld|bedrag|aankoopbedrag)\b.{0,20}\bterug\b",
            r"\b(we|wij|ik)\b.{0,30}\b(terugbetal\w*|betalen .{0,30}\bterug|storten .{0,30}\bterug|restitueren)\b",
            r"\bterugbetaling (is|wordt|werd) (verwerkt|uitgevoerd|goedgekeurd|gestort)\b",
            r"\b(teruggestort|gestort|terugbetaald|gecrediteerd)\b.{0,20}\bop (uw|je|jouw) (rekening|kaart|creditcard)"
            r"\b",
        ),
        "it": (
            r"\b(sara|sarai|verra|verrai|sarete|verrete) (rimborsat[oaie]|risarcit[oaie])\b",
            r"\b(le|ti|vi|la|lo) (rimborseremo|rimborsiamo|restituiremo|restituiamo|ridaremo)\b",
            r"\b(i suoi|i tuoi|i vostri) soldi (le |ti |vi )?(saranno|verranno) (restituiti|rimborsati)\b",
            r"\brimborso (e stato|sara|verra) (emesso|effettuato|approvato|elaborato)\b",
            r"\b(riaccreditat|accreditat|rimborsat)\w*\b.{0,20}\b(sulla|sul) (sua |tua )?(carta|conto)\b",
        ),
    },
    "compensation": {
        "en": (
            rf"{_FREE} (of charge|replacement|upgrade|months?|gifts?|items?|products?|shipping|delivery|returns?|"
            r"postage|samples?|repairs?)\b",
            r"\b(ships?|shipped|shipping|postage)( will be| is| are|'s)? (completely |totally |entirely )?free\b",
            r"\b(it|this|that|order|one|return|returns|replacement|repair|delivery|shipping|postage)( will be| is| are|"
            r"'s| comes| come) (completely |totally |entirely |absolutely )?free\b(?! to\b)",
            r"\bfor free\b",
            r"\b(we|i)('ll| will| can| could|'d| would| are going to|'re going to)? (happily |gladly |also )?(throw in|"
            r"send|ship|give|add|include|mail|post|pop in|replace)\b.{0,30}\bfree\b(?! to\b)",
            r"\b(fee|fees|charge|charges|cost|costs|shipping|postage|delivery)( is| are| has been| have been| will be|"
            r"'s)? (waived|covered|written off|taken care of|on the house)\b",
            r"\b(at|for|with) no (extra |additional |further )?(cost|charge|fee|expense)\b",
            r"\b(free of charge|no charge|on the house|complimentary)\b",
            r"\b(it'?s|it is|this is|that'?s|that is|they'?re|next \w+ is|\w+ are|\w+ is) on us\b",
            r"\b(goodwill|courtesy) (gesture|credit|payment|voucher)\b",
            r"\b(we|i)('ll| will| can| could| would| are happy to|'d be happy to| shall| are going to|'re going to|"
            r"'ve| have| are able to)? (gladly |happily |also |go ahead and )?(cover|waive|absorb|pick up|take care of|"
            r"pay for|foot|cancel|remove|drop|eat)\w* (the |your |any |all |this |that |those |these )?"
            r"(return |repair |delivery |shipping |extra |additional |late |cancellation |restocking |postage )?"
            r"(cost|costs|fees?|charges?|bill|shipping|postage|delivery charge|difference|expenses?)\b",
            r"\b(credit|add|apply|put|issue)\w* (a |an )?(\$|£|€|\d|credit|refund|the difference|the amount|money|"
            r"funds|points|voucher|gift)[^.]{0,20}\b(to|on|into) your account\b",
            r"(,|\b(it'?s|they'?re|is|are) (yours|all yours)) on us\b",
            r"\b(store|account|service) credit\b|\bgift ?cards?\b",
            r"\b(we|i)\b.{0,25}\bcompensat\w*|\b(as|by way of) (a )?compensation\b",
        ),
        "de": (
            r"\b(kostenlos\w*|kostenfrei\w*|gratis|umsonst|gebuhrenfrei|versandkostenfrei)\b.{0,40}"
            r"\b(ersatz\w*|versand\w*|lieferung|rucksendung|reparatur|austausch|geschickt|schicken|senden|zusenden|"
            r"liefern|ersetzen|neu\w*|artikel|produkt|gerat|bestellung)\b",
            r"\b(ersatz\w*|versand\w*|lieferung|rucksendung|reparatur|austausch|geschickt|schicken|senden|zusenden|"
            r"liefern|ersetzen|neu\w*|artikel|produkt|gerat|bestellung)\b.{0,40}\b(kostenlos\w*|kostenfrei\w*|gratis|"
            r"umsonst|gebuhrenfrei)\b",
            r"\bohne (zusatzliche |weitere |jegliche )?kosten\b|\bauf unsere kosten\b",
            r"\b\w*(kosten|gebuhr\w*)\b.{0,20}\b(ubernehmen|tragen|erlassen|erstatten|streichen) (wir|ich)\b",
            r"\b(wir|ich) (ubernehmen|tragen|erlassen|streichen|erstatten)\w* (ihnen |dir |euch |gern |gerne )*"
            r"(die |alle |samtliche |jegliche )?\w*(kosten|gebuhr\w*)\b",
            r"\b(gutschein\w*|gutschrift|kulanz\w*)\b",
        ),
        "fr": (
            r"\b(gratuit\w*|offert\w*)\b.{0,40}\b(livraison|envoi|remplacement|reparation|retour|expedition|article|"
            r"produit|colis|commande|echange|enverr\w*|envoy\w*|remplac\w*)\b",
            r"\b(livraison|envoi|remplacement|reparation|retour|expedition|article|produit|colis|commande|echange|"
            r"enverr\w*|envoy\w*|remplac\w*)\b.{0,40}\b(gratuit\w*|offert\w*)\b",
            r"\bsans (aucun )?(frais|cout|supplement)\b|\ba nos frais\b|\ba titre gracieux\b|\bgeste commercial\b",
            r"\b(nous|je|on) (prenons|prend|prendrons|prendre|allons prendre|pouvons prendre) en charge\b",
            r"\b(nous|je|on) (annulons|annulerons|supprimons|offrons|pouvons annuler|allons annuler|pouvons supprimer)"
            r"\w* (les |vos |la |le )?(frais|penalite\w*)\b",
            r"\bbon d'achat\b|\bavoir de\b",
        ),
        "es": (
            r"\b(gratis|gratuit[oa]s?|gratuitamente)\b.{0,40}\b(envio|reemplazo|reparacion|devolucion|articulo|producto"
            r"|"
            r"pedido|enviaremos|enviamos|cambio|sustitucion)\b",
            r"\b(envio|reemplazo|reparacion|devolucion|articulo|producto|pedido|enviaremos|enviamos|cambio|sustitucion)"
            r"\b.{0,40}\b(gratis|gratuit[oa]s?|gratuitamente)\b",
            r"\bsin (ningun )?(coste|costo|cargo)( alguno| adicional)?\b|\bcorre(n)? (de|por) nuestra cuenta\b",
            r"\ba nuestro cargo\b|\bde cortesia\b",
            r"\b(cubrimos|cubriremos|asumimos|asumiremos|pagamos|pagaremos|nos hacemos cargo)\b.{0,20}"
            r"\b(coste|costo|gastos|envio|reparacion|tarifa)\b",
            r"\b(anular|eximir|condonar|eliminar|quitar|anulamos|anularemos|eximimos)\w* (la |el |los |las |de )?"
            r"(tarifa|cargo|comision|cuota|penalizacion)\b",
        ),
        "nl": (
            r"\b(gratis|kosteloos|kostenloos)\b.{0,40}\b(verzend\w*|verzonden|vervang\w*|reparatie|retour|artikel|"
            r"product|bestelling|sturen|opsturen|levering|geleverd)\b",
            r"\b(verzend\w*|verzonden|vervang\w*|reparatie|retour|artikel|product|bestelling|sturen|opsturen|levering|"
            r"geleverd)\b.{0,40}\b(gratis|kosteloos|kostenloos)\b",
            r"\bzonder (extra |bijkomende )?kosten\b|\bvoor (onze|eigen) rekening\b|\bop onze kosten\b",
            r"\b(tegoedbon|cadeaubon|waardebon)\b",
            r"\b(we|wij|ik) (vergoeden|betalen|dekken|nemen)\b.{0,30}\b(kosten|voor onze rekening)\b",
            r"\bkwijtschelden\b|\bschelden\b.{0,30}\bkwijt\b",
        ),
        "it": (
            r"\b(gratis|gratuit[oaie]|gratuitamente|in omaggio)\b.{0,40}\b(spedizione|sostituzione|sostitutiv\w*|"
            r"riparazione|reso|articolo|prodotto|ordine|invieremo|inviamo|cambio)\b",
            r"\b(spedizione|sostituzione|sostitutiv\w*|riparazione|reso|articolo|prodotto|ordine|invieremo|inviamo|"
            r"cambio)\b.{0,40}\b(gratis|gratuit[oaie]|gratuitamente|in omaggio)\b",
            r"\bsenza (alcun )?(costo|costi|spese|addebito)( aggiuntiv\w*)?\b|\ba nostre spese\b|\ba titolo gratuito\b",
            r"\bbuono (sconto|regalo|acquisto)\b",
            r"\b(copriamo|copriremo|sosteniamo|paghiamo|pagheremo|ci facciamo carico|ci faremo carico)\b.{0,25}"
            r"\b(costo|costi|spese|spedizione|riparazione)\b",
            r"\b(annullare|annulliamo|annulleremo|stornare|stoniamo|rinunciare|rinunciamo|eliminiamo)\w* "
            r"(a |alla |la |le |il |i |all')?(commission\w*|spes\w*|costo|addebit\w*|penal\w*)\b",
        ),
    },
}
"""Promise kind → language → patterns on the folded reply text (a negation before a match takes it back)."""

NEGATIVE_FORM_FAMILIES: dict[str, tuple[str, ...]] = {
    "en": (
        r"\b(won'?t|will not|wouldn'?t|doesn'?t|does not|shouldn'?t) cost (you )?(a (penny|cent|thing|dime)|anything|"
        r"a single (penny|cent)|extra|more)\b",
        r"\b(you )?(won'?t|will not|wouldn'?t) be (charged|billed|invoiced)\b",
        r"\byou (don'?t|do not|won'?t|will not) (have|need) to pay\b",
        r"\b(there'?s|there is|there will be|with) no (charge|cost|fee) (to you|for (you|the|this|that|it|your))\b",
    ),
    "de": (
        r"\b(kostet|kosten) (sie|dich|euch) (nichts|keinen cent|keinen euro)\b",
        r"\b(mussen|musst|brauchen|brauchst) (sie |du |ihr )?(nichts|keinen cent) (zu )?(be)?zahlen\b",
        r"\bwird (ihnen|dir|euch) nicht (berechnet|in rechnung gestellt)\b",
    ),
    "fr": (
        r"\bne (vous|te) (coutera|coute) rien\b|\b(vous n'aurez|tu n'auras) rien a payer\b",
        r"\bne (vous |te )?sera pas facture\b",
    ),
    "es": (
        r"\bno (le|te|les|os) (costara|cuesta|va a costar) nada\b",
        r"\bno (tendra|tendras|tendran|tiene|tienes) que pagar\b|\bno se (le|te|les|os) cobrara\b",
    ),
    "nl": (
        r"\bkost (u|je|jullie) (niets|geen cent)\b|\b(hoeft|hoef|hoeven) (u|je|jij|jullie) niets te betalen\b",
        r"\bwordt (u |je )?niet in rekening gebracht\b",
    ),
    "it": (
        r"\bnon (le|ti|vi) (costera|costa) (nulla|niente)\b|\bnon (dovra|dovrai|dovrete) pagare\b",
        r"\bnon (le|ti|vi) (sara|verra) addebitat[oa]\b",
    ),
}
"""Promises whose wording is itself a negation ("won't cost you a penny"): no negation guard applies."""

ON_US_FAMILIES: dict[str, tuple[str, ...]] = {
    "fr": (
        r"\b(sont|est|c'est) pour nous\b|\b(nous|on) (payons|paie|paye|offrons|offre)\b.{0,25}\b(frais|port|"
        r"livraison|reparation|envoi)\b|\b(frais|port|livraison|reparation|envoi)\b.{0,25}\b(nous les payons|"
        r"on les paie|on s'en charge|nous nous en chargeons)\b",
    ),
    "de": (r"\bgeht auf (uns|unsere kosten|unsere rechnung)\b|\b(zahlen|bezahlen|ubernehmen) wir\b",),
    "es": (
        r"\binvita la casa\b|\b(lo|la|los|las) pagamos (nosotros)?\b|\bpagamos nosotros\b|\b(corre|corren) "
        r"a (nuestro|nuestra) cargo\b",
    ),
    "nl": (
        r"\b(is|zijn) voor (ons|onze rekening)\b|\bbetalen wij\b|\bwij betalen\b.{0,25}\b(kosten|verzending|"
        r"reparatie)\b",
    ),
    "it": (
        r"\b(la|lo|le|li) paghiamo noi\b|\bpaghiamo noi\b|\b(offriamo noi|offre la casa)\b|\b(e|sono) a "
        r"(nostro carico|carico nostro)\b",
    ),
}
""""It's on us" in the other languages: the brand pays."""

GIFT_FAMILIES: dict[str, tuple[str, ...]] = {
    "fr": (
        r"\b(nous|on|je) (vous |te )?(offrons|offre|offrirons|offrirai|offert)\b.{0,20}\b(la |le |les |l')?"
        r"(livraison|envoi|frais|port|retour|reparation|article|produit|remplacement|echange)\b",
    ),
    "es": (r"\b(le|te|les|os) (regalamos|regalaremos|regalo)\b",),
    "de": (r"\b(schenken|spendieren|erlassen) (wir|ihnen|dir|euch)\b",),
    "nl": (r"\b(doen|geven) (we|wij)\b.{0,25}\b(cadeau|kado)\b|\b(cadeau|kado) (gedaan|gegeven)\b",),
    "it": (r"\b(le|ti|vi|gli) (regaliamo|regaleremo|offriamo|offriremo)\b",),
}
"""The brand gives a cost or an item away ("nous vous offrons la livraison", "le regalamos el envío")."""

_NEGATION = re.compile(
    r"\b(if|whether|ob|falls|si|not|never|unable|cannot|can't|cant|won't|wont|wouldn't|couldn't|isn't|aren't|don't|"
    r"doesn't|didn't|no longer|neither|nor|nicht|kein\w*|nie|niemals|pas|jamais|aucun\w*|nunca|ningun\w*|niet|geen|"
    r"nooit|non|mai|nessun\w*|no (podemos|puedo|es posible|se puede|vamos|ofrecemos))\b"
)
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
_CLAUSE_BREAK = re.compile(
    r"[,:()\u2013\u2014]| - |\b(but|however|although|though|aber|jedoch|mais|cependant|pero|sin embargo|maar|echter|"
    r"ma|tuttavia)\b"
)
_NEGATION_WINDOW = 60
"""Characters before a promise, within its clause, that are searched for a negation or an "if"."""

_COMPILED: dict[str, re.Pattern[str]] = {
    kind: re.compile("|".join(f"(?:{p})" for patterns in by_lang.values() for p in patterns))
    for kind, by_lang in (*PROMISE_FAMILIES.items(), ("on_us", ON_US_FAMILIES), ("gift", GIFT_FAMILIES))
}
_NEGATIVE_FORM = re.compile("|".join(f"(?:{p})" for patterns in NEGATIVE_FORM_FAMILIES.values() for p in patterns))
_FAMILY_ORDER: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pct", _PCT),
    ("half", _HALF),
    ("money_off", _MONEY_OFF),
    *_COMPILED.items(),
    ("negative_form", _NEGATIVE_FORM),
)


@dataclass(frozen=True)
class Promise:
    """One promise found in a reply."""

    code: str
    """``promise.discount``, ``promise.refund`` or ``promise.compensation``."""
    quote: str
    """The words that make the promise (folded)."""
    pct: Decimal | None = None
    """The percentage promised, when the text states one ("half" = 50)."""
    fixed_amount: bool = False
    """A sum of money off ("£10 off"): no percentage ceiling can vouch for it."""


def _sentences(folded: str) -> Iterator[str]:
    for m in _SENTENCE.finditer(folded):
        if m.group(0).strip():
            yield m.group(0)


def _negated(sentence: str, end: int) -> bool:
    """A negation in the promise's own clause, before or inside it ("don't worry, we will cover it" is not negated)."""
    before = sentence[max(0, end - _NEGATION_WINDOW) : end]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    return bool(_NEGATION.search(clause))


def _affirmed(pattern: re.Pattern[str], sentence: str) -> re.Match[str] | None:
    """The first match of ``pattern`` in ``sentence`` that no negation before it or inside it takes back."""
    return next((m for m in pattern.finditer(sentence) if not _negated(sentence, m.end())), None)


def _pct(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def find_promises(text: str) -> list[Promise]:
    """Every affirmative promise in ``text`` (at most one per code and sentence), percentages read out."""
    folded = fold(text)
    # One pass over the whole text decides which families can match at all (most replies promise nothing);
    # only those are tried sentence by sentence, where the negation guard needs the clause.
    live = {name: p for name, p in _FAMILY_ORDER if p.search(folded)}
    found: list[Promise] = []
    if not live:
        return found
    for sentence in _sentences(folded):
        if "pct" in live:
            for m in _PCT.finditer(sentence):
                pct = _pct(m.group("n") or m.group("m"))
                if not _negated(sentence, m.end()) and pct is not None:
                    found.append(Promise("promise.discount", m.group(0).strip(), pct))
        if "half" in live and (m := _affirmed(_HALF, sentence)) is not None:
            found.append(Promise("promise.discount", m.group(0).strip(), Decimal(50)))
        if "money_off" in live and (m := _affirmed(_MONEY_OFF, sentence)) is not None:
            found.append(Promise("promise.discount", m.group(0).strip(), fixed_amount=True))
        for kind in ("discount_offer", "discount_code"):
            if kind in live and (m := _affirmed(live[kind], sentence)) is not None:
                found.append(Promise("promise.discount", m.group(0).strip()))
        for kind in ("refund", "compensation"):
            if kind in live and (m := _affirmed(live[kind], sentence)) is not None:
                found.append(Promise(f"promise.{kind}", m.group(0).strip()))
        on_us = (_affirmed(live["on_us"], sentence) if "on_us" in live else None) or (
            _affirmed(live["gift"], sentence) if "gift" in live else None
        )
        negative_form = _NEGATIVE_FORM.search(sentence) if "negative_form" in live else None
        if (m := on_us or negative_form) is not None:
            found.append(Promise("promise.compensation", m.group(0).strip()))
    return found


def check_promise_limits(text: str, brand: BrandFacts) -> list[tuple[str, str]]:
    """(code, message) for every promise beyond the brand's policy: one per code, most specific first."""
    limit = brand.max_discount_pct
    out: dict[str, str] = {}
    for p in find_promises(text):
        if p.code == "promise.discount":
            if p.pct is not None:
                if limit is None or p.pct > limit:
                    allowed = "no discounts" if limit is None else f"at most {limit}%"
                    out.setdefault(p.code, f"promises {p.quote!r}; policy allows {allowed}")
            elif p.fixed_amount:
                allowed = "no discounts" if limit is None else f"only percentages up to {limit}%"
                out.setdefault(p.code, f"promises {p.quote!r}, a fixed amount off; policy allows {allowed}")
            elif limit is None:
                out.setdefault(p.code, f"offers a discount or code ({p.quote!r}); the brand allows no discounts")
        elif p.code == "promise.refund":
            if brand.refund_policy is None:
                out.setdefault(p.code, f"promises a refund ({p.quote!r}); the brand has no refund policy for replies")
        else:
            out.setdefault(p.code, f"promises compensation, free goods or a waived cost ({p.quote!r})")
    return list(out.items())
