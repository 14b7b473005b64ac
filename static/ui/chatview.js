// The open chat: header, messages (newest page first, older pages on scroll up), delivery
// ticks, read marking while visible, and the composer.

import { api } from "../api.js";
import { queueMessage } from "../outbox.js";
import { notify, request } from "../socket.js";
import { store } from "../store.js";
import { clockTime, dayLabel, fullTime, lastSeen } from "../util.js";
import { $, el } from "./dom.js";

const PAGE_SIZE = 50;
const TYPING_EVERY_MS = 3000;
const MAX_TEXT = 4096;

const nodes = new Map(); // key -> element of the active chat, reused between renders
const expanded = new Set(); // own group messages whose "read by" line is open
let loadingOlder = false;
let readInFlight = 0;
let lastTypingSent = 0;

const container = () => $("#messages");

export function initChatView({ onBack, onInfo }) {
  $("#back").addEventListener("click", onBack);
  $("#chat-info").addEventListener("click", () => onInfo(store.activeChatId));
  initComposer();

  const messages = container();
  let scheduled = false;
  messages.addEventListener("scroll", () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      if (messages.scrollTop < 120) loadOlder();
      markVisibleRead();
    });
  });
  window.addEventListener("focus", markVisibleRead);
  window.addEventListener("resize", markVisibleRead);
  document.addEventListener("visibilitychange", markVisibleRead);

  store.on("messages", (chatId) => chatId === store.activeChatId && renderMessages());
  store.on("members", (chatId) => chatId === store.activeChatId && (renderMessages(), renderHeader()));
  for (const name of ["presence", "typing", "connection", "chats"]) store.on(name, renderHeader);
  store.on("connection", markVisibleRead);
}

/** Open a chat: show what is cached at once, then fetch members and the newest page. */
export async function showChat(chatId) {
  if (store.activeChatId !== chatId) {
    nodes.clear();
    expanded.clear();
    container().replaceChildren();
  }
  store.activeChatId = chatId;
  store.emit("active");
  $("#no-chat").hidden = true;
  $("#chat-view").hidden = false;
  document.body.classList.add("chat-open");
  renderHeader();
  renderMessages({ toBottom: true });

  const log = store.log(chatId);
  await Promise.all([loadMembers(chatId), log.loaded ? null : loadNewest(chatId)]);
  if (store.activeChatId !== chatId) return;
  renderMessages({ toBottom: true });
  await fillViewport(chatId);
  markVisibleRead();
  if (window.matchMedia("(min-width: 721px)").matches) $("#composer-text").focus();
}

/** Back to the empty pane (phone: back to the chat list), with an optional notice. */
export function closeChat(notice = "Select a chat to start messaging") {
  store.activeChatId = null;
  store.emit("active");
  nodes.clear();
  container().replaceChildren();
  $("#chat-view").hidden = true;
  $("#no-chat").hidden = false;
  $("#no-chat").textContent = notice;
  document.body.classList.remove("chat-open");
}

export async function loadMembers(chatId) {
  const chat = await api.chat(chatId);
  store.setMembers(chatId, chat.members ?? []);
  const me = store.members.get(chatId)?.get(store.me.id);
  if (me) store.applyOwnRead(chatId, me.last_read_seq);
}

function pageOf(data) {
  return Array.isArray(data) ? data : (data?.messages ?? data?.items ?? []);
}

async function loadNewest(chatId) {
  const chat = store.chats.get(chatId);
  const log = store.log(chatId);
  // Keyset paging backwards from just past the newest message gives the newest page.
  const beforeSeq = Math.max(chat?.last_seq ?? 0, log.newestSeq) + 1;
  // Live messages kept before the first load may be far older than this page: drop them,
  // so the loaded messages run without gaps (ones arriving during the fetch are newer).
  log.confirmed.clear();
  const page = pageOf(await api.history(chatId, { limit: PAGE_SIZE, beforeSeq }));
  log.loaded = true;
  store.addMessages(chatId, page);
}

/** Load the page before the oldest loaded message, keeping the scroll position. */
async function loadOlder() {
  const chatId = store.activeChatId;
  const log = chatId && store.logs.get(chatId);
  if (!log?.loaded || loadingOlder || !(log.oldestSeq > 1)) return;
  loadingOlder = true;
  try {
    const page = pageOf(await api.history(chatId, { limit: PAGE_SIZE, beforeSeq: log.oldestSeq }));
    if (store.activeChatId !== chatId) return;
    const messages = container();
    const before = messages.scrollHeight;
    store.addMessages(chatId, page);
    messages.scrollTop += messages.scrollHeight - before;
  } finally {
    loadingOlder = false;
  }
}

