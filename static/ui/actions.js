// What can be done to a sent message (docs/protocol.md, "Message lifecycle"): a small
// menu next to its bubble with a reaction bar, Reply, Copy text, Edit (mine) and Delete
// (mine, or any in a group I created). Every change goes to the server; the page shows it when the
// answer (or the `message_updated` every tab receives) comes back.

import { request } from "../socket.js";
import { store } from "../store.js";
import { startEdit, startReply } from "./composer.js";
import { confirmDialog } from "./dialogs.js";
import { $, el } from "./dom.js";
import { explain, showNotice } from "./notice.js";

// The server's allow-list, in its order.
export const REACTIONS = ["👍", "👎", "❤️", "🔥", "😂", "😮", "😢", "🎉", "🙏", "👀"];

let menu = null; // {node, bubble, button} of the open menu

/** Send a change (`edit_message`, `delete_message`, `react`) and apply the answer. */
export async function change(event, payload) {
  try {
    const ack = await request(event, payload);
    if (ack.message) store.applyChanges(payload.chat_id, [ack.message]);
    return true;
  } catch (error) {
    showNotice(explain(error));
    return false;
  }
}

function myReaction(message) {
  return message.reactions?.find((reaction) => reaction.user_ids?.includes(store.me.id))?.emoji ?? null;
}

/** Set or (the same emoji again) take back my reaction. */
export function toggleReaction(message, emoji) {
  if (!message.seq || message.deleted) return;
  const next = myReaction(message) === emoji ? null : emoji;
  change("react", { chat_id: message.chat_id, seq: message.seq, emoji: next });
}

function canDelete(message) {
  if (message.sender_id === store.me.id) return true;
  const chat = store.chats.get(message.chat_id);
  const me = store.members.get(message.chat_id)?.get(store.me.id);
  return chat?.type === "group" && me?.role === "owner";
}

async function deleteMessage(message) {
  const mine = message.sender_id === store.me.id;
  const confirmed = await confirmDialog({
    title: "Delete message",
    text: mine
      ? "Delete this message for everyone in the chat?"
      : `Delete ${store.userName(message.sender_id)}'s message for everyone in the chat?`,
    confirm: "Delete",
  });
  if (confirmed) change("delete_message", { chat_id: message.chat_id, seq: message.seq });
}

export function closeActions({ restoreFocus = false } = {}) {
  if (!menu) return;
  const { node, button } = menu;
  menu = null;
  node.remove();
  button.closest(".msg")?.classList.remove("menu-open");
  document.removeEventListener("pointerdown", onOutside, true);
  if (restoreFocus) button.focus({ preventScroll: true });
}

function onOutside(event) {
  if (menu && !menu.node.contains(event.target) && !menu.button.contains(event.target)) closeActions();
}

/** Open the actions of `message` next to its bubble; `button` gets the focus back. */
export function openActions(message, bubble, button) {
  const wasOpen = menu?.button === button;
  closeActions();
  if (wasOpen || !message.seq || message.deleted) return; // the ⋯ button toggles
  const mine = message.sender_id === store.me.id;
  const current = myReaction(message);
  const act = (fn) => () => {
    closeActions();
    fn();
  };
  const bar = el(
    "div",
    { class: "reaction-bar", role: "group", "aria-label": "React" },
    REACTIONS.map((emoji) =>
      el(
        "button",
        {
          type: "button",
          class: "react",
          "aria-label": `React with ${emoji}`,
          "aria-pressed": String(current === emoji),
          onclick: act(() => toggleReaction(message, emoji)),
        },
        emoji,
      ),
    ),
  );
  const item = (label, icon, fn, extra = "") =>
    el("button", { type: "button", class: `menu-item ${extra}`, onclick: act(fn) }, el("span", { "aria-hidden": "true", class: "icon" }, icon), label);
  const node = el(
    "div",
    { class: "msg-menu", role: "group", "aria-label": "Message actions" },
    bar,
    item("Reply", "↩", () => startReply(message)),
    // The menu takes the place of the browser's own (right click): copying stays possible.
    navigator.clipboard ? item("Copy text", "📋", () => navigator.clipboard.writeText(message.text).catch(() => {})) : null,
    mine ? item("Edit", "✎", () => startEdit(message)) : null,
    canDelete(message) ? item("Delete", "🗑", () => deleteMessage(message), "danger") : null,
  );
  node.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeActions({ restoreFocus: true });
    }
  });
  document.body.append(node);
  place(node, bubble);
  bubble.classList.add("menu-open");
  menu = { node, bubble, button };
  document.addEventListener("pointerdown", onOutside, true);
  node.querySelector("button").focus({ preventScroll: true });
}

/** Below the bubble if it fits, else above; on the bubble's side, inside the window. */
function place(node, bubble) {
  const rect = bubble.getBoundingClientRect();
  const box = node.getBoundingClientRect();
  const margin = 8;
  let top = rect.bottom + 4;
  if (top + box.height > window.innerHeight - margin) top = Math.max(margin, rect.top - box.height - 4);
  const mine = bubble.classList.contains("out");
  let left = mine ? rect.right - box.width : rect.left;
  left = Math.min(Math.max(margin, left), window.innerWidth - box.width - margin);
  node.style.top = `${top}px`;
  node.style.left = `${left}px`;
}

/** The menu follows its bubble as the chat scrolls or the window changes; closes once the
 * bubble is out of sight (or another chat opens). */
function follow() {
  if (!menu) return;
  const list = $("#messages").getBoundingClientRect();
  const rect = menu.bubble.getBoundingClientRect();
  if (!menu.bubble.isConnected || rect.bottom < list.top || rect.top > list.bottom) closeActions();
  else place(menu.node, menu.bubble);
}

export function initActions() {
  $("#messages").addEventListener("scroll", follow, { passive: true });
  window.addEventListener("resize", follow);
  store.on("active", () => closeActions());
}
