"""Stopword sets for Indonesian and English.

Written for Warta (no third-party list is copied, so no licence question follows the data). The
lists are function words only: pronouns, particles, prepositions, conjunctions, auxiliaries and
reporting verbs that say nothing about a story's facts. Content words stay out on purpose, so a
topic word like "seni" or "model" still counts in summaries.
"""

from __future__ import annotations

_ID = """
ada adalah adanya agak agar akan akhirnya aku akulah amat anda andalah antar antara antaranya apa
apaan apabila apakah apalagi atas atau ataupun bagai bagaimana bagaimanapun bagi bahkan bahwa
bahwasanya banyak beberapa begini begitu begitupun belum belumlah berapa berbagai berikut beliau
benar berkata bersama bersama-sama biasa biasanya bila bilamana bisa boleh buat bukan bukankah
bukanlah bukannya cukup dahulu dalam dan dapat dari daripada demi demikian dengan depan di dia
diri dirinya dong dulu entah guna hal hampir hanya hanyalah harus haruslah hingga ia ialah
ibarat ini inilah itu itulah jadi jangan jika jikalau juga jumlah justru kala kalau kalaulah
kalaupun kalian kami kamilah kamu kamulah kan kapan kapankah karena karenanya kata katanya ke
kecuali kembali kemudian kenapa kepada kepadanya ketika kini kita kitalah lagi lagian lah lain
lainnya lalu lama lewat maka makin malah mana manakala masih masing masing-masing mau maupun
melainkan melalui memang mengapa menjadi menurut menurutnya merasa mereka merekalah meski
meskipun mungkin nah namun nanti nya oleh pada padahal paling para pasti per perlu pernah pula
pun saat saja sambil sampai sana sangat sangatlah saya sayalah se sebab sebagai sebagaimana
sebagainya sebelum sebelumnya sebuah secara sedang sedangkan sedikit segala sehingga sejak
sekadar sekali sekalipun sekarang seketika selagi selain selaku selama selalu seluruh semakin
sementara semua semuanya sendiri sendirinya seorang sepanjang seperti sepertinya sering serta
sesuatu setelah setiap siapa siapakah sini situ suatu sudah sudahlah supaya tadi tak tanpa
tapi telah tentang tentu tentunya terhadap terlalu termasuk tersebut tetap tetapi tiap tidak
tidaklah toh turut untuk usai walau walaupun yaitu yakni yang ujar ujarnya ungkapnya jelasnya
tuturnya kata ucapnya imbuhnya tambahnya lanjutnya mengatakan menyebutkan menambahkan
mengungkapkan menjelaskan
"""

_EN = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each even ever every few for from further get gets got had
hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just
let's like made make many may me might more most much must mustn't my myself new no nor not now
of off on once one only or other ought our ours ourselves out over own said same say says she
she'd she'll she's should shouldn't since so some still such than that that's the their theirs
them themselves then there there's these they they'd they'll they're they've this those though
through to told too under until up upon us very was wasn't we we'd we'll we're we've were
weren't what what's when when's where where's whether which while who who's whom whose why
why's will with within without won't would wouldn't yet you you'd you'll you're you've your
yours yourself yourselves also according added told
"""

STOPWORDS: dict[str, frozenset[str]] = {
    "id": frozenset(_ID.split()),
    "en": frozenset(_EN.split()),
}


def stopwords(lang: str) -> frozenset[str]:
    """The stopword set for ``lang``; Malay shares the Indonesian set, anything else English."""
    if lang in ("id", "ms"):
        return STOPWORDS["id"]
    return STOPWORDS["en"]
