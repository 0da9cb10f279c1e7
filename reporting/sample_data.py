"""A deterministic sample dataset: three months of Reddit talk about home espresso machines.

The brands are fictional. The data tells a story the report should find on its own:
Brevio is the steady leader, Steamly gains share month after month, Caffora loses it and has
a product recall in the week of 10 August 2026 (the spike week), Moka Nova and Vellaro are
steady. It is also messy on purpose: brand spellings vary (`MokaNova`, `brevio`, `STEAMLY`),
"moka pot" is not a brand mention, some authors are `[deleted]`, some bodies `[removed]`,
some lines carry emoji or are not in English, scores are heavy-tailed.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from reporting.products import FolderRepository, ProductRepository
from reporting.reddit import RedditRepository
from reporting.research import Research, ResearchRepository

SAMPLE_PRODUCT = "home-espresso"
SAMPLE_BRANDS = ["Brevio", "Caffora", "Moka Nova", "Steamly", "Vellaro"]
SAMPLE_ALIASES = {"Moka Nova": ["MokaNova", "Moka-Nova"]}
SAMPLE_SUBREDDITS = ["espresso", "Coffee", "BuyItForLife", "homebarista", "Cafe"]
SAMPLE_START = date(2026, 7, 1)
SAMPLE_END = date(2026, 9, 30)
RECALL_WEEK = date(2026, 8, 10)  # Monday; Caffora recalls the Pro 2

N_POSTS = 2410  # plus the recall posts
N_RECALL_POSTS = 90
N_COMMENTS = 7500

MODELS = {
    "Brevio": ["Classic", "Duo", "Compact"],
    "Caffora": ["Pro 2", "Mini", "Dual Boiler"],
    "Moka Nova": ["One", "Flow"],
    "Steamly": ["S3", "Go", "Pro"],
    "Vellaro": ["Leva", "Mini Leva"],
}
# Relative share of brand talk at the start of the period and its drift (per whole period).
BRAND_WEIGHT = {
    "Brevio": 0.30, "Caffora": 0.30, "Moka Nova": 0.18, "Steamly": 0.10, "Vellaro": 0.08
}  # fmt: skip
BRAND_DRIFT = {"Caffora": -0.55, "Steamly": 2.2}
# (positive, negative) probabilities; the rest is neutral.
SENTIMENT = {
    "Brevio": (0.50, 0.20),
    "Caffora": (0.35, 0.40),
    "Moka Nova": (0.45, 0.25),
    "Steamly": (0.60, 0.15),
    "Vellaro": (0.55, 0.15),
}
SUBREDDIT_WEIGHT = {"espresso": 35, "Coffee": 30, "homebarista": 15, "BuyItForLife": 12, "Cafe": 8}
SUBREDDIT_CHATTINESS = {"homebarista": 1.3, "espresso": 1.1, "Cafe": 0.6}  # comments per post
SUBREDDIT_BIAS = {  # some communities favour some brands
    ("BuyItForLife", "Vellaro"): 3.0,
    ("BuyItForLife", "Brevio"): 1.8,
    ("BuyItForLife", "Steamly"): 0.5,
    ("homebarista", "Steamly"): 1.8,
    ("homebarista", "Moka Nova"): 1.5,
}
# UTC hour of day -> relative activity (Reddit's evening peak in the Americas and Europe).
HOUR_WEIGHT = [6, 5, 4, 3, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 11, 11, 10, 9, 8, 7]

TITLES = {
    "pos": [
        "Finally upgraded to the {model}!",
        "Love my {brand}. Best purchase this year",
        "{model} after {months} months: still pulling great shots",
        "The {model} is a beast for the price",
        "Shoutout to {brand} customer service",
        "First latte art on the {model}",
        "{months} months with the {model} - honest review (spoiler: I love it)",
        "Dialed in a light roast on my {model} and wow",
        "My {brand} corner is finally complete",
        "Why I'm glad I went with {brand}",
    ],
    "neg": [
        "{model} leaking from the group head again",
        "Disappointed with {brand} support",
        "Is anyone else's {model} running lukewarm?",
        "{brand} pump died after {months} months",
        "Avoid the {model} - here's why",
        "Returned my {model}. Not worth {price}",
        "{brand} quality has gone downhill",
        "Third repair on my {model} this year",
    ],
    "neu": [
        "Question about the {model} steam wand",
        "{model} vs a used machine for {price}?",
        "Best grinder to pair with a {model}?",
        "Descaling the {model}: how often?",
        "Anyone tried the new {model}?",
        "{model} on sale for {price} - worth it?",
        "What basket size does the {brand} portafilter take?",
        "Thinking about a {brand}, what should I know?",
    ],
    "cmp": [
        "{a} or {b} for a first machine?",
        "{model_a} vs {model_b}: which one would you buy?",
        "Switched from {a} to {b} and never looking back",
        "Help me decide: {model_a} or {model_b} under {price}",
        "{a} vs {b} after a year with both",
        "Is the {model_b} really better than the {model_a}?",
    ],
    "none": [
        "What's your morning routine?",
        "Grinder recommendations under $300?",
        "Why is my espresso so sour?",
        "Finally nailed a 1:2 ratio in 30 seconds",
        "Moka pot or entry-level espresso machine?",
        "Best beans for milk drinks?",
        "How do you clean your portafilter?",
        "WDT tool: gimmick or game changer?",
        "Bought a used machine on marketplace, what should I check?",
        "My setup after two years of upgrades",
        "Channeling no matter what I do",
        "Is a scale really necessary?",
        "Decaf that actually tastes good?",
        "Upgraded from a moka pot, never going back",
    ],
    "recall": [
        "PSA: {brand} recall on the {model} (pressure valve)",
        "Caffora Pro 2 recall - how do I check my serial number?",
        "Got the {brand} recall email today",
        "{brand} recall: refund or repair?",
        "Is it safe to keep using my {model} until the recall fix?",
        "{brand} recall megathread",
    ],
}
BODIES = {
    "pos": [
        "Pulled my first shot on the {model} this morning and it was better than my local cafe.",
        "Heats up in about {minutes} minutes and the steam wand easily handles two lattes.",
        "Build quality feels great, nothing rattles.",
        "Took a week to dial in but now every shot is consistent.",
        "Paid {price} and I think it was worth every cent.",
        "Support sent a replacement gasket in two days, no questions asked.",
        "My partner who only drank instant coffee now asks for flat whites every morning.",
    ],
    "neg": [
        "It started leaking from the group head after {months} months.",
        "Temperature is all over the place, the first shot is always sour.",
        "Support took {weeks} weeks to reply and then just sent me a manual.",
        "The pump got really loud and now it barely builds pressure.",
        "For {price} I expected a lot better.",
        "The drip tray fills up ridiculously fast and the plastic feels cheap.",
        "Second warranty repair this year. I'm done.",
    ],
    "neu": [
        "I'm using medium roast beans and a burr grinder.",
        "Budget is around {price}.",
        "Mostly drink milk drinks, maybe two a day.",
        "Does anyone know if the {model} needs a water filter?",
        "Any tips appreciated!",
        "Coming from a pod machine, so be gentle.",
        "I've read the FAQ but couldn't find an answer.",
    ],
    "cmp": [
        "I've narrowed it down to the {model_a} and the {model_b}.",
        "The {a} is cheaper but everyone says the {b} steams better.",
        "Had the {a} for a year, switched to the {b} last month.",
        "Which one holds up better long term?",
        "Budget is around {price}, mostly for cappuccinos.",
    ],
    "none": [
        "Using a hand grinder and a cheap single boiler machine.",
        "Shots run way too fast even at the finest setting.",
        "Budget is around {price}.",
        "I used to make coffee in a moka pot and want something better.",
        "Any tips appreciated!",
        "Photos in the comments.",
        "Beans are roasted two weeks ago, 18 g in, 36 g out.",
    ],
    "recall": [
        "Just got an email from {brand}: the {model} is recalled over a faulty pressure valve.",
        "Serial numbers starting with CF22 are affected apparently.",
        "They're offering a free repair or a partial refund.",
        "Kind of scary, mine has been hissing for weeks.",
        "Has anyone actually received the replacement part yet?",
        "Unplug it until you've checked the serial, better safe than sorry.",
    ],
}
EDITS = ["Edit: thanks everyone for the replies!", "EDIT: typo", "Update: sorted, see comments."]
COMMENTS = {
    "pos": [
        "My {brand} has been rock solid for {years} years.",
        "Can confirm, the {model} is great.",
        "I'd go {brand} every time.",
        "Had mine for ages, zero issues. {brand} just works.",
        "The {model} was the best upgrade I made.",
    ],
    "neg": [
        "Same problem with my {brand}, they replaced the pump under warranty after {weeks} weeks.",
        "Stay away from {brand}, mine broke twice.",
        "{brand} support never answered my emails.",
        "The {model} looks nice but the internals are cheap.",
    ],
    "neu": [
        "The {model} goes on sale pretty often, wait for it.",
        "Does the {model} have a PID?",
        "Check the {brand} subreddit wiki, there's a good guide.",
        "What year is your {model}?",
    ],
    "other": [
        "Honestly I'd look at {brand} instead.",
        "If you can stretch the budget, the {model} is worth it.",
        "Have you considered a {brand}? Mine's been great.",
    ],
    "recall": [
        "Mine is in the affected serial range, {brand} is sending a courier.",
        "This {brand} recall is handled pretty badly tbh.",
        "Got my {model} back from the recall repair, works fine now.",
    ],
    "none": [
        "This.",
        "Thanks, this helped!",
        "What grinder are you using?",
        "Try grinding finer and see if it improves.",
        "Nice setup!",
        "Following, same question.",
        "Looks great, enjoy!",
        "Lol same",
        "Have you tried a longer preinfusion?",
        "That shot looks fast. Aim for 25-30 seconds.",
        "Check the gasket first.",
        "Welcome to the rabbit hole",
        "Moka pot coffee is underrated honestly.",
    ],
}
FOREIGN_POSTS = [  # (title, body); the ones without {brand}/{model} go to brand-less posts
    ("Qualcuno ha provato la {model}?", "Sto pensando di comprarla, vale la pena per {price}?"),
    ("La mia {brand} dopo {months} mesi", "Funziona ancora benissimo, crema perfetta."),
    ("Meine {brand} macht komische Geräusche", "Seit gestern brummt die Pumpe sehr laut. Ideen?"),
    ("Lohnt sich die {model} für Anfänger?", "Ich trinke hauptsächlich Cappuccino."),
    ("¿Repuestos para la {model}?", "No encuentro la junta del grupo en ninguna tienda."),
    ("Mi {brand} después de un año", "Funciona perfecto, muy contento con la compra."),
    ("Comprei uma {model}!", "Estou adorando, o vapor é muito forte."),
    ("Ma {brand} fuit par le porte-filtre", "Une idée ? Elle a seulement {months} mois."),
    ("¿Qué molino recomiendan?", "Presupuesto de unos 200 euros."),
    ("Consigli per un macinacaffè economico?", "Uso ancora la moka, voglio passare all'espresso."),
    ("Café muito amargo, o que estou fazendo errado?", "Uso grãos de torra média."),
]
FOREIGN_COMMENTS = [
    "Yo tengo la {brand} y estoy muy contento.",
    "Anch'io ho lo stesso problema.",
    "Danke, das hilft!",
    "Muito bom!",
    "Merci pour l'info !",
    "Prueba a moler más fino.",
    "Die {model} ist jeden Cent wert.",
]
EMOJI = {"pos": "☕😍🔥👌🙌", "neg": "😤😭💸🙃", "neu": "🤔☕🙏", "none": "☕🙏🤔😅"}
PRICES = ["$299", "$450", "$600", "$799", "€549", "$1,200", "£400", "$350"]
WORDS = ["bean", "crema", "tamp", "latte", "ristretto", "grind", "portafilter", "steam", "roast",
         "barista", "cortado", "lungo", "burr", "shot", "milk", "foam", "puck", "drip"]  # fmt: skip
ADJECTIVES = ["sleepy", "caffeinated", "grumpy", "happy", "lazy", "bitter", "sweet", "dark",
              "quiet", "rusty", "tiny", "wild", "honest", "curious", "jittery"]  # fmt: skip


def _epoch(day: date) -> float:
    return datetime.combine(day, time(), UTC).timestamp()


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, rem = divmod(n, 36)
        out = digits[rem] + out
    return out or "0"


def _names_brand(template: str) -> bool:
    return "{brand}" in template or "{model}" in template


def _slug(title: str) -> str:
    kept = "".join(c if c.isascii() and c.isalnum() else "_" for c in title.lower())
    return "_".join(p for p in kept.split("_") if p)[:50].rstrip("_") or "post"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.t0 = _epoch(SAMPLE_START)
        self.t1 = _epoch(SAMPLE_END + timedelta(days=1))
        n_days = (SAMPLE_END - SAMPLE_START).days + 1
        self.days = [SAMPLE_START + timedelta(days=i) for i in range(n_days)]
        self.authors = self._authors(1400)
        # Zipf-like activity: a few regulars write a lot.
        weights = [1 / (i + 1) ** 0.8 for i in range(len(self.authors))]
        self.author_cum = list(accumulate(weights))

    # --- building blocks -------------------------------------------------------------------
    def _authors(self, n: int) -> list[str]:
        r, names = self.r, list[str]()
        seen: set[str] = set()
        while len(names) < n:
            style = r.random()
            if style < 0.45:
                name = f"{r.choice(ADJECTIVES)}_{r.choice(WORDS)}{r.randint(1, 999)}"
            elif style < 0.8:
                first, second = r.choice(WORDS).capitalize(), r.choice(WORDS).capitalize()
                name = f"{first}{second}{r.randint(0, 99)}"
            elif style < 0.9:
                name = f"throwaway_{r.randint(10000, 99999)}"
            else:
                name = f"{r.choice(ADJECTIVES)}-{r.choice(WORDS)}-{r.randint(1000, 9999)}"
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def author(self, deleted_rate: float) -> str:
        if self.r.random() < deleted_rate:
            return "[deleted]"
        return self.r.choices(self.authors, cum_weights=self.author_cum)[0]

    def brand_form(self, brand: str) -> str:
        """How people actually write the brand."""
        x = self.r.random()
        if brand == "Moka Nova" and x < 0.15:
            return self.r.choice(["MokaNova", "MokaNova", "Moka-Nova", "moka nova"])
        if x < 0.08:
            return brand.lower()
        if x < 0.10:
            return brand.upper()
        return brand

    def model(self, brand_form: str, brand: str) -> str:
        return f"{brand_form} {self.r.choice(MODELS[brand])}"

    def brand_weights(self, frac: float) -> list[float]:
        return [BRAND_WEIGHT[b] * (1 + BRAND_DRIFT.get(b, 0.0) * frac) for b in SAMPLE_BRANDS]

    def pick_brands(self, frac: float, k: int, subreddit: str) -> list[str]:
        weights = [
            w * SUBREDDIT_BIAS.get((subreddit, b), 1.0)
            for b, w in zip(SAMPLE_BRANDS, self.brand_weights(frac), strict=True)
        ]
        chosen: list[str] = []
        while len(chosen) < k:
            b = self.r.choices(SAMPLE_BRANDS, weights)[0]
            if b not in chosen:
                chosen.append(b)
        return chosen

    def sentiment(self, brand: str) -> str:
        pos, neg = SENTIMENT[brand]
        x = self.r.random()
        return "pos" if x < pos else "neg" if x < pos + neg else "neu"

    def context(self, brands: list[str]) -> dict[str, Any]:
        r = self.r
        ctx: dict[str, Any] = {
            "price": r.choice(PRICES),
            "months": r.randint(2, 30),
            "weeks": r.randint(2, 8),
            "minutes": r.randint(3, 25),
            "years": r.randint(2, 9),
        }
        for key, brand in zip(("a", "b"), brands, strict=False):
            form = self.brand_form(brand)
            ctx[key], ctx[f"model_{key}"] = form, self.model(form, brand)
        if brands:
            ctx["brand"], ctx["model"] = ctx["a"], ctx["model_a"]
        return ctx

    def decorate(self, text: str, mood: str, rate: float = 0.07) -> str:
        if self.r.random() < rate:
            return f"{text} {self.r.choice(EMOJI[mood])}"
        return text

    def timestamp(self, day: date) -> float:
        hour = self.r.choices(range(24), HOUR_WEIGHT)[0]
        return _epoch(day) + hour * 3600 + self.r.random() * 3600

    # --- posts -----------------------------------------------------------------------------
    def day_weights(self) -> list[float]:
        n = len(self.days)
        # Slowly growing traffic, busier weekends.
        return [
            (1 + 0.25 * i / n) * (1.3 if d.weekday() >= 5 else 1.0) for i, d in enumerate(self.days)
        ]

    def post(self, created: float, kind: str) -> dict[str, Any]:
        r = self.r
        frac = (created - self.t0) / (self.t1 - self.t0)
        subreddit = r.choices(list(SUBREDDIT_WEIGHT), list(SUBREDDIT_WEIGHT.values()))[0]
        if kind == "recall":
            brands, mood = ["Caffora"], "recall"
        elif kind == "cmp":
            brands, mood = self.pick_brands(frac, 2, subreddit), "cmp"
        elif kind in ("one", "caffora"):
            brands = ["Caffora"] if kind == "caffora" else self.pick_brands(frac, 1, subreddit)
            mood = self.sentiment(brands[0])
        else:
            brands, mood = [], "none"
        ctx = self.context(brands)
        if mood == "recall" and r.random() < 0.7:
            ctx["model"] = f"{ctx['brand']} Pro 2"
        foreign_rate = 0.35 if subreddit == "Cafe" else 0.015
        if mood != "recall" and r.random() < foreign_rate:
            pool = [p for p in FOREIGN_POSTS if _names_brand("".join(p)) == bool(brands)]
            title_t, body_t = r.choice(pool)
            title, body = title_t.format(**ctx), body_t.format(**ctx)
        else:
            title = TITLES[mood][r.randrange(len(TITLES[mood]))].format(**ctx)
            body_pool = BODIES[mood]
            sentences = r.sample(body_pool, k=min(len(body_pool), r.choice([1, 1, 2, 2, 3, 4])))
            extra = r.choice(BODIES["neu"])
            if mood in ("pos", "neg") and r.random() < 0.4 and extra not in sentences:
                sentences.append(extra)
            body = " ".join(s.format(**ctx) for s in sentences)
            if r.random() < 0.08:
                body += "\n\n" + r.choice(EDITS)
        emoji_mood = mood if mood in EMOJI else "none"
        title = self.decorate(title, emoji_mood)
        image = r.random() < 0.12
        if image:
            selftext = ""
        elif r.random() < 0.02:
            selftext = "[removed]"
        else:
            selftext = self.decorate(body, emoji_mood)
        # Heavy-tailed score; recall PSAs travel further.
        score = 9999
        while score > 8000:
            score = int(3 * (r.paretovariate(1.15) - 1) * (1.8 if mood == "recall" else 1))
        return {
            "subreddit": subreddit,
            "title": title,
            "selftext": selftext,
            "author": self.author(0.04),
            "score": score,
            "created_utc": float(int(created)),
            "_image": image,
            "_mood": mood,
            "_brands": brands,
        }

    def posts(self) -> list[dict[str, Any]]:
        r = self.r
        days = r.choices(self.days, self.day_weights(), k=N_POSTS)
        kinds = r.choices(["one", "cmp", "none"], [60, 15, 25], k=N_POSTS)
        posts = [self.post(self.timestamp(d), k) for d, k in zip(days, kinds, strict=True)]
        # The recall week: PSAs and questions, plus more Caffora chatter than usual.
        for _ in range(N_RECALL_POSTS):
            day = RECALL_WEEK + timedelta(days=min(int(r.expovariate(0.45)), 6))
            posts.append(self.post(self.timestamp(day), r.choice(["recall", "recall", "caffora"])))
        posts.sort(key=lambda p: p["created_utc"])
        n = int("1mq2a00", 36)
        for p in posts:
            n += r.randint(40, 400)  # other subreddits post in between
            p["id"] = _base36(n)
            p["name"] = f"t3_{p['id']}"
            p["permalink"] = f"/r/{p['subreddit']}/comments/{p['id']}/{_slug(p['title'])}/"
            p["url"] = (
                f"https://i.redd.it/{_base36(r.getrandbits(60))}.jpeg"
                if p.pop("_image")
                else f"https://www.reddit.com{p['permalink']}"
            )
        return posts

    # --- comments --------------------------------------------------------------------------
    def comment_body(self, post: dict[str, Any]) -> str:
        r = self.r
        if post["subreddit"] == "Cafe" and r.random() < 0.3:
            brand = r.choice(SAMPLE_BRANDS)
            return r.choice(FOREIGN_COMMENTS).format(**self.context([brand]))
        x = r.random()
        mood = post["_mood"]
        if post["_brands"] and x < 0.45:
            brand = r.choice(post["_brands"])
            pool = "recall" if mood == "recall" and r.random() < 0.6 else self.sentiment(brand)
        elif x < 0.62:
            frac = (post["created_utc"] - self.t0) / (self.t1 - self.t0)
            brand, pool = self.pick_brands(frac, 1, post["subreddit"])[0], "other"
        else:
            brand, pool = "", "none"
        text = r.choice(COMMENTS[pool]).format(**self.context([brand] if brand else []))
        return self.decorate(text, pool if pool in EMOJI else "none", rate=0.05)

    def comments(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        r = self.r
        weights = [
            (max(p["score"], 0) + 3) ** 0.5
            * r.lognormvariate(0, 0.6)
            * (1.5 if p["_mood"] == "recall" else 1)
            * SUBREDDIT_CHATTINESS.get(p["subreddit"], 1.0)
            for p in posts
        ]
        owners = r.choices(range(len(posts)), weights, k=N_COMMENTS)
        comments = []
        for i in owners:
            post = posts[i]
            delay = r.expovariate(1 / 14400) if r.random() < 0.85 else r.uniform(0, 4 * 86400)
            created = post["created_utc"] + 30 + delay
            if created >= self.t1:  # keep the sample inside its period
                created = post["created_utc"] + r.random() * (self.t1 - post["created_utc"] - 1)
            deleted = r.random()
            body = self.comment_body(post)
            if deleted < 0.05:
                author, body = "[deleted]", r.choice(["[deleted]", "[removed]"])
            else:
                author = "[deleted]" if deleted < 0.07 else self.author(0.0)
            comments.append({
                "link_id": post["name"],
                "subreddit": post["subreddit"],
                "body": body,
                "author": author,
                "score": int(r.paretovariate(1.3)) if r.random() > 0.08 else -r.randint(1, 15),
                "created_utc": float(int(created)),
            })  # fmt: skip
        comments.sort(key=lambda c: c["created_utc"])
        n = int("n4k0000", 36)
        by_post: dict[str, list[dict[str, Any]]] = {}
        for c in comments:
            n += r.randint(200, 3000)
            c["id"] = _base36(n)
            c["name"] = f"t1_{c['id']}"
            earlier = by_post.setdefault(c["link_id"], [])
            threaded = earlier and r.random() < 0.45
            c["parent_id"] = r.choice(earlier)["name"] if threaded else c["link_id"]
            earlier.append(c)
        for p in posts:
            # Reddit counts removed and unfetched replies too.
            extra = r.randint(1, 4) if r.random() < 0.15 else 0
            p["num_comments"] = len(by_post.get(p["name"], ())) + extra
        return comments


POST_KEYS = ["id", "name", "subreddit", "title", "selftext", "author", "score", "num_comments",
             "created_utc", "permalink", "url"]  # fmt: skip
COMMENT_KEYS = ["id", "name", "link_id", "parent_id", "subreddit", "body", "author", "score",
                "created_utc"]  # fmt: skip


def generate(seed: int = 7, product: str = SAMPLE_PRODUCT) -> tuple[list[dict], list[dict]]:
    """The sample posts and comments (Reddit field names plus `product`), oldest first."""
    gen = _Generator(seed)
    posts = gen.posts()
    comments = gen.comments(posts)
    return (
        [{k: p[k] for k in POST_KEYS} | {"product": product} for p in posts],
        [{k: c[k] for k in COMMENT_KEYS} | {"product": product} for c in comments],
    )


def seed_sample_data(db: Any, product: str = SAMPLE_PRODUCT, seed: int = 7) -> int:
    """Store the sample dataset unless `product` already has posts; return the posts inserted."""
    repo = RedditRepository(db)
    repo.ensure_indexes()
    if repo.count_posts(product):
        return 0
    posts, comments = generate(seed, product)
    repo.insert_posts(posts)
    repo.insert_comments(comments)
    return len(posts)


SAMPLE_FOLDER_NAME = "Sample clients"
SAMPLE_PRODUCT_NAME = "Home espresso"


SAMPLE_SUMMARY = """\
## Home espresso machines

