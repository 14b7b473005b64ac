// The message list of the open chat: bubbles in order, with a separator between days and
// an "Unread messages" line above the first message that was unread when the chat opened.
// Nodes are reused between renders, so focus, selection and scroll position survive.

import { store } from "../store.js";
import { createBubble, updateBubble } from "./bubble.js";
import { $, el, placeChildren } from "./dom.js";
import { dayKey, dayLabel } from "./time.js";

const nodes = new Map(); // key -> element of the open chat
const expanded = new Set(); // keys of my group messages whose "read by" line is open
// The one bubble whose ⋯ button is in the Tab order (null: the newest): a long chat would
// otherwise be a Tab stop per message. Arrow keys move between the ⋯ buttons.
let rovingKey = null;

export const container = () => $("#messages");

/** A new chat is open: drop the old chat's nodes. */
export function resetMessages() {
  nodes.clear();
  expanded.clear();
  rovingKey = null;
  container().replaceChildren();
}

function messageKey(message) {
  return `${message.sender_id}:${message.client_msg_id ?? `id-${message.id}`}`;
}

function reuse(key, create) {
  let node = nodes.get(key);
  if (!node) {
    node = create();
    nodes.set(key, node);
  }
  return node;
}

function daySeparator(iso) {
  const node = reuse(`day:${dayKey(iso)}`, () =>
    el("div", { class: "day", role: "heading", "aria-level": "3" }, el("span")),
  );
  const label = dayLabel(iso); // "Today" becomes "Yesterday" after midnight
  if (node.firstChild.textContent !== label) node.firstChild.textContent = label;
  return node;
}

const unreadDivider = () =>
  reuse("unread", () => el("div", { class: "unread-divider", id: "unread-divider" }, el("span", {}, "Unread messages")));

const olderHint = () => reuse("older", () => el("div", { class: "older-hint" }, "Scroll up for older messages"));

function toggleReaders(node) {
  const key = node.dataset.key;
  if (expanded.has(key)) expanded.delete(key);
  else expanded.add(key);
  currentOptions.rerender?.();
}

let currentOptions = {};

// What a bubble's buttons do; the open chat's view decides (the options of renderList).
const bubbleHandlers = {
  onToggleReaders: toggleReaders,
  onQuote: (seq) => currentOptions.onQuote?.(seq),
  onActions: (message, node, button) => currentOptions.onActions?.(message, node, button),
  onReact: (message, emoji) => currentOptions.onReact?.(message, emoji),
};

/**
 * The nodes the list should hold, in order. `unreadAfter`: the read watermark when the
 * chat was opened (null: no divider); the divider goes above the first later message
 * from someone else.
 */
function wantedNodes(chatId, { unreadAfter }) {
  const log = store.log(chatId);
  const group = store.chats.get(chatId)?.type === "group";
  const messages = log.ordered();
  const myId = store.me.id;
  const firstUnread =
    unreadAfter === null || unreadAfter === undefined
      ? null
      : messages.find((m) => m.seq > unreadAfter && m.sender_id !== myId);

  // Where a run of one sender's messages breaks: a new day, the divider, another sender.
  const breaks = messages.map((message, i) => {
    const previous = messages[i - 1];
    return {
      newDay: !previous || dayKey(previous.created_at) !== dayKey(message.created_at),
      divider: message === firstUnread,
    };
  });
  const startsRun = (i) =>
    i === 0 || breaks[i].newDay || breaks[i].divider || messages[i - 1].sender_id !== messages[i].sender_id;

  const wanted = [];
  if (log.loaded && log.oldestSeq > 1) wanted.push(olderHint());
  messages.forEach((message, i) => {
    if (breaks[i].newDay) wanted.push(daySeparator(message.created_at));
    if (breaks[i].divider) wanted.push(unreadDivider());
    const key = messageKey(message);
    const node = reuse(key, () => createBubble(message, key, bubbleHandlers));
    updateBubble(node, message, {
      group,
      runStart: startsRun(i),
      runEnd: i === messages.length - 1 || startsRun(i + 1),
      expanded: expanded.has(key),
    });
    wanted.push(node);
  });
  if (log.loaded && wanted.length === 0) wanted.push(el("p", { class: "empty-hint" }, "No messages yet — say hi!"));
  return wanted;
}

/**
 * Bring the DOM in line with the store (moving only the nodes that are out of place).
 * `options.rerender()` is called when the list itself changes what it shows;
 * `options.onQuote(seq)`, `onActions(message, node, button)`, `onReact(message, emoji)`
 * are the bubbles' buttons.
 */
export function renderList(chatId, options) {
  currentOptions = options;
  placeChildren(container(), wantedNodes(chatId, options));
  updateRoving();
}

const actionButtons = () => [...container().querySelectorAll(".msg > .more:not([hidden])")];

function updateRoving() {
  const buttons = actionButtons();
  const current = buttons.find((button) => button.closest(".msg").dataset.key === rovingKey) ?? buttons.at(-1);
  for (const button of buttons) button.tabIndex = button === current ? 0 : -1;
}

/** Arrow keys, Home and End on a ⋯ button move to another message's ⋯ button. */
export function initMessageKeys() {
  const list = container();
  list.addEventListener("focusin", (event) => {
    if (!event.target.matches(".more")) return;
    rovingKey = event.target.closest(".msg").dataset.key;
    updateRoving();
  });
  list.addEventListener("keydown", (event) => {
    if (!event.target.matches(".more")) return;
    const buttons = actionButtons();
    const index = buttons.indexOf(event.target);
    const moves = { ArrowUp: index - 1, ArrowDown: index + 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = buttons[Math.min(Math.max(moves[event.key], 0), buttons.length - 1)];
    next.focus();
    next.closest(".msg").scrollIntoView({ block: "nearest" });
  });
}