/** Short chats leave no room to scroll, so load older pages until the view is full. */
async function fillViewport(chatId) {
  const messages = container();
  for (let i = 0; i < 10 && store.activeChatId === chatId; i += 1) {
    const log = store.log(chatId);
    if (!(log.oldestSeq > 1) || messages.scrollHeight > messages.clientHeight) return;
    await loadOlder();
  }
}

// ---- header ----

function statusText(chat) {
  if (!store.connected) return "connecting…";
  const typers = store.typers(chat.id);
  if (typers.length === 1) {
    return chat.type === "group" ? `${store.userName(typers[0])} is typing…` : "typing…";
  }
  if (typers.length > 1) return `${typers.length} people are typing…`;
  if (chat.type === "private") {
    const peer = store.peerOf(chat);
    const presence = peer && store.presence.get(peer.id);
    if (!presence) return ""; // not reported yet: say nothing rather than guess
    return presence.online ? "online" : lastSeen(presence.last_seen);
  }
  const members = [...(store.members.get(chat.id)?.values() ?? [])];
  const online = members.filter((m) => store.presence.get(m.id)?.online).length;
  const count = members.length || chat.member_count || 0;
  return `${count} member${count === 1 ? "" : "s"}${online ? `, ${online} online` : ""}`;
}

function renderHeader() {
  const chat = store.chats.get(store.activeChatId);
  if (!chat) return;
  $("#chat-title").textContent = store.chatTitle(chat);
  const status = $("#chat-status");
  status.textContent = statusText(chat);
  status.classList.toggle("online", status.textContent === "online" || status.textContent.endsWith("typing…"));
  $("#chat-info").hidden = chat.type !== "group";
}

// ---- messages ----

function messageKey(message) {
  return `${message.sender_id}:${message.client_msg_id ?? `id-${message.id}`}`;
}

function daySeparator(iso) {
  const key = `day:${new Date(iso).toDateString()}`;
  let node = nodes.get(key);
  if (!node) {
    node = el("div", { class: "day", role: "separator" }, el("span", {}, dayLabel(iso)));
    nodes.set(key, node);
  }
  return node;
}

function deliveryState(message) {
  if (message.failed) return ["failed", "⚠", `Not sent: ${message.failed}`];
  if (message.pending) return ["pending", "◷", "Sending…"];
  if (store.isRead(message)) return ["read", "✓✓", "Read"];
  return ["sent", "✓", "Sent"];
}

function readersText(message) {
  const readers = store.readersOf(message.chat_id, message.seq);
  if (readers === null) return "Loading…";
  if (readers.length === 0) return "Not read by anyone yet";
  return `Read by ${readers.map((member) => member.name ?? store.userName(member.id)).join(", ")}`;
}

function createMessageNode(message, key) {
  const mine = message.sender_id === store.me.id;
  const node = el(
    "div",
    { class: mine ? "msg out" : "msg in", dataset: { key } },
    el("div", { class: "sender" }, store.userName(message.sender_id)),
    el("div", { class: "text" }, message.text),
    el(
      "div",
      { class: "meta" },
      el("time", {}, ""),
      mine ? el("span", { class: "status" }) : null,
    ),
    el("div", { class: "readers", hidden: true }),
  );
  if (mine) {
    node.addEventListener("click", () => toggleReaders(node));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggleReaders(node);
      }
    });
  }
  return node;
}

function toggleReaders(node) {
  const chat = store.chats.get(store.activeChatId);
  if (chat?.type !== "group" || !node.dataset.seq) return;
  const key = node.dataset.key;
  if (expanded.has(key)) expanded.delete(key);
  else expanded.add(key);
  renderMessages();
}

