// What the user typed into each chat and has not sent yet. Kept per user in localStorage,
// so a draft survives switching chats and reloading; cleared on logout.

import { store } from "./store.js";

const drafts = new Map(); // chat id -> text
const storageKey = () => `chat.drafts.${store.me.id}`;

export function loadDrafts() {
  drafts.clear();
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) ?? "{}");
    for (const [chatId, text] of Object.entries(saved)) {
      if (typeof text === "string" && text) drafts.set(Number(chatId), text);
    }
  } catch {
    // A broken entry is only a lost draft.
  }
}

export function draftOf(chatId) {
  return drafts.get(chatId) ?? "";
}

/** Keep `text` as the chat's draft (blank text removes it); the chat list shows drafts. */
export function saveDraft(chatId, text) {
  if (!chatId || !store.me) return;
  const had = draftOf(chatId);
  if (text.trim()) drafts.set(chatId, text);
  else drafts.delete(chatId);
  if (had === draftOf(chatId)) return;
  localStorage.setItem(storageKey(), JSON.stringify(Object.fromEntries(drafts)));
  store.emit("chats");
}

export function clearDrafts() {
  if (store.me) localStorage.removeItem(storageKey());
  drafts.clear();
}