Reddit is where home baristas compare machines before buying and report back after months
of use. Five brands dominate the talk about entry and mid-range machines:

- **Brevio** (Classic, Duo, Compact): the default recommendation, a favourite of r/BuyItForLife.
- **Caffora** (Pro 2, Mini, Dual Boiler): popular but with a mixed reputation for reliability;
  the Pro 2 was recalled over a faulty pressure valve in August 2026.
- **Moka Nova** (One, Flow): often spelled "MokaNova"; not to be confused with a moka pot.
- **Steamly** (S3, Go, Pro): the newcomer, strong in r/homebarista, growing fast.
- **Vellaro** (Leva, Mini Leva): lever machines, a niche with loyal owners.

Questions for the reports: who leads share of voice, who is gaining, how owners feel after
the purchase (repairs, descaling, support), and what the recall did to Caffora's reputation.
"""


def sample_research() -> Research:
    """Version 1 of the sample product's research."""
    return Research(
        summary=SAMPLE_SUMMARY,
        brands=SAMPLE_BRANDS,
        aliases=SAMPLE_ALIASES,
        subreddits=SAMPLE_SUBREDDITS,
        queries=[f"{brand} espresso machine" for brand in SAMPLE_BRANDS]
        + ["best home espresso machine", "espresso machine recall"],
        competitors_note="Caffora and Steamly compete head-on for first machines under $600.",
    )


