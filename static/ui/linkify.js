// Message text as DOM nodes: plain text, with http(s) URLs turned into links. Nothing
// else in the text becomes markup (it only ever goes through text nodes and href).

import { el } from "./dom.js";

// A URL runs to the next space or to a character that cannot be part of one in plain
// text. Trailing punctuation is trimmed below.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"»”’]+$/;

/** Cut punctuation that ends the sentence, and a closing bracket the URL did not open. */
function trimUrl(candidate) {
  let url = candidate.replace(TRAILING, "");
  for (const [open, close] of ["()", "[]"]) {
    while (url.endsWith(close) && url.split(open).length < url.split(close).length) {
      url = url.slice(0, -1).replace(TRAILING, "");
    }
  }
  return url;
}

/** The URL if it is a well-formed http or https one, else null. */
function safeHref(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Text and <a> nodes for `text`; links open in a new tab without access to this page. */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(el("a", { href, target: "_blank", rel: "noopener noreferrer" }, url));
    last = match.index + url.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
