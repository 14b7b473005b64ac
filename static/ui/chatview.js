// The open chat: header, opening at the first unread message (or at the bottom), older
// pages on scroll up, keeping to the bottom as messages arrive, and reading what the
// user has actually seen.

import { api } from "../api.js";
import { request } from "../socket.js";
import { store } from "../store.js";
import { initActions, openActions, toggleReaction } from "./actions.js";
import { initComposer, switchComposer } from "./composer.js";
import { $ } from "./dom.js";
import { container, initMessageKeys, renderList, resetMessages } from "./messages.js";
import { lastSeen } from "./time.js";

const PAGE_SIZE = 50;
const MAX_PAGE = 200; // the server's largest history page
const MAX_UNREAD_PAGES = 5; // how far back opening a chat goes to reach its first unread
const CONTEXT = 10; // read messages loaded above the first unread one

// The chat on screen. `ready` once it is positioned: until then nothing is marked read
// and arriving pages do not move the scroll position.
let view = { chatId: null, ready: false, unreadAfter: null };
let loadingOlder = false;
let readInFlight = 0;

export function initChatView({ onBack, onInfo }) {
  $("#back").addEventListener("click", onBack);
  $("#pane-back").addEventListener("click", onBack);
  $("#chat-info").addEventListener("click", () => onInfo(store.activeChatId));
  initComposer({ sent: () => renderMessages({ toBottom: true }) });
  initActions();
  initMessageKeys();

  const messages = container();
  let scheduled = false;
  messages.addEventListener("scroll", () => {
    if (scheduled || !view.ready) return;
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

function showPane({ chat }) {
  $("#no-chat-box").hidden = chat;
  $("#pane-back").hidden = true;
  $("#chat-view").hidden = !chat;
  document.body.classList.add("chat-open");
}

/** Open a chat: at its first unread message under an "Unread messages" line, else at the bottom. */
export async function showChat(chatId) {
  if (view.chatId === chatId) return; // already open
  resetMessages();
  view = { chatId, ready: false, unreadAfter: null };
  store.activeChatId = chatId;
  store.emit("active");
  showPane({ chat: true });
  switchComposer(chatId);
  renderHeader();
  renderMessages();

  await Promise.all([loadMembers(chatId), openHistory(chatId)]);
  if (view.chatId !== chatId) return;
  if (window.matchMedia("(min-width: 721px)").matches) $("#composer-text").focus({ preventScroll: true });
}

/** Back to the empty pane (phone: back to the chat list), with an optional notice. */
export function closeChat(notice = "Select a chat to start messaging") {
  view = { chatId: null, ready: false, unreadAfter: null };
  store.activeChatId = null;
  store.emit("active");
  switchComposer(null);
  resetMessages();
  $("#chat-view").hidden = true;
  $("#no-chat-box").hidden = false;
  $("#no-chat").textContent = notice;
  $("#pane-back").hidden = true;
  document.body.classList.remove("chat-open");
}

/** A link to a chat this user cannot see: say so where the chat would be. */
export function showChatNotFound() {
  closeChat("Chat not found");
  document.body.classList.add("chat-open"); // phones show the pane, with a way back
  $("#pane-back").hidden = false;
}

export async function loadMembers(chatId) {
  const chat = await api.chat(chatId);
  store.setMembers(chatId, chat.members ?? []);
  const me = store.members.get(chatId)?.get(store.me.id);
  if (me) store.applyOwnRead(chatId, me.last_read_seq);
}

// ---- history ----

function pageOf(data) {
  return Array.isArray(data) ? data : (data?.messages ?? data?.items ?? []);
}

/** The newest `limit` messages. */
async function loadNewest(chatId, limit) {
  const chat = store.chats.get(chatId);
  const log = store.log(chatId);
  // Keyset paging backwards from just past the newest message gives the newest page.
  const beforeSeq = Math.max(chat?.last_seq ?? 0, log.newestSeq) + 1;
  // Live messages kept before the first load may be far older than this page: drop them,
  // so the loaded messages run without gaps (ones arriving during the fetch are newer).
  log.confirmed.clear();
  log.early = new Map();
  let page;
  try {
    page = pageOf(await api.history(chatId, { limit, beforeSeq }));
  } catch (error) {
    log.early = null;
    throw error;
  }
  log.loaded = true;
  log.floorSeq = page.length > 0 ? page[0].seq : 1; // an empty page: nothing before beforeSeq
  store.addMessages(chatId, page);
  // Edits, deletions and reactions that arrived during the fetch (the newer pts wins).
  const early = [...log.early.values()];
  log.early = null;
  if (early.length > 0) store.applyChanges(chatId, early);
}

/** Load the page before the oldest loaded message, keeping what is on screen in place. */
async function loadOlder(limit = PAGE_SIZE) {
  const chatId = store.activeChatId;
  const log = chatId && store.logs.get(chatId);
  if (!log?.loaded || loadingOlder || !(log.oldestSeq > 1)) return;
  loadingOlder = true;
  try {
    const page = pageOf(await api.history(chatId, { limit, beforeSeq: log.oldestSeq }));
    if (store.activeChatId !== chatId) return;
    const messages = container();
    const before = messages.scrollHeight;
    if (page.length > 0) log.floorSeq = Math.min(log.floorSeq ?? Infinity, page[0].seq);
    store.addMessages(chatId, page);
    messages.scrollTop += messages.scrollHeight - before;
  } finally {
    loadingOlder = false;
  }
}

/** Load enough to show the first unread message, place the view, then start reading. */
async function openHistory(chatId) {
  const chat = store.chats.get(chatId);
  const watermark = chat?.last_read_seq ?? 0;
  const unread = Math.max(0, (chat?.last_seq ?? 0) - watermark);
  const log = store.log(chatId);
  const list = container();
  list.setAttribute("aria-busy", "true");
  try {
    if (!log.loaded) await loadNewest(chatId, Math.min(MAX_PAGE, Math.max(PAGE_SIZE, unread + CONTEXT)));
    for (let i = 0; i < MAX_UNREAD_PAGES && unread > 0 && log.oldestSeq > watermark + 1; i += 1) {
      if (view.chatId !== chatId) return;
      await loadOlder(MAX_PAGE);
    }
  } finally {
    if (view.chatId === chatId) list.setAttribute("aria-busy", "false");
  }
  if (view.chatId !== chatId) return;
  const myId = store.me.id;
  const unreadFromOthers = log.ordered().some((m) => m.seq > watermark && m.sender_id !== myId);
  view.unreadAfter = unreadFromOthers ? watermark : null;
  renderMessages();
  const divider = $("#unread-divider");
  // The divider near the top, with a little of what came before it.
  list.scrollTop = divider ? divider.offsetTop - 24 : list.scrollHeight;
  view.ready = true;
  await fillViewport(chatId);
  markVisibleRead();
}

const REVEAL_WAIT_MS = 10_000;
const HIGHLIGHT_MS = 2_000;

/** Scroll the open chat to message `seq` (loading older pages down to it) and highlight
 * it for a moment: where a search hit leads. */
export async function revealMessage(chatId, seq) {
  // Opening the chat may still be loading and placing its first page.
  const waitUntil = Date.now() + REVEAL_WAIT_MS;
  while (!(view.chatId === chatId && view.ready) && Date.now() < waitUntil) {
    if (view.chatId !== chatId) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const log = store.log(chatId);
  while (view.chatId === chatId && log.loaded && log.oldestSeq > seq) {
    const oldest = log.oldestSeq;
    await loadOlder(MAX_PAGE);
    if (log.oldestSeq >= oldest) break; // nothing older came back
  }
  if (view.chatId !== chatId) return;
  const node = container().querySelector(`.msg[data-seq="${seq}"]`);
  if (!node) return;
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), HIGHLIGHT_MS);
  markVisibleRead();
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

/** Render the open chat's messages; stay at the bottom if the user was there. */
export function renderMessages({ toBottom = false } = {}) {
  const chatId = store.activeChatId;
  if (!chatId) return;
  const messages = container();
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  renderList(chatId, {
    unreadAfter: view.unreadAfter,
    rerender: () => renderMessages(),
    onQuote: (seq) => revealMessage(chatId, seq),
    onActions: openActions,
    onReact: toggleReaction,
  });
  if (!view.ready) return;
  if (toBottom || atBottom) messages.scrollTop = messages.scrollHeight;
  markVisibleRead();
}

// ---- read marking ----

/** The newest message whose whole bubble (or, if taller than the view, a part) is on screen. */
function lastSeenSeq(messages) {
  const box = messages.getBoundingClientRect();
  const shown = messages.querySelectorAll(".msg[data-seq]");
  for (let i = shown.length - 1; i >= 0; i -= 1) {
    const rect = shown[i].getBoundingClientRect();
    const whole = rect.bottom <= box.bottom + 1 && rect.top >= box.top - 1;
    const fillsView = rect.top < box.bottom && rect.bottom > box.top && rect.height >= box.height;
    if (whole || fillsView) return Number(shown[i].dataset.seq);
    if (rect.bottom < box.top) return 0; // everything further up is above the view
  }
  return 0;
}

/** Tell the server how far the user has actually seen: messages on screen, focused tab. */
export function markVisibleRead() {
  const chatId = store.activeChatId;
  const chat = store.chats.get(chatId);
  if (!chat || !store.connected || !view.ready || view.chatId !== chatId) return;
  if (document.visibilityState !== "visible" || !document.hasFocus()) return;
  const messages = container();
  if (messages.offsetParent === null) return; // hidden (phone layout showing the list)

  const seq = lastSeenSeq(messages);
  if (seq <= (chat.last_read_seq ?? 0) || seq <= readInFlight) return;
  readInFlight = seq;
  request("read", { chat_id: chatId, seq })
    .then((ack) => store.applyOwnRead(chatId, ack.last_read_seq ?? seq))
    .catch(() => {}) // offline: the next connect marks it again
    .finally(() => {
      if (readInFlight === seq) readInFlight = 0;
    });
}
