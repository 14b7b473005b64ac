// The list of chats in the sidebar: name, last message, time, unread counter, online dot.

import { draftOf } from "../drafts.js";
import { store } from "../store.js";
import { avatar } from "./avatar.js";
import { $, el, setChildren } from "./dom.js";
import { ticks } from "./ticks.js";
import { shortTime } from "./time.js";

let openChat = () => {};

export function initChatList({ onOpen }) {
  openChat = onOpen;
  for (const name of ["chats", "presence", "typing", "active"]) store.on(name, render);
}

function preview(chat) {
  const typers = store.typers(chat.id);
  if (typers.length > 0) {
    const who = chat.type === "group" ? `${store.userName(typers[0])} is ` : "";
    return el("span", { class: "typing-hint" }, `${who}typing…`);
  }
  const draft = chat.id !== store.activeChatId && draftOf(chat.id);
  if (draft) return el("span", {}, el("span", { class: "draft" }, "Draft: "), draft);
  const last = chat.last_message;
  if (!last) return el("span", { class: "muted" }, chat.type === "group" ? "Group created" : "No messages yet");
  const mine = last.sender_id === store.me.id;
  const prefix = mine ? "You: " : chat.type === "group" ? `${store.userName(last.sender_id)}: ` : "";
  if (last.deleted) return el("span", { class: "muted deleted-preview" }, "Message deleted");
  return el("span", {}, prefix, last.text);
}

function tick(chat) {
  const last = chat.last_message;
  if (!last || last.deleted || last.sender_id !== store.me.id) return null;
  return ticks(store.isRead(last) ? "read" : "sent");
}

function item(chat) {
  const peer = store.peerOf(chat);
  // No dot until the server has told us either way.
  const presence = peer ? store.presence.get(peer.id) : undefined;
  const online = presence ? Boolean(presence.online) : null;
  const title = store.chatTitle(chat);
  const unread = chat.unread_count ?? 0;
  const active = chat.id === store.activeChatId;
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: active ? "chat-item active" : "chat-item",
        dataset: { chatId: chat.id },
        "aria-current": active ? "true" : null,
        onclick: () => openChat(chat.id),
      },
      avatar(title, { id: peer?.id ?? chat.id, online }), // a person keeps one colour everywhere
      el(
        "span",
        { class: "chat-item-body" },
        el(
          "span",
          { class: "chat-item-top" },
          el("span", { class: "chat-name" }, title),
          online ? el("span", { class: "visually-hidden" }, ", online") : null,
          el("span", { class: "chat-time" }, tick(chat), " ", shortTime(chat.last_message?.created_at)),
        ),
        el(
          "span",
          { class: "chat-item-bottom" },
          el("span", { class: "chat-preview" }, preview(chat)),
          // The number for the eye, a sentence for screen readers.
          unread > 0 ? el("span", { class: "badge", "aria-hidden": "true" }, String(unread)) : null,
          unread > 0 ? el("span", { class: "visually-hidden" }, `, ${unread} unread`) : null,
        ),
      ),
    ),
  );
}

export function render() {
  if (!store.me) return;
  const chats = store.sortedChats();
  // Re-rendering replaces the buttons; keep keyboard focus on the same chat.
  const focused = document.activeElement?.closest?.("#chat-list .chat-item")?.dataset.chatId;
  setChildren($("#chat-list"), chats.map(item));
  if (focused) $(`#chat-list .chat-item[data-chat-id="${focused}"]`)?.focus();
  $("#chat-list-empty").hidden = chats.length > 0;
  const unread = chats.reduce((sum, chat) => sum + (chat.unread_count ?? 0), 0);
  document.title = unread > 0 ? `(${unread}) Chat` : "Chat";
}
