// A short note over the message box: a change the server refused, or one tried offline.

import { $ } from "./dom.js";

const NOTICE_MS = 4000;
let timer = null;

export function showNotice(text) {
  const notice = $("#action-notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => {
    notice.hidden = true;
  }, NOTICE_MS);
}

/** Why a change did not happen, in words. */
export function explain(error, { offline = "You are offline. Try again when the connection is back." } = {}) {
  if (error?.code === undefined) return offline; // no answer: not an AckError
  if (error.code === "not_found") return "That message no longer exists.";
  if (error.code === "rate_limited") return "Too many changes at once. Try again in a moment.";
  return error.message;
}
