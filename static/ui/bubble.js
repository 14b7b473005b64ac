// One message bubble: sender (groups only), the quote of the message it answers, text with
// clickable links, "edited", time (full date on hover), reactions and, on my own messages,
// delivery ticks. In groups my bubbles also open a "read by" line. A "⋯" button (shown on
// hover, always on touch screens) opens the message's actions. A bubble is created once
// and updated in place on every render; a deleted message becomes "Message deleted".

import { store } from "../store.js";
import { avatar } from "./avatar.js";
import { el, placeChildren } from "./dom.js";
import { linkify } from "./linkify.js";
import { setTicks, ticks } from "./ticks.js";
import { clockTime, fullTime } from "./time.js";

const NAME_COLOURS = 6; // .name-0 … .name-5 in app.css, each readable on a white bubble

function eyeIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 12");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "12");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ["M1 6c2-3.3 4.3-5 7-5s5 1.7 7 5c-2 3.3-4.3 5-7 5S3 9.3 1 6z", "M8 4a2 2 0 1 0 0 4a2 2 0 1 0 0-4"]) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

const shown = new WeakMap(); // bubble -> the message it shows now (handlers read it on click)

/**
 * A new bubble. Handlers: `onToggleReaders(node)` opens or closes a group message's "read
 * by" line, `onQuote(seq)` goes to the quoted message, `onActions(message, node, button)`
 * opens the actions, `onReact(message, emoji)` toggles my reaction.
 */
export function createBubble(message, key, { onToggleReaders, onQuote, onActions, onReact }) {
  const mine = message.sender_id === store.me.id;
  const more = el("button", { type: "button", class: "more", "aria-label": "Message actions", "aria-haspopup": "true", title: "Actions" }, "⋯");
  const node = el(
    "div",
    { class: mine ? "msg out" : "msg in", dataset: { key } },
    el("span", { class: "visually-hidden who" }),
    el("div", { class: "sender", "aria-hidden": "true" }),
    el("button", { type: "button", class: "quote", hidden: true }, el("span", { class: "quote-name" }), el("span", { class: "quote-text" })),
    el("div", { class: "text" }),
    el("div", { class: "reactions", hidden: true }),
    el("div", { class: "meta" }, el("span", { class: "edited", hidden: true }, "edited"), el("time"), mine ? ticks("pending") : null),
    el("div", { class: "readers", hidden: true }),
    more,
  );
  node.addEventListener("click", (event) => {
    const message = shown.get(node);
    const quote = event.target.closest(".quote");
    if (quote && message?.reply_to) {
      onQuote(message.reply_to.seq);
      return;
    }
    const chip = event.target.closest(".reaction");
    if (chip && message) {
      onReact(message, chip.dataset.emoji);
      return;
    }
    if (event.target.closest(".more")) {
      if (message) onActions(message, node, more);
      return;
    }
    // Links open; selecting text does not toggle anything.
    if (event.target.closest("a") || String(getSelection()).length > 0) return;
    if (node.querySelector(".seen-by")) onToggleReaders(node);
  });
  // Right click, or a long press on a touch screen (but the browser's own menu on links
  // and selected text).
  node.addEventListener("contextmenu", (event) => {
    const message = shown.get(node);
    if (!message?.seq || message.deleted || event.target.closest("a") || String(getSelection()).length > 0) return;
    event.preventDefault();
    onActions(message, node, more);
  });
  return node;
}

function deliveryState(message) {
  if (message.failed) return "failed";
  if (message.pending) return "pending";
  return store.isRead(message) ? "read" : "sent";
}

function readersText(message) {
  const readers = store.readersOf(message.chat_id, message.seq);
  if (readers === null) return "Loading…";
  if (readers.length === 0) return "Not read by anyone yet";
  return `Read by ${readers.map((member) => member.name ?? store.userName(member.id)).join(", ")}`;
}

/**
 * Bring a bubble up to date. `runStart` / `runEnd`: first / last of a run of messages
 * from one sender (groups show the name on the first and the avatar on the last).
 */
