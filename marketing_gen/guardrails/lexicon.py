"""Word lists the checks use: urgency and discount phrases, stopwords per language, first names.

Kept small and reviewable on purpose; extend them here, not inside the checks.
"""

from __future__ import annotations

URGENCY_PATTERNS: tuple[str, ...] = (
    r"today only",
    r"only today",
    r"last chance",
    r"act now",
    r"act fast",
    r"hurry",
    r"limited[- ]time",
    r"ends? (?:soon|today|tonight|at midnight)",
    r"ending soon",
    r"expires? (?:soon|today|tonight)",
    r"before (?:it'?s|they'?re) gone",
    r"while (?:stocks?|supplies) last",
    r"don'?t miss out",
    r"final hours?",
    r"last day",
    r"only \d+ left",
    r"selling fast",
    r"\d+ hours? only",
    r"now or never",
    r"(?:buy|order) now before",
    r"nur heute",
    r"letzte chance",
    r"nur noch \d+",
    r"schnell sein",
    r"dernière chance",
    r"aujourd'hui seulement",
    r"dépêchez-vous",
    r"última oportunidad",
    r"solo hoy",
    r"date prisa",
    r"laatste kans",
    r"alleen vandaag",
    r"ultima occasione",
    r"solo oggi",
    r"affrettati",
)
"""False-urgency phrases (regex fragments, case-insensitive); allowed only when the offer has an end date."""

DISCOUNT_PATTERNS: tuple[str, ...] = (
    r"discount(?:s|ed)?",
    r"on sale",
    r"sale",
    r"clearance",
    r"coupons?",
    r"vouchers?",
    r"promo(?:tion)?s?",
    r"promo code",
    r"save(?: up to)?",
    r"savings?",
    r"half[- ]price",
    r"reduced",
    r"markdowns?",
    r"bargains?",
    r"rabatt\w*",
    r"reduziert",
    r"sonderangebot\w*",
    r"gutschein\w*",
    r"soldes",
    r"réduction",
    r"remise",
    r"descuentos?",
    r"rebajas?",
    r"korting",
    r"uitverkoop",
    r"sconto",
    r"sconti",
    r"saldi",
)
"""Words that promise a discount; ungrounded when the campaign's offer grants none."""

FREEBIE_PATTERNS: tuple[str, ...] = (
    r"free (?:shipping|delivery|gift|returns?|postage|sample)",
    r"kostenlose?r? versand",
    r"livraison gratuite",
    r"envío gratis",
    r"gratis verzending",
    r"spedizione gratuita",
)
"""Offer claims that must appear in the campaign's offer text."""

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and you your for with this that are our from have just new get all it is to of in on".split()),
    "de": frozenset("der die das und ist nicht mit für ein eine dein deine sie ihr wir auf auch von zu den".split()),
    "fr": frozenset("le la les et est pour avec une des vous votre vos nous sur dans ce qui pas du au".split()),
    "es": frozenset("el la los las y es para con una por que del tu tus su sus nuestro está pero más".split()),
    "nl": frozenset("de het een en is voor met van op je jouw jij wij ons niet ook dat deze bij zijn".split()),
    "it": frozenset("il lo la gli le e è per con una di che del della tuo tua tuoi nostro sono non anche".split()),
}
"""Frequent function words per language for the light language detector (``quality.language``)."""

GENERIC_WORDS: frozenset[str] = frozenset(
    """a an the and or of for to in on at with by from your you our my we it its this that these new just now
    shop buy discover explore find get see view browse order add try meet treat enjoy love gift gifts pick picks
    picked hand made handmade favourite favourites favorite favorites best top great perfect lovely beautiful
    stylish classic modern vintage cosy cozy home style collection collections range free shipping delivery
    offer offers deal deals sale today week weekend season seasonal spring summer autumn fall winter christmas
    holiday holidays day days more less all every only ideas idea inspiration look looks here there back again
    quality value price prices store online fresh just-in arrivals arrival thanks thank hello hi dear welcome
    why what how who when because recommended recommendation recommendations selected selection curated
    something someone special essentials essential must-haves must-have favourites update updates news
    hand-picked handpicked ready go time little big small cute chic elegant gorgeous amazing unique timeless
    everyday must cosy comfy bright bold fun happy joyful simple smart clever easy perfectly yours yourself
    treat treats upgrade refresh celebrate make give ideal latest trending popular bestseller bestsellers
    exclusive limited edition reply stop opt out original authentic genuine premium luxury affordable""".split()
)
"""Marketing words that appear capitalised in headlines without naming a product."""

