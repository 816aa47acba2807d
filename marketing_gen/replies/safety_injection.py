"""Prompt-injection detection in incoming comments, in English, German, French, Spanish, Dutch and Italian.

Owns the pattern families, one per kind of attack and language, written against the folded text of
``safety_text`` (lower case, no accents, leetspeak and spacing undone). A kind fires on a *combination* (an
override verb with an instruction noun, an extraction verb with "verbatim", a second-person role change), never
on a lone everyday word, so "please ignore my previous message" or "what are the rules for returns?" stay
clean. Does not decide what happens to a flagged comment (``triage`` and ``candidates`` do).
"""

from __future__ import annotations

from marketing_gen.replies.safety_text import Patterns, TextViews, views

# Words shared by several families. "Instruction nouns" are what a model is told; ordinary objects of
# "ignore" in a customer message (my previous message, the last tweet) are deliberately not among them.
_NOUNS_EN = (
    r"(instructions?|rules|prompts?|guidelines|directives?|polic(y|ies)|programming|system (message|prompt)|guardrails)"
)
_MESSAGE_WORDS = r"(message|msg|email|e-mail|mail|tweet|dm|post|reply|comment|order|one|question|text)s?"

# The assistant's own configuration, as a customer would never need to name it: second-person possessive + an
# internal noun ("your system message", "tes consignes internes"); plain "your rules" (a store's return rules) and
# "your instructions" (a product manual) are not enough on their own and need a verb that sets them aside or
# reproduces them.
_SELF_EN = (
    r"(your|ur|the bot'?s|the ai'?s|the assistant'?s) (own |internal |hidden |secret |original |initial |system |"
    r"exact |full |complete |current )*(instructions|guidelines|directives|system message|system prompt|prompt|"
    r"configuration|config|programming|internal rules|hidden rules|secret rules|rules you were given)"
)
_SELF_DE = (
    r"(deine|ihre|eure|deinen|ihren|euren|deiner|ihrer|eurer) (eigenen |internen |geheimen |versteckten |"
    r"ursprunglichen |genauen )*(anweisungen|instruktionen|vorgaben|richtlinien|systemnachricht|konfiguration|"
    r"programmierung|internen regeln|prompt)"
)
_SELF_FR = (
    r"(tes|vos|ton|votre|ta) (propres |)(instructions|consignes|directives|message systeme|configuration|"
    r"programmation|regles internes|regles secretes|prompt)( internes| secretes| cachees| initiales| originales)?"
)
_SELF_ES = (
    r"(tus|sus|vuestras|tu|su) (propias )?(instrucciones|indicaciones|directrices|mensaje del sistema|"
    r"configuracion|programacion|reglas internas|reglas secretas|prompt)( internas| secretas| ocultas| iniciales)?"
)
_SELF_NL = (
    r"(je|jouw|uw|jullie) (eigen |interne |geheime |verborgen |oorspronkelijke )*(instructies|richtlijnen|"
    r"systeembericht|configuratie|programmering|interne regels|geheime regels|prompt)"
)
_SELF_IT = (
    r"(tue|sue|vostre|tuo|suo|vostro|le tue|le sue|le vostre|il tuo|il suo) (istruzioni|indicazioni|direttive|"
    r"messaggio di sistema|configurazione|programmazione|regole interne|regole segrete|prompt)"
    r"( interne| segrete| nascoste| iniziali| originali)?"
)
_SET_ASIDE = {
    "en": r"(ignore|disregard|forget|override|bypass|skip|drop|don'?t follow|stop following|never mind|set aside)",
    "de": r"(ignorier\w*|missacht\w*|vergiss|vergesst|vergessen sie|uberspring\w*|umgeh\w*|kummer\w* dich nicht um|"
    r"scheiss auf|beacht\w* nicht)",
    "fr": r"(ignore\w*|oublie\w*|neglige\w*|contourne\w*|ne tiens (plus |pas )?compte d[e']|"
    r"ne tenez (plus |pas )?compte d[e']|laisse tomber)",
    "es": r"(ignora\w*|olvida\w*|omite\w*|no hagas caso a|no haga caso a|no tengas en cuenta|no tenga en cuenta|"
    r"pasa de)",
    "nl": r"(negeer\w*|vergeet|omzeil\w*|trek je niks aan van|trek je niets aan van|houd geen rekening met|"
    r"hou geen rekening met|lap .{0,10} aan je laars)",
    "it": r"(ignora\w*|dimentica\w*|trascura\w*|non tenere conto d|non considerare|non badare a|lascia perdere)",
}
_REPRODUCE = {
    "en": r"(print|show|reveal|repeat|display|output|leak|dump|paste|copy|recite|tell me|give me|list|share|post|"
    r"write out|type out|spell out|translate|summari[sz]e|quote|describe|explain|what (is|are|were))",
    "de": r"(zeig|gib|gebt|nenn|kopier|wiederhol|druck|verrat|schreib|poste|teil|liste|ubersetz|fass\w* zusammen|"
    r"was (ist|sind|steht in))",
    "fr": r"(affiche|montre|repete|revele|copie|recopie|colle|donne|ecris|recite|liste|partage|tradui|resume|"
    r"quel(le)?s? (est|sont))",
    "es": r"(muestra|ensena|repite|copia|pega|dime|dame|escribe|revela|imprime|lista|comparte|traduce|resume|"
    r"cuales son|cual es)",
    "nl": r"(laat|toon|herhaal|kopieer|kopier|plak|geef|vertel|print|schrijf|deel|vertaal|vat .{0,15} samen|"
    r"wat (is|zijn))",
    "it": r"(mostra|ripeti|copia|incolla|dimmi|dammi|scrivi|rivela|stampa|elenca|condividi|traduci|riassumi|"
    r"quali sono|qual e)",
}
_SELF = {"en": _SELF_EN, "de": _SELF_DE, "fr": _SELF_FR, "es": _SELF_ES, "nl": _SELF_NL, "it": _SELF_IT}