export function updateBubble(node, message, { group, runStart, runEnd, expanded }) {
  const mine = message.sender_id === store.me.id;
  const name = store.userName(message.sender_id); // names may arrive after the text
  if (message.seq) node.dataset.seq = message.seq;
  node.classList.toggle("grouped", group && !mine);
  node.classList.toggle("run-start", runStart);
  node.classList.toggle("run-end", runEnd);
  node.classList.toggle("continued", !runStart);

  const showName = group && !mine && runStart;
  const sender = node.querySelector(".sender");
  sender.hidden = !showName;
  sender.textContent = showName ? name : "";
  sender.className = `sender name-${Math.abs(message.sender_id) % NAME_COLOURS}`;
  node.querySelector(".who").textContent = `${name}: `; // what a screen reader hears first
  updateAvatar(node, group && !mine && runEnd ? name : null, message.sender_id);

  shown.set(node, message);
  node.classList.toggle("deleted", Boolean(message.deleted));
  node.querySelector(".more").hidden = !message.seq || Boolean(message.deleted);
  updateQuote(node.querySelector(".quote"), message.deleted ? null : message.reply_to);
  const text = node.querySelector(".text");
  const body = message.deleted ? null : message.text;
  if (text.dataset.source !== String(body)) {
    text.dataset.source = String(body);
    text.replaceChildren(...(body === null ? ["Message deleted"] : linkify(body)));
  }
  updateReactions(node.querySelector(".reactions"), message.deleted ? [] : (message.reactions ?? []));
  const edited = node.querySelector(".edited");
  edited.hidden = !message.edited_at || Boolean(message.deleted);
  edited.title = message.edited_at ? `Edited ${fullTime(message.edited_at)}` : "";
  const time = node.querySelector("time");
  time.textContent = clockTime(message.created_at);
  time.dateTime = message.created_at ?? "";
  time.title = fullTime(message.created_at);
  if (!mine) return;

  const state = deliveryState(message);
  node.dataset.status = state;
  setTicks(node.querySelector(".ticks"), state, message.failed ? `Not sent: ${message.failed}` : undefined);
  updateReaders(node, message, { group, expanded, state });
}

/** The quoted message: its sender and (up to 100 characters of) its text, or that it was deleted. */
function updateQuote(quote, replyTo) {
  quote.hidden = !replyTo;
  if (!replyTo) return;
  const name = store.userName(replyTo.sender_id);
  quote.querySelector(".quote-name").textContent = name;
  const text = quote.querySelector(".quote-text");
  text.textContent = replyTo.text ?? "Deleted message";
  text.classList.toggle("gone", replyTo.text === null || replyTo.text === undefined);
  quote.className = `quote name-${Math.abs(replyTo.sender_id) % NAME_COLOURS}`;
  quote.setAttribute("aria-label", `In reply to ${name}: ${replyTo.text ?? "Deleted message"} (go to the message)`);
}

/** Chips "👍 2" under the text; mine pressed. A chip is kept per emoji and updated in
 * place (the keyboard focus stays on it as counts change). */
function updateReactions(box, reactions) {
  const myId = store.me.id;
  const signature = JSON.stringify(reactions.map((r) => [r.emoji, r.count, r.user_ids?.includes(myId)]));
  if (box.dataset.signature === signature) return;
  box.dataset.signature = signature;
  box.hidden = reactions.length === 0;
  const chips = new Map([...box.children].map((chip) => [chip.dataset.emoji, chip]));
  placeChildren(
    box,
    reactions.map((reaction) => {
      const mine = Boolean(reaction.user_ids?.includes(myId));
      const chip =
        chips.get(reaction.emoji) ??
        el(
          "button",
          { type: "button", dataset: { emoji: reaction.emoji } },
          el("span", { class: "emoji" }, reaction.emoji),
          " ",
          el("span", { class: "count" }),
        );
      chip.className = mine ? "reaction mine" : "reaction";
      chip.setAttribute("aria-pressed", String(mine));
      chip.title = (reaction.user_ids ?? []).map((id) => store.userName(id)).join(", ");
      chip.querySelector(".count").textContent = String(reaction.count);
      return chip;
    }),
  );
}

function updateAvatar(node, name, userId) {
  const current = node.querySelector(":scope > .avatar");
  if (!name) {
    current?.remove();
    return;
  }
  if (current?.dataset.name === name) return;
  const fresh = avatar(name, { id: userId });
  fresh.dataset.name = name;
  if (current) current.replaceWith(fresh);
  else node.prepend(fresh);
}

function updateReaders(node, message, { group, expanded, state }) {
  const meta = node.querySelector(".meta");
  let toggle = meta.querySelector(".seen-by");
  if (group && message.seq && !toggle) {
    // Clicking anywhere on the bubble toggles it too; this is the keyboard's way in.
    toggle = el("button", { type: "button", class: "seen-by", title: "Show who has read it" }, eyeIcon(),
      el("span", { class: "visually-hidden" }, "Who has read it"));
    meta.prepend(toggle);
  }
  toggle?.setAttribute("aria-expanded", String(Boolean(expanded)));
  const readers = node.querySelector(".readers");
  const open = Boolean(group && message.seq && expanded);
  readers.hidden = !open && state !== "failed";
  readers.textContent = state === "failed" ? `Not sent: ${message.failed}` : open ? readersText(message) : "";
}