function updateMessageNode(node, message, { continued, group }) {
  const mine = message.sender_id === store.me.id;
  node.classList.toggle("continued", continued);
  if (message.seq) node.dataset.seq = message.seq;
  const sender = node.querySelector(".sender");
  sender.hidden = mine || continued;
  sender.textContent = store.userName(message.sender_id); // names may arrive after the text
  const time = node.querySelector("time");
  time.textContent = clockTime(message.created_at);
  time.dateTime = message.created_at ?? "";
  time.title = fullTime(message.created_at);
  if (!mine) return;

  const [state, symbol, label] = deliveryState(message);
  node.dataset.status = state;
  const status = node.querySelector(".status");
  status.textContent = symbol;
  status.title = label;
  status.setAttribute("aria-label", label);
  const readers = node.querySelector(".readers");
  const showReaders = group && message.seq && expanded.has(node.dataset.key);
  readers.hidden = !showReaders && !message.failed;
  readers.textContent = message.failed ? label : showReaders ? readersText(message) : "";
  if (group && message.seq) {
    node.tabIndex = 0;
    node.title = "Show who has read it";
  }
}

/** Bring the DOM in line with the store, reusing nodes so selection and focus survive. */
export function renderMessages({ toBottom = false } = {}) {
  const chatId = store.activeChatId;
  if (!chatId) return;
  const messages = container();
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  const group = store.chats.get(chatId)?.type === "group";
  const log = store.log(chatId);

  const wanted = [];
  if (log.loaded && log.oldestSeq > 1) wanted.push(nodes.get("older") ?? olderHint());
  let previous = null;
  for (const message of log.ordered()) {
    const day = new Date(message.created_at).toDateString();
    const newDay = !previous || new Date(previous.created_at).toDateString() !== day;
    if (newDay) wanted.push(daySeparator(message.created_at));
    const key = messageKey(message);
    let node = nodes.get(key);
    if (!node) {
      node = createMessageNode(message, key);
      nodes.set(key, node);
    }
    const continued = !newDay && previous.sender_id === message.sender_id;
    updateMessageNode(node, message, { continued, group });
    wanted.push(node);
    previous = message;
  }
  if (log.loaded && wanted.length === 0) wanted.push(el("p", { class: "empty-hint" }, "No messages yet — say hi!"));

  wanted.forEach((node, index) => {
    if (messages.children[index] !== node) messages.insertBefore(node, messages.children[index] ?? null);
  });
  while (messages.children.length > wanted.length) messages.lastElementChild.remove();

  if (toBottom || atBottom) messages.scrollTop = messages.scrollHeight;
  markVisibleRead();
}

function olderHint() {
  const node = el("div", { class: "older-hint" }, "Scroll up for older messages");
  nodes.set("older", node);
  return node;
}

// ---- read marking ----

/** Tell the server how far the user has actually seen: visible messages, focused tab. */
export function markVisibleRead() {
  const chatId = store.activeChatId;
  const chat = store.chats.get(chatId);
  if (!chat || !store.connected) return;
  if (document.visibilityState !== "visible" || !document.hasFocus()) return;
  const messages = container();
  if (messages.offsetParent === null) return; // hidden (phone layout showing the list)

  const box = messages.getBoundingClientRect();
  let seq = 0;
  const seen = messages.querySelectorAll(".msg[data-seq]");
  for (let i = seen.length - 1; i >= 0; i -= 1) {
    const rect = seen[i].getBoundingClientRect();
    if (rect.top < box.bottom && rect.bottom > box.top) {
      seq = Number(seen[i].dataset.seq);
      break;
    }
  }
  if (seq <= (chat.last_read_seq ?? 0) || seq <= readInFlight) return;
  readInFlight = seq;
  request("read", { chat_id: chatId, seq })
    .then((ack) => store.applyOwnRead(chatId, ack.last_read_seq ?? seq))
    .catch(() => {}) // offline: the next connect marks it again
    .finally(() => {
      if (readInFlight === seq) readInFlight = 0;
    });
}

// ---- composer ----

function initComposer() {
  const form = $("#composer");
  const input = $("#composer-text");
  const resize = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    resize();
    const now = Date.now();
    if (input.value.trim() && now - lastTypingSent > TYPING_EVERY_MS && store.activeChatId) {
      lastTypingSent = now;
      notify("typing", { chat_id: store.activeChatId });
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim() || !store.activeChatId) return;
    if (text.length > MAX_TEXT) {
      input.setCustomValidity(`A message can have at most ${MAX_TEXT} characters.`);
      input.reportValidity();
      return;
    }
    input.setCustomValidity("");
    queueMessage(store.activeChatId, text);
    input.value = "";
    lastTypingSent = 0;
    resize();
    renderMessages({ toBottom: true });
  });
}
