"""Versions of one song: remasters, mixes, radio edits, live takes and re-releases.

Catalogues list one song many times: "Bohemian Rhapsody - 2011 Mix", "Bohemian Rhapsody -
Remastered 2011", the single and the album track under two ids. A listener who asked for
songs like one of them gains nothing from another, so a recommendation list never holds
another version of a seed, nor two versions of one song.

Two songs are versions of one song when they share an artist and their titles match once
version details are set aside: everything after " - " (Spotify's convention for "2011
Remaster", "Radio Edit", "Kygo Remix", "Live at ..."), bracketed groups that name a
version or a guest ("(Live)", "(feat. …)", "[Extended Mix]", "(with …)"), a trailing
"feat. …", case, accents' composed forms and punctuation. Bracketed groups that are part
of the name ("(I Can't Get No) Satisfaction", "Elevators (Me & You)") stay.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# " - " introduces version details in Spotify's titles; a hyphen inside a word does not.
_SUFFIX = re.compile(r"\s+[-–—]\s+.*$")
_GROUP = re.compile(r"\s*[(\[]([^)\]]*)[)\]]")
_VERSION_WORDS = re.compile(
    r"\b(feat|ft|featuring|with|live|remaster|remastered|remix|mix|mixed|edit|edited|"
    r"version|radio|acoustic|demo|mono|stereo|instrumental|extended|original|karaoke|"
    r"explicit|clean|single|album|bonus|deluxe|vip|rework|bootleg|session|take|dub|"
    r"unplugged|re-recorded|rerecorded|anniversary)\b")
_TRAILING_FEAT = re.compile(r"\s(feat|ft)\.?\s.*$")
_PUNCTUATION = re.compile(r"[^\w\s]")


def title_key(title: str | None) -> str:
    """The title with version details set aside, case-folded, punctuation removed.

    Examples: "Bohemian Rhapsody - 2011 Mix" and "Bohemian Rhapsody - Remastered 2011"
    both give "bohemian rhapsody"; "Warm (feat. HAIM)" gives "warm"; "Elevators (Me & You)"
    keeps its group: "elevators me you".
    """
    if not title:
        return ""
    text = unicodedata.normalize("NFKC", title).casefold().strip()
    base = _SUFFIX.sub("", text)
    base = _GROUP.sub(lambda m: "" if _VERSION_WORDS.search(m.group(1)) else m.group(0), base)
    base = _TRAILING_FEAT.sub("", base)
    base = " ".join(_PUNCTUATION.sub(" ", base).split())
    # A title of punctuation only ("?", "+") is its own key, not the empty one all share.
    return base or text


def version_keys(artists: Iterable[str], title: str | None) -> set[tuple[str, str]]:
    """One ``(artist, title key)`` per artist: two songs are versions of one song when
    their key sets meet. A song without a title or an artist has none (never a version)."""
    key = title_key(title)
    if not key:
        return set()
    return {(unicodedata.normalize("NFKC", a).casefold().strip(), key)
            for a in artists if a and a.strip()}