SAMPLE_KEY = "sample-product"  # the stable key the sample product is found by


class SeedMarks:
    """What seeding made, by a stable key: `seed` runs on every `make run`, and must find
    what it made even after a user renamed it (never by name or slug)."""

    def __init__(self, db: Any) -> None:
        self.collection = db["seeds"]

    def get(self, key: str) -> str | None:
        mark = self.collection.find_one({"_id": key})
        return mark["made"] if mark else None

    def set(self, key: str, made: str) -> None:
        self.collection.insert_many([{"_id": key, "made": made, "at": datetime.now(UTC)}])


def seed_sample_product(db: Any) -> dict[str, Any] | None:
    """The sample folder and product that reports on the sample data belong to, and its
    research: made once, then found by its id (kept under SAMPLE_KEY), however it has been
    renamed since. None when a user deleted it: it is not made again."""
    marks, products = SeedMarks(db), ProductRepository(db)
    made = marks.get(SAMPLE_KEY)
    if made is not None:
        product = products.get(made)
        if product is None:
            return None
    else:
        # Seeded before the marks were kept: the product an earlier seed made (its slug never
        # changes, and it says who made it), else a new one (another slug if a user has taken
        # `home-espresso`).
        product = products.by_slug(SAMPLE_PRODUCT)
        if product is None or product["created_by"] != "sample-data":
            folder = FolderRepository(db).create(SAMPLE_FOLDER_NAME, "sample-data")
            slug = None if products.by_slug(SAMPLE_PRODUCT) else SAMPLE_PRODUCT
            product = products.create(SAMPLE_PRODUCT_NAME, folder["_id"], "sample-data", slug)
        marks.set(SAMPLE_KEY, product["_id"])
    research = ResearchRepository(db)
    if research.latest(product["_id"]) is None:
        research.ensure_indexes()
        research.save(product["_id"], sample_research(), "sample-data")
    return product
