// The message box: Enter sends, Shift+Enter starts a new line, blank text is never sent
// (Send stays disabled), typing is announced, and each chat keeps its own draft. It can
// also answer a message (a "Replying to" bar over it) or edit one of mine (the text in the
// box, Enter saves, Escape cancels and brings the draft back).

import { draftOf, saveDraft } from "../drafts.js";
import { queueMessage } from "../outbox.js";
import { notify, request } from "../socket.js";
import { store } from "../store.js";
import { $ } from "./dom.js";
import { explain, showNotice } from "./notice.js";

const TYPING_EVERY_MS = 3000;
const MAX_TEXT = 4096;
const MAX_HEIGHT = 160;

let lastTypingSent = 0;
let draftChatId = null; // the chat whose draft the box holds
let onSent = () => {};
// null, {kind: "reply", chatId, quote: {seq, sender_id, text}}, or
// {kind: "edit", chatId, seq, original, draft}: the draft comes back when editing ends.
let mode = null;

const input = () => $("#composer-text");

function resize() {
  const box = input();
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, MAX_HEIGHT)}px`;
}

function updateSendButton() {
  const button = $("#composer button[type=submit]");
  button.disabled = !input().value.trim();
  button.textContent = mode?.kind === "edit" ? "Save" : "Send";
}

/** What the box would keep as its chat's draft (not the text of a message being edited). */
function draftText() {
  return mode?.kind === "edit" ? mode.draft : input().value;
}

const quoteText = (message) =>
  message.deleted || message.text == null ? null : Array.from(message.text).slice(0, 100).join("");

function renderContext() {
  const bar = $("#composer-context");
  bar.hidden = !mode;
  if (!mode) return;
  const replying = mode.kind === "reply";
  $("#composer-context-icon").textContent = replying ? "↩" : "✎";
  $("#composer-context-title").textContent = replying
    ? `Replying to ${store.userName(mode.quote.sender_id)}`
    : "Editing";
  const text = replying ? mode.quote.text : mode.original;
  $("#composer-context-text").textContent = text ?? "Deleted message";
  $("#composer-context-cancel").setAttribute("aria-label", replying ? "Cancel reply" : "Cancel editing");
}

/** Answer `message`: the next message sent from the box quotes it. */
export function startReply(message) {
  if (mode?.kind === "edit") endMode();
  mode = { kind: "reply", chatId: message.chat_id, quote: { seq: message.seq, sender_id: message.sender_id, text: quoteText(message) } };
  renderContext();
  input().focus();
}

/** Edit my `message`: its text goes into the box; what was typed there waits. */
export function startEdit(message) {
  const draft = draftText();
  mode = { kind: "edit", chatId: message.chat_id, seq: message.seq, original: message.text, draft };
  setText(message.text);
  renderContext();
  const box = input();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

/** Leave reply or edit mode; editing gives the box its draft back. */
export function endMode() {
  if (!mode) return;
  const wasEditing = mode.kind === "edit" ? mode : null;
  mode = null;
  if (wasEditing) setText(wasEditing.draft);
  renderContext();
  updateSendButton();
}

async function saveEdit(text) {
  const editing = mode;
  if (text === editing.original) {
    endMode();
    return;
  }
  try {
    const ack = await request("edit_message", { chat_id: editing.chatId, seq: editing.seq, text });
    store.applyChanges(editing.chatId, [ack.message]);
    if (mode === editing) endMode();
  } catch (error) {
    // The edit stays in the box, to save again or cancel.
    showNotice(explain(error, { offline: "You are offline. The message was not changed yet." }));
  }
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
    } else if (event.key === "Escape" && mode && !event.isComposing) {
      event.preventDefault();
      endMode();
    }
  });
  $("#composer-context-cancel").addEventListener("click", () => {
    endMode();
    box.focus();
  });
  box.addEventListener("input", () => {
    resize();
    updateSendButton();
    box.setCustomValidity("");
    const now = Date.now();
    const writing = mode?.kind !== "edit"; // editing an old message is not typing a new one
    if (writing && box.value.trim() && now - lastTypingSent > TYPING_EVERY_MS && store.activeChatId) {
      lastTypingSent = now;
      notify("typing", { chat_id: store.activeChatId });
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  // The message being answered or edited changed meanwhile (in another tab, by someone else).
  store.on("messages", (chatId) => {
    if (!mode || mode.chatId !== chatId) return;
    const current = store.logs.get(chatId)?.confirmed.get(mode.kind === "edit" ? mode.seq : mode.quote.seq);
    if (!current) return;
    if (mode.kind === "edit" && current.deleted) {
      endMode();
      showNotice("The message was deleted.");
    } else if (mode.kind === "reply" && quoteText(current) !== mode.quote.text) {
      mode.quote = { ...mode.quote, text: quoteText(current) };
      renderContext();
    }
  });
  // A reload or a closed tab keeps what was typed.
  window.addEventListener("pagehide", () => saveDraft(draftChatId, draftText()));
  updateSendButton();
}

function submit() {
  const box = input();
  const text = box.value;
  const chatId = store.activeChatId;
  if (!chatId) return;
  if (!text.trim()) {
    if (mode?.kind === "edit") return; // an edit cannot empty a message (Send stays disabled)
    setText(""); // only spaces: nothing to send, nothing worth keeping
    return;
  }
  if (text.length > MAX_TEXT) {
    box.setCustomValidity(`A message can have at most ${MAX_TEXT} characters.`);
    box.reportValidity();
    return;
  }
  if (mode?.kind === "edit") {
    saveEdit(text);
    return;
  }
  const replyTo = mode?.kind === "reply" ? mode.quote : null;
  mode = null;
  renderContext();
  queueMessage(chatId, text, replyTo);
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
  endMode(); // a reply or an edit belongs to the chat it started in
  saveDraft(draftChatId, input().value);
  draftChatId = chatId;
  lastTypingSent = 0;
  setText(chatId ? draftOf(chatId) : "");
}

/** The session ends: keep what the box holds as its chat's draft, or drop it (logout). */
export function resetComposer({ keepDraft }) {
  endMode();
  if (keepDraft) saveDraft(draftChatId, input().value);
  draftChatId = null;
  setText("");
}