FIRST_NAMES: frozenset[str] = frozenset(
    """james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony
    donald steven paul andrew joshua kenneth kevin brian george edward ronald timothy jason jeffrey ryan jacob
    gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander patrick
    dennis jerry tyler aaron henry douglas peter adam nathan zachary kyle walter harold jeremy ethan carl keith
    roger gerald sean arthur noah lawrence jesse joe bryan billy albert dylan bruce willie gabriel alan juan
    logan wayne ralph roy eugene randy vincent russell louis philip bobby johnny mary patricia jennifer linda
    elizabeth barbara susan jessica sarah karen nancy lisa betty margaret ashley kimberly emily donna michelle
    dorothy amanda melissa deborah stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen
    anna brenda pamela nicole emma samantha katherine christine debra rachel catherine carolyn janet maria
    heather diane julie joyce kelly christina lauren joan evelyn olivia judith megan cheryl martha andrea
    hannah jacqueline ann gloria kathryn alice teresa sara janice doris julia judy abigail marie denise beverly
    theresa marilyn danielle diana brittany natalie sophia isabella charlotte amelia mia harper ava chloe ella
    oliver harry charlie leo oscar archie freddie alfie theo sophie isla lucy millie hans klaus jürgen stefan
    wolfgang andreas uwe ursula monika petra sabine karin renate helga ingrid birgit lukas finn jonas leon
    felix maximilian elias lena lea hanna leonie pierre michel philippe alain nicolas françois jacques bernard
    hugo lucas camille chloé manon léa inès louise nathalie isabelle sylvie valérie céline josé antonio manuel
    francisco javier carlos miguel rafael pedro pablo alejandro lucía martina carmen dolores pilar isabel elena
    josefa piet kees henk willem daan sem bram thijs sanne fleur lotte eva anouk femke giuseppe giovanni marco
    luca francesco alessandro matteo lorenzo giulia francesca chiara alessia federica""".split()
)
"""Common first names (en/de/fr/es/nl/it). Other people's names are PII in copy; the recipient's is allowed.
Names that are also everyday words (May, Will, Hope, Joy, Rose, Holly, Mark, Bill …) are left out on purpose."""

META_PATTERNS: tuple[str, ...] = (
    r"as an ai",
    r"language model",
    r"here(?: is|'s) (?:a|an|the|your) (?:email|ad|message|draft|copy|text|sms)",
    r"i hope this",
    r"i'?m sorry,? but",
    r"i cannot",
    r"i can'?t help",
    r"feel free to (?:modify|adjust|customi[sz]e)",
    r"\bsure[!,.]",
    r"certainly[!,.]",
    r"subject line:",
    r"\bplaceholder\b",
    r"lorem ipsum",
)
"""The model talking about the task instead of writing the copy."""

PRODUCT_NOUNS: frozenset[str] = frozenset(
    """mug mugs cup cups plate plates bowl bowls jar jars bottle bottles glass glasses teapot kettle tray trays
    tin tins box boxes basket baskets bag bags tote backpack wallet purse case cases cover covers cushion cushions
    pillow pillows blanket blankets throw rug rugs mat mats doormat doormats curtain curtains towel towels apron
    candle candles holder holders lantern lanterns lamp lamps bulb bulbs vase vases frame frames mirror mirrors
    clock clocks sign signs ornament ornaments decoration decorations bauble baubles wreath garland bunting
    hook hooks hanger hangers shelf shelves cabinet drawer drawers chair chairs table tables stool desk sofa bed
    notebook notebooks pen pens pencil pencils card cards wrap paper stickers sticker calendar diary journal
    toy toys doll dolls puzzle game games teddy kit kits set sets
    shirt shirts t-shirt t-shirts tee dress dresses skirt jeans trousers jacket jackets coat coats hoodie sweater
    jumper scarf scarves hat hats cap gloves socks shoe shoes boots boot sneakers trainers sandals belt watch
    watches necklace bracelet earrings ring rings jewellery jewelry sunglasses umbrella
    phone phones charger cable cables headphones earbuds speaker speakers laptop tablet keyboard mouse monitor
    camera printer router adapter battery batteries drone console controller
    blender toaster mixer kettle grinder fryer oven microwave fridge vacuum iron fan heater filter
    shampoo conditioner soap lotion cream perfume brush brushes razor
    """.split()
)
"""Nouns that name a kind of product; an unknown one inside a capitalised phrase suggests an invented product."""

