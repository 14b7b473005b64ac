// The message box: Enter sends, Shift+Enter starts a new line, blank text is never sent
// (Send stays disabled), typing is announced, and each chat keeps its own draft.

import { draftOf, saveDraft } from "../drafts.js";
import { queueMessage } from "../outbox.js";
import { notify } from "../socket.js";
import { store } from "../store.js";
import { $ } from "./dom.js";

const TYPING_EVERY_MS = 3000;
const MAX_TEXT = 4096;
const MAX_HEIGHT = 160;

let lastTypingSent = 0;
let draftChatId = null; // the chat whose draft the box holds
let onSent = () => {};

const input = () => $("#composer-text");

function resize() {
  const box = input();
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, MAX_HEIGHT)}px`;
}

function updateSendButton() {
  $("#composer button[type=submit]").disabled = !input().value.trim();
}

/** `sent()` runs after a message was queued (the view scrolls to it). */
export function initComposer({ sent }) {
  onSent = sent;
  const form = $("#composer");
  const box = input();
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    resize();
    updateSendButton();
    box.setCustomValidity("");
    const now = Date.now();
    if (box.value.trim() && now - lastTypingSent > TYPING_EVERY_MS && store.activeChatId) {
      lastTypingSent = now;
      notify("typing", { chat_id: store.activeChatId });
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  // A reload or a closed tab keeps what was typed.
  window.addEventListener("pagehide", () => saveDraft(draftChatId, box.value));
  updateSendButton();
}

function submit() {
  const box = input();
  const text = box.value;
  const chatId = store.activeChatId;
  if (!chatId) return;
  if (!text.trim()) {
    setText(""); // only spaces: nothing to send, nothing worth keeping
    return;
  }
  if (text.length > MAX_TEXT) {
    box.setCustomValidity(`A message can have at most ${MAX_TEXT} characters.`);
    box.reportValidity();
    return;
  }
  queueMessage(chatId, text);
  lastTypingSent = 0;
  setText("");
  saveDraft(chatId, "");
  onSent();
}

function setText(text) {
  const box = input();
  box.value = text;
  box.setCustomValidity("");
  resize();
  updateSendButton();
}

/** The box now belongs to `chatId` (null: no chat open): keep the old chat's draft, show the new one's. */
export function switchComposer(chatId) {
  if (chatId === draftChatId) return;
  saveDraft(draftChatId, input().value);
  draftChatId = chatId;
  lastTypingSent = 0;
  setText(chatId ? draftOf(chatId) : "");
}

/** The session ends: keep what the box holds as its chat's draft, or drop it (logout). */
export function resetComposer({ keepDraft }) {
  if (keepDraft) saveDraft(draftChatId, input().value);
  draftChatId = null;
  setText("");
}