INJECTION_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "override instructions": {
        "en": (
            rf"\b(ignore|disregard|forget|override|bypass|skip|drop)\b.{{0,40}}\b{_NOUNS_EN}\b",
            rf"\b(ignore|disregard|forget) (all |everything |anything )?(of )?(the |your )?"
            rf"(previous|prior|above|preceding|earlier|before)\b(?! {_MESSAGE_WORDS}\b)",
            r"\b(ignore|disregard|forget) (all|everything|anything|what) (you('ve| have)? )?(were |been )?"
            r"(said |written |told |given |taught |instructed )?(above|before|earlier|previously|so far|until now)\b",
            r"\b(forget|ignore|disregard) (what|everything|anything|all) (you|u) (were|was|have been|'ve been|got) "
            r"(told|given|taught|instructed|programmed)\b",
            r"\bnew (instructions|rules|task|role|persona)\s*:",
            r"\byou are now (a|an|the|my|in|called|named|free|unrestricted|jailbroken|dan)\b(?! (favou?rite|fav|go-to|"
            r"best|number one|#1)\b)",
            r"\bfrom now on,? (you|u)\b",
            r"\b(pretend|imagine) (to be|you are|you're|that you are|you work as)\b",
            r"\b(you|now|please) (act|behave|respond) as (a|an|the|if)\b",
            r"\broleplay as\b",
            r"\b(jailbreak|developer mode|dan mode|do anything now)\b",
            r"\b(you'?re|you are|u r) now (?!(my|our|the|a|an) (favou?rite|fav|go-to|best|number one|#1)\b)"
            r"(?!(open|closed|out of|back|available|in stock|sold|shipping|live|on sale|down|up)\b)\w+",
            r"(^|[.!?] |\b(you|u|please|now) )stop being (a|an|the|my)\b",
            r"(^|[.!?] )(act|behave|roleplay|role-play) (as|like) (a|an|my|the|if)\b",
            r"\b(forget|ignore|disregard) (everything|all|anything),? (that |what )?(you('ve| have)? (were |been )?)?"
            r"(told|said|taught|instructed)\b",
            r"\b(your|ur|the|all) (old |previous |prior |former |earlier |original |current |existing )?(rules|instruct"
            r"ions|"
            r"directions|guidelines|restrictions|directives|limits) (no longer|don'?t|do not|doesn'?t|does not|won'?t) "
            r"(apply|count|matter|exist|hold)\b",
            r"\bnew (directions|orders|guidelines|directives|prompt)\s*:",
            r"\b(with|have|has|having) no (restrictions|limits|limitations|filters?|rules|guardrails|boundaries)\b",
            r"\b(disable|turn off|switch off|deactivate|remove|bypass|drop|lift) (your|the|all|any) ((content|safety|ch"
            r"at|"
            r"ai|word|profanity|spam) filters?|restrictions|limitations|guardrails|safety (rules|settings|filters?)|"
            r"moderation)\b",
            r"\b(message|update|notice|instructions?|order) from (the )?(\w+ )?(dev|developer|developers|engineering|"
            r"admin|administrator|it|security|ai|openai|system) (team|department|staff)?\b",
        ),
        "de": (
            r"\b(ignorier\w*|missacht\w*|vergiss|vergesst|vergessen sie|uberspring\w*|umgeh\w*)\b.{0,40}"
            r"\b(anweisung\w*|instruktion\w*|regeln|vorgaben|richtlinien|prompt|systemprompt|systemnachricht)\b",
            r"\b(ignorier\w*|vergiss|vergesst) (alles|das) (oben|obige|vorherige|bisherige|davor|bisher)\b",
            r"\b(du bist|ihr seid|sie sind) (jetzt|ab jetzt|nun|ab sofort|von nun an)\b",
            r"\b(ab jetzt|ab sofort|von nun an) (bist du|seid ihr|sind sie|antwortest du|tust du)\b",
            r"\b(tu|tue|tut) so,? als (ob|ware|warst)\b",
            r"\bspiel\w* (du )?die rolle\b",
            r"\b(du spielst|ihr spielt|spiel|spielt|spiele) (ab sofort |ab jetzt |jetzt |nun |mal )?"
            r"(den|die|einen|eine)\b",
            r"\b(deine|ihre|eure) (alten |bisherigen |vorherigen |ursprunglichen )?(regeln|anweisungen|vorgaben|"
            r"instruktionen|einschrankungen)\b.{0,20}\b(gelten|zahlen) (nicht mehr|nicht)\b",
            r"\b(gelten|zahlen) (deine|ihre|eure) (alten |bisherigen )?(regeln|anweisungen|vorgaben)\b.{0,15}"
            r"\b(nicht mehr|nicht)\b",
            r"\b(ohne|keine) (einschrankungen|regeln|filter|grenzen)\b",
            r"\b(vergiss|vergesst|vergessen sie|ignorier\w*) (alles|das|all das),? was (man )?(dir|euch|ihnen)? ?"
            r"(vorher |zuvor |bisher )?(gesagt|beigebracht|aufgetragen|vorgegeben)",
        ),
        "fr": (
            r"\b(ignore\w*|oublie\w*|neglige\w*|contourne\w*)\b.{0,40}\b(instructions?|consignes?|regles|directives?|"
            r"prompt|message systeme)\b",
            r"\b(ignore\w*|oublie\w*) (tout )?(ce qui precede|ce qui est (au-dessus|ci-dessus)|ce qu'on t'a dit)\b",
            r"\b(tu es|vous etes) (maintenant|desormais|a present|dorenavant)\b",
            r"\b(a partir de maintenant|desormais|dorenavant),? (tu|vous)\b",
            r"\b(fais|faites) comme si\b",
            r"\b(joue|jouez|tu joues|vous jouez) le role\b",
            r"\b(agis|agissez) (comme|en tant que)\b",
            r"\b(fais|faites) semblant\b",
            r"\b(tes|vos) (anciennes |precedentes |premieres )?(regles|instructions|consignes|directives|restrictions)"
            r"\b.{0,10}\b(ne s'appliquent plus|ne comptent plus|ne valent plus|n'existent plus)\b",
            r"\bsans (aucune )?(restriction|limite|filtre|regle)s?\b",
            r"\boublie\w* tout ce qu(e|'on) (t'a|vous a|on t'a|on vous a)",
        ),
        "es": (
            r"\b(ignora\w*|ignore\w*|olvida\w*|olvide\w*|omite\w*|salta\w*)\b.{0,40}\b(instrucciones|reglas|"
            r"indicaciones|directrices|prompt|lo anterior|todo lo anterior)\b",
            r"\b(ahora eres|ahora usted es)\b",
            r"\ba partir de ahora,? (eres|seras|actua\w*|responde\w*|tu|usted)\b",
            r"\b(actua|actue|actuad) como\b",
            r"\b(finge|finja|fingid) (que eres|ser|que es)\b",
            r"\bhaz de cuenta\b",
            r"\b(haz|haga|haced) como si\b",
            r"\b(tus|sus) (reglas|instrucciones|indicaciones|restricciones|directrices)( anteriores| antiguas| previas)"
            r"?"
            r"\b.{0,10}\b(ya no (valen|sirven|aplican|cuentan|existen|se aplican))\b",
            r"\bsin (ninguna )?(restricciones|limites|filtros|reglas)\b",
            r"\bolvida\w* todo lo que (te|le|os) (dijeron|han dicho|dije|ensenaron)",
        ),
        "nl": (
            r"\b(negeer\w*|vergeet|vergeten|omzeil\w*)\b.{0,40}\b(instructies|regels|opdrachten|richtlijnen|prompt|"
            r"het bovenstaande|alles hierboven)\b",
            r"\b(je bent|jij bent|u bent) (nu|vanaf nu|voortaan)\b",
            r"\b(vanaf nu|voortaan),? (ben je|ben jij|bent u|moet je|antwoord|speel)\b",
            r"\bdoe alsof\b",
            r"\bspeel de rol\b",
            r"\b(speel|speelt) (dat|even|eens)? ?(je|jij|u)\b.{0,20}\bbent\b",
            r"\b(je|jouw|uw) (oude |vorige |eerdere |oorspronkelijke )?(regels|instructies|richtlijnen|beperkingen)\b"
            r".{0,10}\b(gelden|tellen) (niet meer|niet langer)\b",
            r"\bzonder (enige )?(beperkingen|regels|filters|grenzen)\b",
            r"\bvergeet alles wat (je|jou|u|jullie) (is |werd |)(verteld|gezegd|geleerd)",
        ),
        "it": (
            r"\b(ignora\w*|dimentica\w*|trascura\w*|salta\w*)\b.{0,40}\b(istruzioni|regole|indicazioni|direttive|"
            r"prompt|quanto sopra|tutto quanto sopra)\b",
            r"\b(ora|adesso) sei\b",
            r"\b(d'ora|da ora|da adesso) in (poi|avanti),? (sei|fingi|rispondi|comportati|tu)\b",
            r"\b(fingi|fingete) di essere\b",
            r"\bfai finta di\b",
            r"\b(comportati|comportatevi) come\b",
            r"\b(fai|fate|faccia) come se\b",
            r"\b(le tue|le sue|le vostre) (vecchie |precedenti |originali )?(regole|istruzioni|indicazioni|restrizioni)"
            r"\b.{0,10}\bnon (valgono|contano|si applicano|esistono) piu\b",
            r"\bsenza (alcuna |nessuna )?(restrizioni|limiti|filtri|regole)\b",
            r"\bdimentica\w* tutto (quello |cio )?che ti (hanno|e stato|abbiamo) (detto|insegnato)",
        ),
    },
    "own configuration": {
        lang: (
            rf"\b{_SET_ASIDE[lang]}\b.{{0,30}}\b{_SELF[lang]}\b",
            rf"\b{_REPRODUCE[lang]}\w*\b.{{0,30}}\b{_SELF[lang]}\b",
            rf"\b{_SELF[lang]}\b.{{0,30}}\b{_REPRODUCE[lang]}\w*\b",  # verb-final word order (de, nl)
        )
        for lang in _SELF
    },
    "output control": {
        "en": (
            r"\b(respond|reply|answer|say|write)\b (only|exclusively|solely|nothing but|just) "
            r"(with\b|by saying\b|['\"])",
            r"\b(only|just) (respond|reply|answer) with ['\"]",
            r"\b(answer|reply to|respond to) (every|each|all|any) (message|question|comment|customer|tweet)s? with\b",
            r"\brepeat after me\b",
            r"\b(reply|respond|answer|say|write|post)\b.{0,40}\b(and|but) nothing (else|more)\b",
            r"\b(reply|respond|answer|say|write|post)\b (with )?(exactly|precisely) (this|these|the following)\b",
            r"^(please )?(write|say|reply|respond|type|post|tweet)( back)?( only| just| exactly)?( with)?:? ['\"]",
        ),
        "de": (
            r"\b(antworte\w*|sag\w*|schreib\w*) (nur|ausschliesslich|lediglich|einzig) (mit|noch)\b",
            r"\b(schreib|schreibt|schreiben sie|sag|sagt|antworte|antwortet|poste|postet)( mir| uns)?:? ['\"]",
        ),
        "fr": (
            r"\b(reponds|repondez|repondre|dis|dites|ecris|ecrivez) (uniquement|seulement|juste|que) (par|avec)\b",
            r"\b(ecris|ecrivez|dis|dites|reponds|repondez|publie|publiez)( moi| nous)?:? ['\"]",
        ),
        "es": (
            r"\b(responde|contesta|responda|conteste|di|diga|escribe) (solo|solamente|unicamente|exclusivamente) "
            r"(con|diciendo)\b",
            r"\b(escribe|escriba|escribid|di|diga|responde|responda|publica)( me| nos)?:? ['\"]",
        ),
        "nl": (
            r"\b(antwoord|reageer|zeg|schrijf) (alleen|uitsluitend|enkel|slechts) (met|door)\b",
            r"\b(schrijf|zeg|antwoord|post|plaats)( me| ons)?:? ['\"]",
        ),
        "it": (
            r"\b(rispondi|rispondete|risponda|di'|dici|scrivi) (solo|solamente|soltanto|unicamente|esclusivamente) "
            r"(con|dicendo)\b",
            r"\b(scrivi|scrivete|scriva|di'|dici|rispondi|pubblica)( mi| ci)?:? ['\"]",
        ),
    },
    "prompt extraction": {
        "en": (
            r"\bsystem ?prompt\b",
            r"\b(what|which) (rules|instructions|guidelines|directives|prompts?|orders)\b (were|have|did|do) "
            r"(you|u|they)\b.{0,25}\b(given|give|gave|told|receive|received|get|got|programmed|trained|fed)\b",
            r"\b(rules|instructions|guidelines|prompt) (you were|you've been|you have been|they gave you|"
            r"given to you)\b",
            r"\b(print|show|reveal|repeat|display|output|leak|dump|paste|copy|recite|tell me|give me|list|share|post|"
            r"write out|type out|spell out)\b.{0,30}\b(your|initial|original|hidden|secret|full|exact|system)\b.{0,15}"
            r"\b(prompt|instructions|rules|guidelines|configuration|directives)\b",
            r"\b(paste|print|repeat|copy|recite|output|write|type|reproduce|dump|quote|give|show|post|list)\b.{0,40}"
            r"\b(verbatim|word for word|word-for-word|exactly as (written|given|they are))\b",
            r"\b(repeat|print|show|output|copy|paste|recite)\b (back )?(the |all )?(text|words|message|everything|"
            r"content|lines)\b.{0,12}\b(above|before|preceding|prior|earlier)\b",
            r"\b(what|how) (is|are|was|were) (your|the) (system prompt|initial instructions|hidden instructions|"
            r"original instructions|system message)\b",
            r"\b(were you|have you been|you were|you've been|did they|were u) (told|given|instructed|asked|programmed)"
            r"\b"
            r".{0,40}\b(before|at the (start|beginning) of|prior to) (this|the|our) (conversation|chat|session|dialog)",
            r"\b(hidden|secret|invisible|initial|first) (text|message|prompt|instructions?|words)\b.{0,30}\b(you were|y"
            r"ou've "
            r"been|you got|they gave you|given to you|at the (start|beginning) of)\b",
        ),
        "de": (
            r"\bsystem ?prompt\b|\bsystemnachricht\b",
            r"\b(welche|was fur) (regeln|anweisungen|instruktionen|vorgaben|richtlinien)\b.{0,30}"
            r"\b(gegeben|gesagt|mitgegeben|bekommen|erhalten|einprogrammiert)\b",
            r"\b(zeig|gib|gebt|nenn|kopier|wiederhol|druck|verrat|schreib|poste|teil|listet?)\w*\b.{0,40}"
            r"\b(deine|ihre|eure|ursprunglich\w*|versteckt\w*|geheim\w*|initial\w*)\b.{0,20}"
            r"\b(anweisung\w*|instruktion\w*|regeln|vorgaben|prompt)\b",
            r"\b(kopier|wiederhol|gib|schreib|zeig|nenn|fug|poste|druck)\w*\b.{0,40}\b(wortlich|wort fur wort)\b",
            r"\b(hat man dir|wurde dir|hast du)\b.{0,30}\b(gesagt|aufgetragen|befohlen|mitgegeben)\b.{0,30}"
            r"\b(vor|am anfang) (diesem|dieses|des|dem) (gesprach|chat|unterhaltung)",
        ),
        "fr": (
            r"\bprompt (du )?systeme\b|\bmessage systeme\b",
            r"\b(quelles?|quels?) (regles|instructions|consignes|directives)\b.{0,40}"
            r"\b(donne\w*|recu\w*|on t'a|on vous a|t'a-t-on|vous a-t-on|fourni\w*)\b",
            r"\b(affiche|montre|repete|revele|copie|colle|donne|ecris|recite|liste|partage)\w*\b.{0,40}"
            r"\b(ton|tes|votre|vos|initiales?|cachees?|secretes?|originales?)\b.{0,20}\b(prompt|instructions|consignes|"
            r"regles|directives)\b",
            r"\b(repete|copie|colle|affiche|recopie|ecris|recite|donne)\w*\b.{0,50}\b(mot pour mot|textuellement|"
            r"mot a mot)\b",
            r"\b(on t'a|on vous a|t'a-t-on|vous a-t-on)\b.{0,20}\b(dit|demande|ordonne|donne)\b.{0,40}"
            r"\b(avant|au debut de) (cette|la|notre) (conversation|discussion|session)",
        ),
        "es": (
            r"\bprompt del sistema\b|\bmensaje del sistema\b",
            r"\bque (reglas|instrucciones|indicaciones|directrices)\b.{0,30}\b(te|le|os|les) "
            r"(dieron|han dado|dio|dan|pasaron|programaron)\b",
            r"\b(muestra|ensena|repite|copia|pega|dime|escribe|revela|imprime|lista|comparte)\w*\b.{0,40}"
            r"\b(tus|sus|iniciales|ocultas|secretas|originales)\b.{0,15}\b(prompt|instrucciones|reglas|indicaciones)\b",
            r"\b(repite|copia|pega|escribe|dime|muestra|imprime)\w*\b.{0,50}\b(palabra por palabra|textualmente|"
            r"al pie de la letra)\b",
            r"\b(te|le|os) (dijeron|dijo|han dicho|ordenaron|pidieron|dieron)\b.{0,40}\b(antes de|al (inicio|principio)"
            r" "
            r"de) (esta|la|nuestra) (conversacion|charla|sesion)",
        ),
        "nl": (
            r"\bsysteem ?prompt\b|\bsysteembericht\b",
            r"\bwelke (regels|instructies|richtlijnen|opdrachten)\b.{0,30}\b(gekregen|meegekregen|gegeven|geleerd)\b",
            r"\b(laat|toon|herhaal|kopieer|plak|geef|vertel|print|schrijf|deel)\w*\b.{0,40}"
            r"\b(je|jouw|uw|oorspronkelijke|verborgen|geheime|originele)\b.{0,15}\b(prompt|instructies|regels|"
            r"richtlijnen)\b",
            r"\b(herhaal|kopieer|plak|geef|schrijf|toon|print)\w*\b.{0,50}\b(woord voor woord|letterlijk)\b",
            r"\b(is je|is jou|is u|werd je|heeft men je)\b.{0,20}\b(verteld|gezegd|opgedragen|gegeven)\b.{0,40}"
            r"\b(voor|voordat|aan het begin van) (dit|het|ons) (gesprek|chat|sessie)",
        ),
        "it": (
            r"\bprompt di sistema\b|\bmessaggio di sistema\b",
            r"\bquali (regole|istruzioni|indicazioni|direttive)\b.{0,30}\b(ti|vi|le|gli) "
            r"(hanno dato|sono state date|ha dato|hanno detto|hanno fornito)\b",
            r"\b(mostra|ripeti|copia|incolla|dimmi|scrivi|rivela|stampa|elenca|condividi)\w*\b.{0,40}"
            r"\b(tue|tuoi|sue|vostre|iniziali|nascoste|segrete|originali)\b.{0,15}\b(prompt|istruzioni|regole|"
            r"indicazioni)\b",
            r"\b(ripeti|copia|incolla|scrivi|dimmi|mostra|stampa)\w*\b.{0,50}\b(parola per parola|testualmente|"
            r"alla lettera)\b",
            r"\b(ti|vi|le) (hanno|ha|avevano) (detto|ordinato|chiesto|dato)\b.{0,40}\b(prima di|all'inizio di) "
            r"(questa|la|nostra) (conversazione|chat|sessione)",
        ),
    },
    "data exfiltration": {
        "en": (
            r"\b(reply|respond|answer|tell me|give me|send me|share|post|list)\b.{0,40}\b(e-?mails?|phone( numbers?)?|"
            r"address(es)?|passwords?|credit cards?|card numbers?|personal (data|details|info\w*))\b.{0,30}\b"
            r"(of|for|from) (your|the|another|other|a)\b.{0,20}\b(customers?|users?|clients?|employees?|staff|admin)",
            r"\b(last|previous|other|another) (customer|user|client)'?s? (e-?mail|phone|address|details|data|info)",
        ),
    },
    "coerced promise": {
        "en": (
            r"\b(say|write|reply|respond|confirm|promise|state)\b.{0,30}\b(you('ll| will)|that you)\b.{0,30}"
            r"\b(refund|discount|compensat\w*|free|voucher|gift card)",
            r"\b(give|send) me (a |an )?\d{2,3} ?% (off|discount)",
            r"\bdiscount code\b.{0,40}\b(now|immediately|or else)\b",
        ),
    },
    "role markup": {
        "all": (
            r"</?\|?(system|assistant|im_start|im_end)\|?>",
            r"\[/?(inst|system)\]",
            r"^\s*(system|assistant)\s*:",
            r"#{2,}\s*(system|instruction|instructions|assistant)\b",
            r"\b(system|admin|developer|root|sudo) (override|mode|command|instruction)s?\b",
        ),
    },
}
"""Injection kind → language → patterns on the folded text (see ``safety_text.views``)."""

_COMPILED: tuple[tuple[str, Patterns], ...] = tuple(
    (kind, Patterns(p for patterns in by_lang.values() for p in patterns))
    for kind, by_lang in INJECTION_FAMILIES.items()
)


def detect_injection_kinds(text: str | TextViews) -> tuple[str, ...]:
    """The kinds of prompt injection ``text`` attempts, in family order (empty: none)."""
    seen = text if isinstance(text, TextViews) else views(text)
    return tuple(kind for kind, patterns in _COMPILED if patterns.search(seen))
