// Entry point: session start and end, and the glue between the server's events and the views.

import { api, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { clearDrafts, loadDrafts } from "./drafts.js";
import { clearOutbox, pump, restoreOutbox } from "./outbox.js";
import { clearRoute, goBack, goToChat, initRouter, route, showList } from "./router.js";
import { AckError, connect, disconnect, request } from "./socket.js";
import { store } from "./store.js";
import { initAuth, showAuth } from "./ui/auth.js";
import { initChatList } from "./ui/chatlist.js";
import {
  closeChat,
  initChatView,
  loadMembers,
  markVisibleRead,
  revealMessage,
  showChat,
  showChatNotFound,
} from "./ui/chatview.js";
import { resetComposer } from "./ui/composer.js";
import { $ } from "./ui/dom.js";
import { closeDialog, groupDialog, newChatDialog, newGroupDialog } from "./ui/dialogs.js";
import { clearSearch, initSearch } from "./ui/search.js";

const SYNC_LIMIT = 100;
const NOT_A_MEMBER = "You are no longer a member of that chat.";

async function startSession() {
  const me = await api.me();
  store.reset();
  store.me = me;
  store.rememberUsers([me]);
  loadDrafts();
  $("#me-name").textContent = me.name;
  $("#connection-state").textContent = "connecting…";
  $("#auth-view").hidden = true;
  $("#app-view").hidden = false;
  closeChat();
  await refreshChats();
  route(); // a reload or a shared link opens its chat
  restoreOutbox();
  connect({ onConnect, onUnauthorized: expired, handlers: serverEvents });
}

/** Log out (no message), or the session expired (a message): then drafts and the URL
 * stay, for logging in again. */
function endSession(message) {
  const loggingOut = !message;
  disconnect();
  clearOutbox();
  resetComposer({ keepDraft: !loggingOut });
  if (loggingOut) {
    clearDrafts();
    clearRoute();
  }
  closeDialog();
  clearSearch();
  setToken(null);
  store.reset();
  showAuth(message);
}

let expiring = false;
function expired() {
  if (expiring) return;
  expiring = true;
  endSession("Your session has expired. Please log in again.");
  expiring = false;
}

let chatsInFlight = null;
let chatsAgain = false;

/** Fetch the chat list. One fetch at a time; calls during it share one more fetch after it. */
function refreshChats() {
  if (chatsInFlight) {
    chatsAgain = true;
    return chatsInFlight;
  }
  chatsInFlight = (async () => {
    const list = $("#chat-list");
    list.setAttribute("aria-busy", "true");
    try {
      do {
        chatsAgain = false;
        store.beginChatsFetch();
        store.setChats(await api.chats());
      } while (chatsAgain);
    } finally {
      chatsInFlight = null;
      list.setAttribute("aria-busy", "false");
    }
    if (store.activeChatId && !store.chats.has(store.activeChatId)) closeWithNotice(NOT_A_MEMBER);
    loadMissingNames();
  })();
  return chatsInFlight;
}

/** The chat list names the last sender of a group; fetch members whose names are unknown. */
function loadMissingNames() {
  for (const chat of store.chats.values()) {
    const sender = chat.last_message?.sender_id;
    if (chat.type === "group" && sender && !store.users.has(sender) && !store.members.has(chat.id)) {
      loadMembers(chat.id).catch(() => {});
    }
  }
}

/**
 * Fetch what changed in a chat while this page was not listening: `sync {after_pts}` gives
 * every message sent, edited, deleted or reacted to since the highest `pts` this page had
 * seen when the connection dropped (not since the highest now: a live event may already
 * have arrived beyond the gap). New messages are changes too, so this replaces the
 * `after_seq` catch-up.
 */
async function syncChat(chatId) {
  const log = store.logs.get(chatId);
  if (!log?.loaded) return;
  let afterPts = log.resumePts ?? log.maxPts;
  for (;;) {
    let page;
    try {
      page = (await request("sync", { chat_id: chatId, after_pts: afterPts, limit: SYNC_LIMIT })).messages ?? [];
    } catch (error) {
      // Removed from the group (or it was deleted) while this page was offline.
      if (error instanceof AckError && error.code === "not_found") leaveChat(chatId);
      else throw error;
      return;
    }
    if (store.logs.get(chatId) !== log) return; // left meanwhile
    store.applyChanges(chatId, page);
    if (page.length < SYNC_LIMIT) break;
    afterPts = page[page.length - 1].pts;
  }
  log.resumePts = null;
}

/** The chat is no longer mine: drop it, and close it if it is on screen. */
function leaveChat(chatId) {
  const wasOpen = store.activeChatId === chatId;
  store.removeChat(chatId);
  if (wasOpen) closeWithNotice(NOT_A_MEMBER);
}

/** The app closed the open chat (left, removed, deleted): the URL goes back to the list. */
function closeWithNotice(notice) {
  closeChat(notice);
  showList();
}

/** Runs after every connect: send what waits, catch up, refresh counters and watermarks. */
async function onConnect() {
  pump();
  try {
    // Settled, not all: one chat that fails to catch up must not stop the rest of this.
    const syncs = await Promise.allSettled([...store.logs.keys()].map(syncChat));
    for (const failed of syncs.filter((result) => result.status === "rejected")) {
      console.warn("catch-up of a chat failed:", failed.reason?.message);
    }
    await refreshChats();
    if (store.activeChatId) await loadMembers(store.activeChatId);
    markVisibleRead();
  } catch (error) {
    // A dropped connection mid-way is retried on the next connect.
    console.warn("catch-up after connect failed:", error.message);
  }
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refreshChats().catch(() => {}), 300);
}

