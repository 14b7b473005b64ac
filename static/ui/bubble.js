// One message bubble: sender (groups only), text with clickable links, time (full date on
// hover) and, on my own messages, delivery ticks. In groups my bubbles also open a
// "read by" line. A bubble is created once and updated in place on every render.

import { store } from "../store.js";
import { avatar } from "./avatar.js";
import { el } from "./dom.js";
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

/** A new bubble; `onToggleReaders(node)` opens or closes a group message's "read by" line. */
export function createBubble(message, key, { onToggleReaders }) {
  const mine = message.sender_id === store.me.id;
  const node = el(
    "div",
    { class: mine ? "msg out" : "msg in", dataset: { key } },
    el("span", { class: "visually-hidden who" }),
    el("div", { class: "sender", "aria-hidden": "true" }),
    el("div", { class: "text" }),
    el("div", { class: "meta" }, el("time"), mine ? ticks("pending") : null),
    el("div", { class: "readers", hidden: true }),
  );
  node.addEventListener("click", (event) => {
    // Links open; selecting text does not toggle anything.
    if (event.target.closest("a") || String(getSelection()).length > 0) return;
    if (node.querySelector(".seen-by")) onToggleReaders(node);
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

  const text = node.querySelector(".text");
  if (text.dataset.source !== message.text) {
    text.dataset.source = message.text;
    text.replaceChildren(...linkify(message.text));
  }
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
