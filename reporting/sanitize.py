"""Report HTML made safe to serve and to print, whatever a notebook displayed.

A notebook's outputs can carry text a client sent (a brand, a product name) that some code
displayed as HTML or Markdown. The notebooks escape what they show; this pass is the second
line, run by the exporter on the body of every report before it becomes HTML or PDF:

- elements that load, run or redirect are removed with their content: ``<script>``,
  ``<link>``, ``<iframe>``, ``<object>``, ``<embed>``, ``<meta>``, ``<base>``, ``<form>`` and
  the like, and SVG animations (which can set an ``href``);
- every ``on*`` attribute goes;
- links (``<a href>``) keep ``http(s):``, ``mailto:`` and ``#fragment`` targets only, and lose
  ``rel=attachment``; every other URL attribute (``src``, ``xlink:href``, ``poster`` ...) keeps
  ``data:image/...`` and ``#fragment`` only;
- CSS (``<style>`` and ``style=``) loses ``@import`` and every ``url()`` but ``data:``.

Tables, inline SVG and ``data:`` images, classes and styles stay as they are. The markup is
parsed by html5lib, as a browser parses it, so what is checked is what a browser would see.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

REMOVED = frozenset({
    "script", "link", "iframe", "frame", "frameset", "object", "embed", "applet", "meta",
    "base", "form", "portal", "noscript", "template", "animate", "animatemotion",
    "animatetransform", "set", "handler", "listener", "xmp", "plaintext", "noembed",
    "noframes",
})  # fmt: skip
URL_ATTRIBUTES = frozenset({
    "src", "href", "xlink:href", "poster", "background", "data", "action", "formaction",
    "lowsrc", "dynsrc", "srcset", "ping", "cite", "longdesc", "manifest", "codebase",
    "usemap", "archive", "profile", "srcdoc",
})  # fmt: skip
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
DATA_IMAGE = re.compile(r"^data:image/(?:png|jpeg|jpg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)

_CSS_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(?P<q>['\"]?)(?P<url>.*?)(?P=q)\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\[0-9a-fA-F]{1,6}\s?|\\.")
_IMAGE_SET = re.compile(r"(?:-webkit-)?image-set\(", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_WRAP = "<!DOCTYPE html><html><head></head><body>"


def sanitize_body(html: str) -> str:
    """``html``, a fragment of a report's body, without anything that loads, runs or
    attaches (see the module's docstring)."""
    soup = BeautifulSoup(_WRAP + html, features="html5lib")
    body = soup.body
    assert body is not None
    for element in body.find_all(True):
        if element.decomposed:
            continue
        if element.name.lower() in REMOVED:
            element.decompose()
            continue
        _clean_attributes(element)
        if element.name.lower() == "style":
            css = "".join(s for s in element.descendants if isinstance(s, NavigableString))
            # Written out raw: a "<" could open a tag where a browser reads it (inside <svg>).
            element.string = clean_css(css).replace("<", "\\3C ")
    return body.decode_contents()


def _clean_attributes(element: Tag) -> None:
    is_link = element.name.lower() in ("a", "area")
    for name in list(element.attrs):
        key = str(name).lower()
        value = element.attrs[name]
        if key.startswith("on"):
            del element.attrs[name]
        elif key == "style":
            element.attrs[name] = clean_css(str(value))
        elif key == "rel" and is_link:
            kept = [r for r in _words(value) if r.lower() != "attachment"]
            if kept:
                element.attrs[name] = " ".join(kept)
            else:
                del element.attrs[name]
        elif key in URL_ATTRIBUTES or key.endswith(":href"):
            if not _allowed_url(str(value), link=is_link and key == "href"):
                del element.attrs[name]
    if is_link and "download" in element.attrs:
        del element.attrs["download"]


def _words(value: object) -> list[str]:
    return list(value) if isinstance(value, list) else str(value).split()


def _allowed_url(value: str, *, link: bool) -> bool:
    url = _CONTROL.sub("", value)
    if url.startswith("#"):
        return True
    if link:
        scheme = urlsplit(url).scheme.lower()
        return scheme in LINK_SCHEMES
    return bool(DATA_IMAGE.match(url))


def clean_css(css: str) -> str:
    """``css`` without ``@import`` rules, with every ``url()`` that is not ``data:`` emptied
    and ``image-set()`` disabled. CSS that hides one of these behind escapes (``u\\72l(``)
    is dropped whole."""
    cleaned = _CSS_URL.sub(_css_url, _CSS_IMPORT.sub("", css))
    cleaned = _IMAGE_SET.sub("none-set(", cleaned)
    if "\\" in cleaned:
        plain = _CSS_ESCAPE.sub(_unescape_css, cleaned)
        if plain != _CSS_URL.sub(_css_url, _IMAGE_SET.sub("none-set(", _CSS_IMPORT.sub("", plain))):
            return ""
    return cleaned


def _unescape_css(match: re.Match[str]) -> str:
    text = match.group().rstrip()
    if len(text) > 1 and all(c in "0123456789abcdefABCDEF" for c in text[1:]):
        code = int(text[1:], 16)
        return chr(code) if 0 < code <= 0x10FFFF else ""
    return text[1:]


def _css_url(match: re.Match[str]) -> str:
    url = _CONTROL.sub("", match.group("url"))
    return match.group() if url.lower().startswith("data:") else "url()"
