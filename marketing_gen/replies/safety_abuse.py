"""Messages a person must answer: self-harm, threats of violence, harassment and insults, in English, German,
French, Spanish, Dutch and Italian.

Owns the pattern families (per reason and language, on the folded, de-leeted views of ``safety_text`` so
``idi0ts`` and ``f*cking`` count) and the escalation reasons. A family fires on a *target* plus a harm: an
insult aimed at people (``you people are … idiots``), a violent act aimed at someone or their property
(``I hope your warehouse burns down``), never on hyperbole aimed at oneself or a thing ("this update is killing
me", "the battery died", "I'm dying to try it"). Does not decide the category or the reply (``triage`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from marketing_gen.replies.safety_text import Patterns, TextViews, views

_YOU_EN = (
    r"(you|u|ya|y'?all|you guys|you people|you lot|(what|such) a (bunch|pack|load|gang|band|herd) of|"
    r"(bunch|pack|load|gang|band|herd) of)"
)
_STAFF_EN = (
    r"your (\w+ ){0,2}(staff|team|company|agents?|reps?|employees?|people|workers|managers?|ceo|support|"
    r"customer service|call cent(er|re)|drivers?|couriers?|advisors?|boss(es)?|owners?)( staff| team| people)?"
    r"( [a-z]+)?( is| are|'s| was| were)"
)
_HARSH_EN = (
    r"(idiots?|morons?|imbeciles?|cretins?|dumbass(es)?|clowns?|losers?|scum(bags?)?|brain-?dead|assholes?|"
    r"bitch(es)?|bastards?|cunts?|dickheads?|pricks?|twats?|wankers?|jerks?|retard(ed|s)?|fools?|muppets?|numpties|"
    r"thieves|crooks|liars|frauds?|scammers?|pigs?|donkeys?|cows?|monkeys?|rats?|snakes?|sheep|baboons?|apes?|"
    r"buffoons?|halfwits?|nitwits?|dimwits?|dunces?|parasites?|vermin|maggots?|leeches?|degenerates?|freaks?|"
    r"sons? of (a )?bitch(es)?)"
)
"""Insults that are names for people: they escalate whoever they are aimed at."""
_MILD_EN = r"(stupid|dumb|pathetic|trash|garbage|incompetent|useless)"
"""Words that insult a person addressed directly ("you are useless") but only criticise a service when aimed at
staff in the third person ("your drivers are useless" stays a complaint)."""
_FILLER_EN = (
    r"( are| is|'re| r| all| so| such| a| an| the| fucking| bloody| fkn| fcking| total| complete| absolute| utter|"
    r" bunch of| pack of| of| incompetent| useless| lazy| brainless| stupid| dumb| worthless| clueless| lying|"
    r" thieving| damn| goddamn| pathetic| miserable| little| big| fat)*"
)

ABUSE_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "self_harm": {
        "en": (
            r"\bkill(ing)? my ?self\b|\bkms\b|\bunalive (my ?self|me)\b",
            r"\bsuicid(e|al)\b",
            r"\b(end|ending|take|taking) (it all|my (own )?life)\b",
            r"\bi (just )?want to die\b|\bwanna die\b",
            r"\bself[- ]?harm",
            r"\b(hurt|hurting|harm|harming|cut|cutting) my ?self\b",
            r"\bno (reason|point) (to|in) (live|living|go on|going on)\b",
            r"\b(don'?t|do not) want to (live|be alive|be here|exist)( anymore| any more| any longer)?\b"
            r"(?! (in|with|at|on|near|like|for)\b)",
            r"\b(don'?t|do not) want to wake up( anymore| any more| again| ever again| tomorrow)\b",
            r"\b(better off|world (would be|is) better) (dead|without me)\b",
            r"\b(overdose|od) on\b",
            r"\b(take|taking|swallow|swallowing|down|downing) (all|a bunch of|a whole (bottle|pack|box) of|"
            r"the whole (bottle|pack|box) of) (my |the |those |these )?(pills|tablets|meds|medication|sleeping pills|"
            r"painkillers)\b",
            r"\b(want|wanna|going) to disappear (forever|for good|from this world|permanently)\b",
            r"\b(rather|prefer to|sooner) (be dead|die|not (be alive|exist|wake up))\b",
            r"\b(nothing matters|no point) (anymore|any more|in living)\b|\b(can'?t|cannot) go on (anymore|any more|"
            r"living|like this)\b",
        ),
        "de": (
            r"\b(selbstmord|suizid)\w*",
            r"\b(mich|mir) (umbringen|umzubringen|das leben (zu )?nehmen|(etwas|was) (an)?(zu)?tun|selbst verletzen|"
            r"ritzen|toten)\b",
            r"\b(will|mochte|kann) nicht mehr leben\b",
            r"\b(will|mochte) (sterben|tot sein)\b",
            r"\bkeinen sinn mehr\b.{0,20}\bleben\b",
            r"\b(lieber|eher) (tot|sterben)\b|\b(ware|bin) lieber tot\b",
            r"\bich (bring|bringe) mich\b.{0,15}\bum\b|\bich (nehme|nehm) mir das leben\b",
        ),
        "fr": (
            r"\bsuicid\w*",
            r"\b(veux|vais|voudrais|pense a|envie de|besoin de) (me tuer|me foutre en l'air|mourir|en finir)\b",
            r"\b(me|m') ?(suicider|faire du mal|ouvrir les veines|mutiler|scarifier)\b",
            r"\b(plus|pas) envie de vivre\b",
            r"\bmettre fin a (mes jours|ma vie)\b",
            r"\bje (vais|veux|voudrais) (me tuer|me suicider|disparaitre pour toujours)\b",
            r"\b(je )?(prefere|preferais|prefererais|plutot) (mourir|etre mort|crever)\b",
        ),
        "es": (
            r"\bsuicid\w*",
            r"\b(quitarme|acabar con) (la|mi) vida\b",
            r"\b(quiero|voy a|pienso en|pensando en|ganas de) (matarme|morir(me)?|hacerme dano|cortarme)\b",
            r"\b(no|ya no) quiero (vivir|seguir viviendo)\b",
            r"\bme (voy a|quiero|pienso) (matar|suicidar|quitar la vida)\b|\bme mato\b",
            r"\b(prefiero|preferiria) (estar muerto|estar muerta|morir(me)?)\b",
        ),
        "nl": (
            r"\bzelfmoord\w*|\bsuicid\w*",
            r"\b(mezelf|me) (van kant maken|iets aandoen|doden|ombrengen|snijden)\b",
            r"\b(wil|wou) (niet meer (leven|verder)|dood|sterven|er niet meer zijn)\b",
            r"\ber\b.{0,20}\been (eind|einde) aan (te )?maken\b",
            r"\b(wil|ben|was|zou) (ik )?liever dood\b|\bliever dood dan\b",
            r"\b(breng|brengen)\w* mezelf\b.{0,10}\bom\b|\bik (maak|pleeg) (mezelf van kant|zelfmoord)\b",
        ),
        "it": (
            r"\bsuicid\w*",
            r"\b(togliermi|levarmi) la vita\b",
            r"\b(uccidermi|ammazzarmi|farmi del male|tagliarmi)\b",
            r"\b(voglio|vorrei) morire\b",
            r"\bnon (voglio|ho voglia di) piu vivere\b",
            r"\bfarla finita\b",
            r"\b(preferisco|preferirei) (morire|essere morto|essere morta)\b|\bmeglio mort[oa]\b",
            r"\bmi (voglio |vado a |sto per )?(ammazzare|uccidere|ammazzo|uccido|tolgo la vita|togliere la vita)\b",
        ),
    },
    "threat": {
        "en": (
            r"\b(i'?ll|i will|i'?m (gonna|going to)|im (gonna|going to)|gonna|going to|i'?m about to|we'?ll|we will|"
            r"someone (should|will|needs to|ought to|is going to))\b.{0,40}\b(kill|murder|shoot|stab|hurt|beat( up)?|"
            r"punch|smash|burn|bomb|torch|attack|strangle|choke|slap|run over)\b (you|u|ya|your|ur|them|him|her|"
            r"everyone|someone'?s?|somebody|people|staff|the (staff|manager|store|office|ceo|driver|agent|place|"
            r"building|warehouse)|this (place|store|company|office)|it down|down)\b",
            r"\b(bomb|shoot up|burn down|blow up)\s+(your|the|ur)\b(?! (phone|inbox|dms?|mentions|notifications)\b)",
            r"\b(burn|burns|burned|burning|torch|torched)\b (it |your \w+ |the \w+ |ur \w+ )?(down|to the ground)\b",
            r"\b(i )?hope (you|u|your|ur|the|that|all|every)\b.{0,30}\b(die|dies|burn|burns|burned|rot|rots|"
            r"(get|gets) (hit|killed|cancer|shot|hurt|run over|stabbed|beaten)|explode|explodes|catch(es)? fire)\b",
            r"\byou('ll| will|'re gonna|'re going to) (regret|pay for) (this|it)\b",
            r"\bwatch your back\b",
            r"\byou('re| are) (dead|going to die|gonna die)\b",
            r"\b(i'?ll|i will|i swear i'?ll|i'?m (gonna|going to)|we'?ll|we will)\b.{0,20}\b(torch|burn( down)?|"
            r"blow up|bomb|smash up|trash|wreck|firebomb|set fire to)\b (your|ur|the|this|that) \w+",
            r"\b(see|watch) what happens to (you|u|your|ur|y'?all)\b",
            r"\b(i'?ll|i will|i'?m gonna|i'?m going to|we'?ll) make (you|u|y'?all|you all|them|him|her|everyone)( all)?"
            r" "
            r"(pay|suffer|regret)\b",
            r"\b(hope|wish) (you|u|y'?all|your \w+|all of you)( all)?\b.{0,25}\b(die|dies|dead|killed|hurt|"
            r"suffer|rot in hell)\b",
        ),
        "de": (
            r"\b(bring|bringe|bringen)\w* (euch|dich|sie|ihn|alle|jemand\w*)\b.{0,10}\bum\b",
            r"\b(schlag|verprugel|prugel|hau|erschiess|erstech|abstech)\w* (euch|dich|sie|ihn|alle|jemand\w*)\b",
            r"\b(abfackeln|abbrennen|anzunden|niederbrennen|in die luft (sprengen|jagen))\b",
            r"\b(hoffe|hoffentlich)\b.{0,40}\b(abbrennt|abbrennen|brennt|abfackelt|explodiert|stirbt|sterbt|verreckt|"
            r"verrecken|in flammen)\b",
            r"\b(ihr|du|sie) (werdet|wirst|werden) (es )?bereuen\b",
            r"\bich (mach|mache) (euch|dich|sie) (fertig|kalt|platt|kaputt)\b",
            r"\b(fackel|fackle|brenn|zund|spreng|jag)\w* (ich|wir) (euren|deinen|ihren|den|das|die|eure|deine|ihre) \w+"
            r" "
            r"(ab|an|nieder|in die luft)\b",
            r"\b(ich|wir) (werde |werden )?(zunde|zunden|fackle|fackeln|brenne|brennen|spreng\w*) (euren|deinen|ihren|"
            r"den|das|die|eure|deine) \w+",
        ),
        "fr": (
            r"\b(je vais|on va|j'vais|je viens|nous allons)\b.{0,30}\b(vous|te|t'|les|le|la) ?(tuer|buter|frapper|"
            r"defoncer|cramer|bruler|egorger|crever|descendre|massacrer|casser la gueule)\b",
            r"\b(casser|peter|exploser|defoncer) la (gueule|tete|figure)\b",
            r"\b(j'espere|j espere|pourvu|j'espere bien) que\b.{0,40}\b(brule|bruler|crame|explose|creve|meure|meurt|"
            r"crevent|meurent|prenne feu|brulent)\b",
            r"\b(mettre|foutre) le feu\b|\bfaire sauter (votre|ton|vos|le|la)\b",
            r"\b(je vais|on va|j'vais|je compte) (aller )?(bruler|incendier|cramer|detruire|saccager|defoncer|"
            r"exploser) (votre|ton|ta|vos|tes|le|la|les)\b",
        ),
        "es": (
            r"\b(te|os|les|lo|la) (voy|vamos) a (matar|partir|reventar|quemar|pegar|apunalar|disparar)\b",
            r"\b(partir|romper|reventar)\w* (la cara|la boca|las piernas|la madre)\b",
            r"\b(ojala|espero que)\b.{0,40}\b(se queme|quemen|ardan|arda|mueran|muera|os murais|revienten|explote)\b",
            r"\b(quemar|incendiar|prender fuego a) (su|tu|vuestro|vuestra|la|el)\b",
            r"\b(voy|vamos) a (quemar|incendiar|destrozar|reventar|volar) (su|tu|vuestro|vuestra|la|el|los|las)\b",
        ),
        "nl": (
            r"\b(ik|wij|we)\b.{0,30}\b(jullie|je|u|hem|haar|jou)\b.{0,20}\b(vermoorden|doodmaken|afmaken|slaan|"
            r"in elkaar slaan|neersteken|neerschieten|in de fik steken)\b",
            r"\bsla (jullie|je|jou|u|hem|haar)\b.{0,15}\b(in elkaar|dood|neer)\b",
            r"\b(ik hoop|hopelijk)\b.{0,40}\b(afbrandt|afbranden|in de fik|doodgaat|dood gaat|creperen|crepeert|"
            r"ontploft|verbrandt|sterft|sterven)\b",
            r"\bin de fik steken\b",
            r"\b(steek|steken|stak)\b.{0,30}\bin (de )?(brand|fik)\b",
        ),
        "it": (
            r"\b(vi|ti|lo|la|li) (ammazzo|uccido|ammazzero|uccidero|brucio|faccio (a pezzi|fuori|saltare))\b",
            r"\b(spacco|spacchero|rompo|rompero) (la|le) (faccia|testa|gambe|ossa)\b",
            r"\b(spero che|magari)\b.{0,40}\b(bruci|vada a fuoco|prenda fuoco|esploda|muoia|muoiate|crepi|crepiate|"
            r"salti in aria)\b",
            r"\bdare fuoco\b",
        ),
    },
    "harassment": {
        "en": (
            r"\b(i|we) know where (you|u|your \w+|he|she|they|him|her)( \w+)? (live|lives|work|works|sleep|sleeps|"
            r"park|parks|go|goes|drive|drives|stay|stays|shop|shops)\b",
            r"\b(i|we) know (her|his|your|their) (car|house|address|home|family|kids|children|schedule|route|plates?)\b"
            r"",
            r"\b(post|share|leak|publish|dox|doxx)\w* (your|his|her|their|the) (\w+'?s? )?(home )?"
            r"(address|phone number|number|location|family)\b",
            r"\b(home|family|personal) address\b.{0,40}\b(post|share|leak|publish|find|found)\w*\b",
            r"\b(send|show) (me )?(nudes|a (pic|picture|photo|selfie) of (you|yourself)|pics of (you|yourself))\b",
            r"\b(you'?re|you are|she'?s|she is|he'?s|he is|u r) (so |really |very )?sexy\b|\bsexy\b.{0,20}(😘|😏|😍)",
            r"\b(i'?ll|i will|gonna|going to) (find|track down|hunt down|come for) (you|u|her|him|them|your)\b",
            r"\b(i'?ll|i will|i'?m gonna|i'?m going to) be waiting (outside|at your|by your)\b",
            r"\b(track|hunt) (down )?(the|that|this|your) (driver|agent|rep|manager|employee|courier|guy|woman|man|"
            r"girl|lady|person|staff member|worker|cashier)\b|\b(track|hunt) (him|her|them) down\b",
            r"\b(i'?ll|i will|gonna|going to) keep (messaging|calling|posting|tweeting|harassing|following)\b",
        ),
        "de": (
            r"\b(ich|wir) weiss?,? wo\b.{0,25}\b(wohnt|wohnst|wohnen|arbeitet|arbeitest|arbeiten)\b",
            r"\b(ich|wir) (finde|finden|kriege|erwische)\w* (dich|euch|sie)\b",
            r"\b(nacktbilder|nacktfotos|ein (bild|foto) von dir)\b",
            r"\b(adresse|wohnadresse|privatadresse|handynummer)\b.{0,30}\b(veroffentlich|posten|teilen|verbreiten)\w*",
        ),
        "fr": (
            r"\b(je sais|on sait|nous savons) ou\b.{0,25}\b(habite|habites|habitez|habitent|vit|vis|vivez|vivent|"
            r"bosse|bosses|travaille|travailles|travaillez)\b",
            r"\b(je vais|on va) (te|vous) (retrouver|trouver|traquer)\b",
            r"\b(photos? (de toi|de vous)|nudes)\b",
            r"\b(publier|poster|diffuser)\b.{0,20}\b(adresse|numero)\b",
        ),
        "es": (
            r"\b(se|sabemos) (donde|en que)\b.{0,20}\b(vives|vive|viven|vivis|trabaja|trabajas|trabajan)\b",
            r"\b(te|os|la|lo|les) (voy|vamos) a (encontrar|buscar a)\b",
            r"\b(fotos? (tuyas|desnud\w*)|nudes)\b",
            r"\b(publicar|difundir|compartir)\b.{0,20}\b(direccion|domicilio|telefono)\b",
        ),
        "nl": (
            r"\b(ik weet|we weten|wij weten) waar\b.{0,25}\b(woont|wonen|werkt|werken|woon)\b",
            r"\b(ik|we) (vind|vinden|krijg|pak) (je|jou|jullie|u) (nog|wel)\b",
            r"\b(naaktfoto\w*|nudes|een foto van (jou|je))\b",
            r"\b(adres|huisadres|telefoonnummer)\b.{0,30}\b(posten|delen|openbaar|online zetten)\b",
        ),
        "it": (
            r"\b(so|sappiamo|lo so) (dove|dov')\b.{0,20}\b(abiti|abita|abitano|vivi|vive|vivono|lavori|lavora)\b",
            r"\b(ti|vi) (trovero|troveremo|vengo a cercare|verro a cercare)\b",
            r"\b(foto (tue|nud\w*)|nudes)\b",
            r"\b(pubblic|condivid|diffond)\w*\b.{0,20}\b(indirizzo|numero di telefono)\b",
        ),
    },
    "insult": {
        "en": (
            rf"\b{_YOU_EN}\b{_FILLER_EN}\s+({_HARSH_EN}|{_MILD_EN})\b",
            rf"\b{_STAFF_EN}\b{_FILLER_EN}\s+{_HARSH_EN}\b",
            rf"\b{_HARSH_EN} (who |that )?(work|works|working|run|runs|running|answer|answering|staff|manage|managing)"
            r" (in |at |for )?(your|ur|this|that)\b",
            r"\b(fuck|f\*+ck) (you|u|ya|y'?all|off|your (company|staff|team))\b",
            r"\bscrew (you|u|ya|y'?all|your (company|staff|team))\b",
            r"\b(stfu|gfy|kys)\b",
            r"\bgo (to hell|die|fuck yourselves?)\b",
            r"\bshut (the f\w* )?up\b",
            r"\b(cunts?|retards?|whores?|sluts?|motherfuckers?)\b",
        ),
        "de": (
            r"\b(ihr|du|sie)( seid| bist| sind)?( doch| echt| wirklich| alle| so| total| einfach| nur| ja| ein| eine|"
            r" einer| ein paar| haufen| verein)*\s+(\w+e )?(idioten|idiot|vollidioten|trottel|deppen|depp|penner|"
            r"versager|arschloch\w*|arschlocher|wichser|unfahig\w*|inkompetent\w*|schwachkopf\w*|loser|betruger|"
            r"verbrecher|hurensohn\w*|mistkerl\w*|vollpfosten|spasti\w*|behindert\w*)\b",
            r"\b(was fur ein|so ein|ein|euer|ihr) (haufen|verein|pack|bande|truppe|laden voller|stall voller) (von )?"
            r"(\w+e )?(idioten|vollidioten|trotteln|deppen|pennern|versagern|arschlochern|wichsern|betrugern|"
            r"verbrechern|vollpfosten|spinnern)\b",
            r"\b(fick dich|fickt euch|halt die fresse|halt's maul|haltet die fresse|hurensohn\w*|wichser|"
            r"arschloch\w*)\b",
        ),
        "fr": (
            r"\b(vous etes|t'es|tu es|vous|bande|espece|tas|tous)( des| une| un| de| d'| vraiment| tous| toutes| que)*"
            r"\s*(idiots?|imbeciles?|cons|connards?|connasses?|abrutis?|incapables|nuls|cretins?|debiles|encules|"
            r"salauds?|batards?|escrocs|voleurs|incompetents)\b",
            r"\b(va te faire foutre|allez vous faire foutre|ta gueule|fermez vos gueules|nique\w* (ta|ton|vos|votre)|"
            r"connards?|encules?|fils de pute)\b",
        ),
        "es": (
            r"\b(sois|son|eres|es usted|ustedes son|panda|banda|pandilla|manada|monton)( unos| unas| un| una| de|"
            r" todos| todas| muy| tan| y)*\s+(inutiles|idiotas|imbeciles|estupidos|tontos|pendejos|gilipollas|cabrones|"
            r"incompetentes|ladrones|estafadores|subnormales)\b",
            r"\b(hijos? de puta|vete a la mierda|idos a la mierda|que te jodan|que os jodan|gilipollas|cabrones|"
            r"pendejos)\b",
        ),
        "nl": (
            r"\b(jullie zijn|je bent|jij bent|u bent|stelletje|stel|bende|zootje|jullie)( een| allemaal| echt| zo| de|"
            r" stelletje| stel| bende| zootje)*\s+(\w+e )?(idioten|idioot|sukkels?|klootzakken|klootzak|eikels?|"
            r"debielen|debiel|mongolen|prutsers|oplichters|incompetent\w*|waardeloz\w*|achterlijk\w*|kankerlijers?)\b",
            r"\b(rot op|krijg de (tering|kanker|tyfus|pest)|kankerlijers?|klootzakken|kutbedrijf)\b",
        ),
        "it": (
            r"\b(siete|sei|voi siete|tu sei|branco|banda|massa|manica)( degli| dei| delle| di| un| una| tutti| solo|"
            r" proprio| veramente| davvero)*\s+(idioti|idiota|imbecilli|imbecille|incompetenti|stronzi|stronzo|"
            r"coglioni|coglione|cretini|cretino|deficienti|buffoni|ladri|truffatori|inutili|incapaci)\b",
            r"\b(vaffanculo|andate a fanculo|fottiti|fottetevi|vai a cagare|stronzi|coglioni|figli di puttana)\b",
        ),
    },
}
"""Escalation reason → language → patterns on the folded, de-leeted text. Dict order is the priority."""

REASONS: dict[str, str] = {
    "self_harm": "self-harm: the writer may be at risk; a person answers with care (support and crisis resources), "
    "never a template",
    "threat": "threat of violence",
    "harassment": "harassment",
    "insult": "insult",
}
"""Escalation reason code → the reason shown to the agent."""

_COMPILED: tuple[tuple[str, Patterns], ...] = tuple(
    (reason, Patterns(p for patterns in by_lang.values() for p in patterns))
    for reason, by_lang in ABUSE_FAMILIES.items()
)


@dataclass(frozen=True)
class AbuseFinding:
    """Why a message must go to a person."""

    code: str
    """``self_harm``, ``threat``, ``harassment`` or ``insult``."""
    reason: str
    """What the agent sees (``REASONS``)."""
    quote: str
    """The words that matched (folded)."""


def detect_abuse(text: str | TextViews) -> AbuseFinding | None:
    """The most serious escalation reason in ``text`` (self-harm, threat, harassment, insult), or None."""
    seen = text if isinstance(text, TextViews) else views(text)
    for code, patterns in _COMPILED:
        if (m := patterns.search(seen)) is not None:
            return AbuseFinding(code, REASONS[code], m.group(0))
    return None
