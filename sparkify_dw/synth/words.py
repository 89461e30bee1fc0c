"""Vocabulary and name templates: titles, artists, people, places, agents.

Why: word lists kept as prose stay readable, and the name templates draw from
them in a fixed order (the order of the draws is part of the output).
"""

from __future__ import annotations

import random
from collections.abc import Callable


def _words(text: str) -> tuple[str, ...]:
    """Word lists are kept as prose to stay readable."""
    return tuple(text.split())


_WORDS = _words(
    "Love Night Dream Fire Rain Heart Blue Summer Dance Gold River Shadow Light Road Home "
    "Soul Girl Baby Time World Moon Sun Star City Angel Devil Wild Sweet Crazy Lonely "
    "Broken Electric Silent Golden Secret Midnight Morning Paradise Highway Ocean Thunder "
    "Whisper Echo Memory Freedom Heaven Storm Winter Fever Mirror Diamond Velvet Neon Candle "
    "Letter Garden Train Window Stranger Kiss Tears Money Island Desert Sugar Honey Ghost "
    "Machine Radio Satellite Rocket Jungle Mountain Valley Harbor Lantern Crown Glass Stone "
    "Smoke Silver Cherry Tiger Wolf Raven Butterfly Tonight Forever Yesterday Tomorrow"
)
_WORDS_X = _words(  # non-ASCII words for titles and artist names
    "Corazón Sueños Noël Mädchen Été Señorita Niño Café Für Über Ángel Canción Año "
    "Pequeña Môme Zürich Þögn Łzy Ørken Dónde Música Kärlek Śpiew Crème Façade Ça Göteborg"
)
_VERBS = _words("Want Need Miss Love Remember Forget Believe Feel Call Follow Hold Leave")
_SUFFIXES = (
    " (Album Version)", " (Live)", " (Remix)", " (LP Version)", " (Instrumental)",
    " (Radio Edit)", " (Remastered)", " (Acoustic)", " (Explicit)", " (Single Version)",
)  # fmt: skip
_FIRST_F = _words(
    "Kaylee Sylvie Chloe Ava Emily Lily Layla Jacqueline Tegan Mohammad Rylan Katherine "
    "Stefany Aleena Cecilia Harper Jordyn Kate Anabelle Matthew Zoë Chloé Mía Inés Maëlle "
    "Anaïs Jazmín Renée Sofía Léa Åsa"
)
_FIRST_M = _words(
    "Walter Ryan Jayden Aiden Carlos Jacob Lucas Kevin Brayden Connar Wyatt Sebastian "
    "Austin Colm Liam Noah Dominick Emmanuel Isaac José Jérôme Björn Søren Łukasz Andrés "
    "François Mátyás Ðức Øystein"
)
_LAST = _words(
    "Frye Summers Johnson Owens Porter Harris Clark Parker West Rosales Cuevas Kirby Wise "
    "Simpson Banks Robinson Watkins Larson Norris Moreno Santana Benson Levine Garrison "
    "O'Connor Müller Ðặng Nguyễn García Pérez Østergaard Šimůnek Çelik Ibáñez Lindqvist "
    "Gómez Schäfer Łukasiewicz"
)
_USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA", "Phoenix-Mesa-Scottsdale, AZ",
    "Lansing-East Lansing, MI", "Portland-South Portland, ME",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Waterloo-Cedar Falls, IA",
    "New York-Newark-Jersey City, NY-NJ-PA", "Atlanta-Sandy Springs-Roswell, GA",
    "San Jose-Sunnyvale-Santa Clara, CA", "Tampa-St. Petersburg-Clearwater, FL",
    "Houston-The Woodlands-Sugar Land, TX", "Detroit-Warren-Dearborn, MI",
    "Los Angeles-Long Beach-Anaheim, CA", "Birmingham-Hoover, AL", "Janesville-Beloit, WI",
    "Marinette, WI-MI", "Red Bluff, CA", "Santa Maria-Santa Barbara, CA",
    "Winston-Salem, NC", "Augusta-Richmond County, GA-SC", "Salinas, CA",
    "Miami-Fort Lauderdale-West Palm Beach, FL", "Dallas-Fort Worth-Arlington, TX",
    "Seattle-Tacoma-Bellevue, WA", "Myrtle Beach-Conway-North Myrtle Beach, SC-NC",
)  # fmt: skip
# Agents that contain a comma are stored with surrounding double quotes, as in the
# real logs (a CSV export artefact); those without one are stored bare.
_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/37.0.2062.94 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko)"
    " Version/7.0.6 Safari/537.78.2",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2"
    " (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Windows NT 5.1) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10) AppleWebKit/538.46 (KHTML, like Gecko)"
    " Version/8.0 Safari/538.46",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
)
_ARTIST_PLACES = (
    "California - LA", "Memphis, TN", "London, England", "Toronto, Ontario, Canada",
    "Beverly Hills, CA", "United States", "Chicago", "Houston, TX", "New York, NY",
    "Queens, NY", "Dubai UAE", "Ohio", "Georgia", "Nevada, MO", "Reykjavík, Iceland",
    "São Paulo, Brazil", "Montréal, Québec, Canada", "Göteborg, Sweden", "Paris, France",
    "Kingston, Jamaica", "Berlin, Germany", "New York, NY [Spanish Harlem]", "Brandon",
)  # fmt: skip


def _title(rng: random.Random) -> str:
    """A song title from a few templates; some carry a non-ASCII word."""

    def w() -> str:
        return rng.choice(_WORDS_X) if rng.random() < 0.06 else rng.choice(_WORDS)

    forms: tuple[Callable[[], str], ...] = (
        lambda: f"{w()} {w()}",
        lambda: f"The {w()}",
        lambda: f"{w()} Of {w()}",
        w,
        lambda: f"I {rng.choice(_VERBS)} Your {w()}",
        lambda: f"Don't {rng.choice(_VERBS)} Me",
        lambda: f"{w()} In The {w()}",
        lambda: f"My {w()} {w()}",
    )
    text = forms[rng.randrange(len(forms))]()
    if rng.random() < 0.15:
        text += rng.choice(_SUFFIXES)
    return text


def _artist_name(rng: random.Random) -> str:
    """An artist name: a person, a band or a project; some non-ASCII."""
    form = rng.randrange(6)
    if form == 0:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} {rng.choice(_LAST)}"
    if form == 1:
        return f"The {rng.choice(_WORDS)}s"
    if form == 2:
        return f"{rng.choice(_WORDS)} {rng.choice(_WORDS_X + _WORDS)}"
    if form == 3:
        return f"DJ {rng.choice(_WORDS)}"
    if form == 4:
        return f"{rng.choice(_FIRST_F + _FIRST_M)} & The {rng.choice(_WORDS)}s"
    return rng.choice(_LAST)
