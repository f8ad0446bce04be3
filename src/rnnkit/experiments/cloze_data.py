"""The generated text of the cloze experiment (:mod:`rnnkit.experiments.cloze`): the lecture's France sentence
as a template, with a distractor place and filler sentences between the cue and the blank.

Every line follows the lecture's "France is where I grew up, but I now live in Boston. I speak fluent ___.":

    <cue sentence naming a country and, after it, a city>  <k filler sentences>  i speak fluent <language> .

The answer is the language of the **country** (where the speaker grew up); the city is a distractor whose
language is always another one, so a reader that keeps only the most recent place answers wrong, and a
previous-word model sees only "fluent". ``k`` filler sentences (neutral, naming no place or language) move
the cue away from the blank by a controlled number of tokens. (country, city) combinations are split three
ways — training, validation (to choose learning rates) and test — so a test line never repeats a
combination seen in training, while each country and each city is seen in training with others; the
lecture's own (France, Boston) is a test combination. Everything here is generated from these lists with a
seed: the text is this module's, not a corpus.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# country → its language: one language per country and one country per language (single tokens, lowercase)
COUNTRIES = {
    "france": "french", "spain": "spanish", "germany": "german", "italy": "italian", "portugal": "portuguese",
    "greece": "greek", "poland": "polish", "sweden": "swedish", "norway": "norwegian", "finland": "finnish",
    "denmark": "danish", "holland": "dutch", "russia": "russian", "turkey": "turkish", "japan": "japanese",
    "china": "chinese", "korea": "korean", "hungary": "hungarian", "romania": "romanian", "ukraine": "ukrainian",
    "vietnam": "vietnamese", "thailand": "thai", "israel": "hebrew", "iceland": "icelandic", "england": "english",
}
# distractor city → the language spoken there (so the distractor offers a wrong answer)
CITIES = {
    "boston": "english", "london": "english", "chicago": "english", "sydney": "english", "toronto": "english",
    "paris": "french", "lyon": "french", "madrid": "spanish", "seville": "spanish", "berlin": "german",
    "munich": "german", "rome": "italian", "milan": "italian", "lisbon": "portuguese", "athens": "greek",
    "warsaw": "polish", "stockholm": "swedish", "oslo": "norwegian", "helsinki": "finnish",
    "copenhagen": "danish", "amsterdam": "dutch", "moscow": "russian", "istanbul": "turkish", "tokyo": "japanese",
    "osaka": "japanese", "beijing": "chinese", "shanghai": "chinese", "seoul": "korean", "budapest": "hungarian",
    "bucharest": "romanian", "kyiv": "ukrainian", "hanoi": "vietnamese", "bangkok": "thai",
    "jerusalem": "hebrew", "reykjavik": "icelandic",
}
CUES = (  # the first is the lecture's sentence
    "{country} is where i grew up , but i now live in {city} .",
    "i was born in {country} , but these days i live in {city} .",
    "i grew up in {country} and moved to {city} for work .",
    "my childhood was spent in {country} ; now my home is {city} .",
)
BLANK = "i speak fluent"
FILLERS = (
    "my work keeps me busy .", "i like to cook on weekends .", "the weather has been mild this year .",
    "i have two brothers and a sister .", "on sundays i walk in the park .", "my neighbours are very friendly .",
    "i read a lot of books .", "i take the bus every morning .", "my flat is small but bright .",
    "i play the piano badly .", "my sister works at a hospital .", "we often eat dinner late .",
    "i collect old stamps .", "my father repairs bicycles .", "the office is close to the river .",
    "i started running last spring .", "my cat sleeps all day .", "we painted the kitchen green .",
    "i am learning to swim .", "my best friend is a teacher .", "the garden needs more water .",
    "i drink too much coffee .", "my brother plays the drums .", "we bought a new sofa .",
)
LECTURE = {"country": "france", "city": "boston", "cue": 0, "fillers": 0,
           "text": "France is where I grew up, but I now live in Boston. I speak fluent", "answer": "french"}
SHARES = {"val": 0.1, "test": 0.2}  # of each country's distractor cities


def combinations(seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    """(country, city) pairs split into train / val / test, per country by its distractor cities (a city whose
    language is the country's is never its distractor); the lecture's (france, boston) is in test."""
    rng = random.Random(seed)
    split: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for country, language in COUNTRIES.items():
        cities = [c for c, lang in CITIES.items() if lang != language]
        rng.shuffle(cities)
        if country == LECTURE["country"]:
            cities.remove(LECTURE["city"])
            cities.insert(0, LECTURE["city"])
        n_test = max(1, round(SHARES["test"] * len(cities)))
        n_val = max(1, round(SHARES["val"] * len(cities)))
        split["test"] += [(country, c) for c in cities[:n_test]]
        split["val"] += [(country, c) for c in cities[n_test:n_test + n_val]]
        split["train"] += [(country, c) for c in cities[n_test + n_val:]]
    return split


def line(country: str, city: str, cue: int, fillers: Sequence[str]) -> tuple[str, str]:
    """One item: the prompt up to the blank ("… i speak fluent") and the answer."""
    parts = [CUES[cue].format(country=country, city=city), *fillers, BLANK]
    return " ".join(parts), COUNTRIES[country]


def item(rng: random.Random, pair: tuple[str, str], k: int) -> dict[str, Any]:
    """A random item of ``pair`` with ``k`` filler sentences (distinct, in random order)."""
    cue = rng.randrange(len(CUES))
    fillers = rng.sample(FILLERS, k)
    prompt, answer = line(*pair, cue, fillers)
    return {"country": pair[0], "city": pair[1], "cue": cue, "fillers": k, "prompt": prompt, "answer": answer,
            "distractor_language": CITIES[pair[1]]}


def corpus(out: Path, *, lines: int, eval_lines: int, fillers: Sequence[int], short_share: float,
           seed: int = 0) -> Path:
    """A WikiText-style folder (``wiki.{train,valid,test}.tokens``) of complete lines: training combinations
    only in train, validation combinations in valid, test combinations in test. A line has no filler sentence
    with probability ``short_share``, else one of the other counts of ``fillers``: the binding of a country to
    its language is learnt where it is close (a language model given mostly long lines stays on the plateau
    where it guesses the language), the distance is what the test varies. The language model trains on train
    (and reports perplexity on valid and test)."""
    rng = random.Random(seed)
    split = combinations(seed)
    shortest, longer = min(fillers), [k for k in fillers if k != min(fillers)]
    folder = Path(out) / "data" / f"cloze-{lines}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, pairs, n in (("train", split["train"], lines), ("valid", split["val"], eval_lines),
                           ("test", split["test"], eval_lines)):
        text = []
        for _ in range(n):
            k = shortest if not longer or rng.random() < short_share else rng.choice(longer)
            it = item(rng, rng.choice(pairs), k)
            text.append(f"{it['prompt']} {it['answer']} .")
        (folder / f"wiki.{name}.tokens").write_text("\n".join(text) + "\n", encoding="utf-8")
    return folder


def items(split: str, fillers: Sequence[int], per_count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``per_count`` scored items of ``split``'s combinations for each filler count (cycling through the
    combinations, so each is used about equally)."""
    rng = random.Random(seed + 1)
    pairs = combinations(seed)[split]
    found = []
    for k in fillers:
        order = list(pairs)
        rng.shuffle(order)
        found += [item(rng, order[i % len(order)], k) for i in range(per_count)]
    return found