const serverEvents = {
  message(message) {
    const chat = store.chats.get(message.chat_id);
    if (!chat) {
      refreshSoon();
      return;
    }
    store.setTyping(message.chat_id, message.sender_id, false);
    // A fetched chat list may already have counted it (it can overtake the event).
    const counted = message.seq <= (chat.counted_seq ?? 0);
    const fresh = store.addMessages(message.chat_id, [message]);
    const fromOther = message.sender_id !== store.me.id;
    if (fresh.length > 0 && !counted && fromOther && message.seq > (chat.last_read_seq ?? 0)) {
      chat.unread_count = (chat.unread_count ?? 0) + 1;
      store.emit("chats");
      markVisibleRead(); // an open, focused chat reads it right away
    }
  },
  message_updated(message) {
    // An edit, a deletion or a reaction: every tab of every member applies it (older pts
    // than the page holds are ignored by the store).
    if (!store.chats.has(message.chat_id)) return;
    store.applyChanges(message.chat_id, [message]);
    // A deleted message leaves the unread count and may have been the list's last one.
    if (message.deleted) refreshSoon();
  },
  messages_read: (payload) => store.markRead(payload),
  read_receipt: (payload) => store.applyReadReceipt(payload),
  typing: ({ chat_id: chatId, user_id: userId }) => {
    if (userId !== store.me.id) store.setTyping(chatId, userId, true);
  },
  presence: (payload) => store.setPresence(payload),
  chat_joined(chat) {
    if (chat?.id !== undefined) store.upsertChat(chat);
    refreshSoon();
  },
  chat_updated(chat) {
    // A group was renamed: keep the list's counters, take the new name.
    if (chat?.id !== undefined) store.renameChat(chat.id, chat.name);
  },
  chat_left: ({ chat_id: chatId }) => leaveChat(chatId),
  member_added: (payload) => memberChange(payload),
  member_removed: (payload) => memberChange(payload),
};

function memberChange({ chat_id: chatId, user_id: userId }) {
  // My own removal is handled by chat_left; the chat is no longer mine to fetch.
  if (userId === store.me.id || !store.members.has(chatId)) return;
  loadMembers(chatId).catch(() => {});
}

/** Open a chat from the list or a dialog: a new URL, so the back button returns here. */
function openChat(chatId) {
  if (store.chats.has(chatId)) goToChat(chatId);
}

// A search hit waiting for its chat to open: then it is scrolled to and highlighted.
let reveal = null;

/** Open a search hit: its chat (a new URL, as from the list), then the message in it. */
function openSearchHit(chatId, seq) {
  if (!store.chats.has(chatId)) return;
  reveal = { chatId, seq };
  goToChat(chatId);
}

/** The URL changed (or the page loaded with one): show what it names. */
function onRoute(chatId) {
  if (!store.me) return; // the login form keeps the URL for after logging in
  if (chatId === null) {
    if (store.activeChatId || !$("#pane-back").hidden) closeChat();
    return;
  }
  if (!store.chats.has(chatId)) {
    showChatNotFound();
    return;
  }
  const target = reveal?.chatId === chatId ? reveal.seq : null;
  reveal = null;
  showChat(chatId)
    .then(() => (target ? revealMessage(chatId, target) : undefined))
    .catch((error) => console.warn("could not open chat:", error.message));
}

function wire() {
  setUnauthorizedHandler(expired);
  initAuth({ onLoggedIn: startSession });
  initRouter(onRoute);
  initChatList({ onOpen: openChat });
  initSearch({ onOpenHit: openSearchHit });
  initChatView({
    onBack: goBack,
    onInfo: (chatId) =>
      groupDialog(chatId, {
        onLeft: () => closeWithNotice("You left the group."),
        onDeleted: () => closeWithNotice("You deleted the group."),
      }),
  });
  $("#logout").addEventListener("click", () => endSession());
  $("#new-chat").addEventListener("click", () => newChatDialog({ onOpened: openChat }));
  $("#new-group").addEventListener("click", () =>
    newGroupDialog({
      onCreated: async (chatId) => {
        await refreshChats();
        openChat(chatId);
      },
    }),
  );
  store.on("connection", () => {
    if (!store.connected) store.noteResumePoints();
    if (store.me) store.setPresence({ user_id: store.me.id, online: store.connected });
    $("#offline-banner").hidden = store.connected || !store.me;
    $("#connection-state").textContent = store.connected ? "online" : "offline, reconnecting…";
    $("#connection-state").classList.toggle("online", store.connected);
  });
}

/** Start with the saved token; if the server cannot be reached, keep it and retry. */
async function resume() {
  try {
    await startSession();
  } catch (error) {
    if (error.status === 401) return; // expired() already showed the login form
    // Down, failing, or this page is being unloaded: never log out for that.
    disconnect();
    showAuth(`Cannot reach the server (${error.message}). Retrying…`);
    setTimeout(() => {
      if (getToken() && !$("#auth-view").hidden) resume();
    }, 3000);
  }
}

function boot() {
  wire();
  if (getToken()) resume();
  else showAuth();
}

boot();
