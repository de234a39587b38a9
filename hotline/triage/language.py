"""English or Spanish, from a few words, without a model."""

from __future__ import annotations

import re

from hotline.triage.places import fold

WORD = re.compile(r"[a-zñ]+")

# Words that are (nearly) only Spanish or only English in what people text a hotline. Words both
# languages share in place names or slang ("la", "migra", "mission", "plaza") are left out.
SPANISH = frozenset("""
    el los las del en esta estan hay un una unos unas y o pero que como donde cuando aqui alli
    ahi ahorita ahora mismo ya agentes agente policia policias carro carros camioneta camionetas
    calle esquina entre cerca frente afuera adentro casa casas tienda escuela iglesia trabajo
    estan llegaron llevando llevaron agarrando agarraron detuvieron detenido detenidos arrestando
    arrestaron preguntando pidiendo papeles tocando puerta puertas vi vimos veo hombres mujeres
    personas gente muchos muchas varios varias vestidos uniforme chalecos armas negras negros
    blancos hoy manana tarde noche por favor ayuda ayudenos cuidado son es somos estoy estamos
    con sin para mi mis su sus nos les le lo se tambien muy mas menos todo todos vienen van
    parados parado esperando afuera enfrente estacionamiento lavanderia mercado parque
    al de tengo tiene tienen dicen dijeron miedo hijos ninos migras sobre hacia desde hasta
    avenida cuadra colonia barrio dos tres cuatro cinco seis siete ocho diez la
""".split())
ENGLISH = frozenset("""
    the at on in is are was were there here near by of and or but with from to this that they
    them we i my our you your he she it agents agent officers officer cops police car cars van
    vans truck trucks suv suvs street st ave avenue corner outside inside front parking lot
    store school church work home house door knocking asking arresting arrested detained
    taking took grabbing picked up people men women guys lots many some several two three four
    five six ten wearing vests uniforms plain clothes unmarked right now just today morning
    tonight please help careful be watch out seen saw see around across block stopped
    stopping checkpoint waiting sitting parked across behind next get got have has had
""".split())
SPANISH_MARKS = re.compile(r"[ñáéíóú¿¡]")
# slang that leans Spanish but is shared: worth half a word ("migra migra migra" is Spanish,
# "migra at the 7-eleven" English)
LEANS_SPANISH = frozenset({"migra", "migras", "redada", "troca", "trocas"})


def detect_language(text: str, fallback: str | None = None) -> tuple[str, float]:
    """(`en`|`es`, confidence 0..1) for a short message; `fallback` breaks ties."""
    raw = text.lower()
    words = WORD.findall(fold(raw))
    es = sum(1.0 for w in words if w in SPANISH) + 0.5 * sum(1 for w in words
                                                              if w in LEANS_SPANISH)
    en = sum(1.0 for w in words if w in ENGLISH)
    es += 1.5 * len(SPANISH_MARKS.findall(raw))
    if es == en:
        return (fallback or "en"), 0.5
    language = "es" if es > en else "en"
    margin = abs(es - en) / (es + en)
    return language, round(0.5 + 0.5 * margin, 2)