CTA_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """shop discover explore see view browse get buy order find take try learn read start claim grab check add
        book reserve join sign subscribe download choose pick meet visit show open come look unlock treat yourself
        reorder restock refill upgrade complete finish continue go""".split()
    ),
    "de": frozenset(
        """entdecken entdecke ansehen anschauen kaufen shoppen bestellen erfahren stöbern zum zur sichern
        holen hol ausprobieren probieren lesen starten mehr hier los anmelden abonnieren auswählen wählen
        nachbestellen schau entdeck finde finden""".split()
    ),
    "fr": frozenset(
        """découvrir découvrez voir acheter achetez commander commandez profiter profitez explorer explorez
        shopper essayer essayez lire commencer choisir choisissez réserver réservez j'en je en""".split()
    ),
    "es": frozenset(
        """descubre descubrir ver comprar compra explora explorar pide pedir consigue conseguir elige elegir prueba
        probar reserva reservar mira aprovecha leer""".split()
    ),
    "nl": frozenset(
        """bekijk bekijken ontdek ontdekken shop shoppen bestel bestellen koop kopen probeer probeeren kies kiezen
        lees lezen reserveer naar""".split()
    ),
    "it": frozenset(
        """scopri scoprire vedi vedere acquista acquistare compra comprare esplora esplorare ordina ordinare prova
        provare scegli scegliere leggi prenota approfitta""".split()
    ),
}
"""Action words a call to action holds, per language (``content.cta``); any one of them in the CTA is enough."""

LANGUAGE_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """the and you your yours for with this that these are our from have just get it's is to of in on we
        discover explore shop browse take look see new picked here now more find""".split()
    ),
    "de": frozenset(
        """und ist nicht mit für ein eine einen dein deine deinen dich dir sie ihr wir auf auch von zu zum zur
        der das jetzt neue neu entdecken entdecke ansehen hallo danke unsere unser ausgewählt schau mehr""".split()
    ),
    "fr": frozenset(
        """le les et pour avec une des vous votre vos nous sur dans ce qui pas du au aux découvrir découvrez
        nouveautés nouveauté choisi choisie bonjour merci notre nos chez très cette voir""".split()
    ),
    "es": frozenset(
        """el los las es para con una por que del tu tus su sus nuestro nuestra está pero más descubre hola
        gracias novedades elegido ahora ver""".split()
    ),
    "nl": frozenset(
        """het een en voor met op je jouw jij wij ons niet ook dat deze bij zijn bekijk ontdek nieuw nieuwe
        hallo bedankt gekozen onze""".split()
    ),
    "it": frozenset(
        """il lo gli è per con una di che del della tuo tua tuoi nostro sono non anche scopri ciao grazie
        novità scelto nostre nostri""".split()
    ),
}
"""Words that mark a language (``language.field``): function words and the words of calls to action. A word
counts for a foreign language only when it is not also a marker of the user's own language."""

GREETINGS: frozenset[str] = frozenset(
    "hello hi hey dear hallo liebe lieber bonjour salut cher chère hola querido querida hoi beste ciao caro".split()
)
"""Words a salutation starts with; the name after one must be the recipient's first name (``fidelity.name``)."""

SHARED_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("per hallo via en".split()),
    "de": frozenset("in es je per man so die was hallo".split()),
    "fr": frozenset("en tu es il non on que le la".split()),
    "es": frozenset("en lo di la le".split()),
    "nl": frozenset("in is of we die de hallo".split()),
    "it": frozenset("su tu le lo in la".split()),
}
"""Markers of another language that are also everyday words of this one (German "es", French "en", Dutch
"of"): never foreign evidence for a user of this language."""
