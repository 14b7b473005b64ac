// The page's state: who I am, my chats, the messages loaded so far, members, presence.
// Views subscribe with store.on(name, fn); the store emits after every change.

class ChatLog {
  constructor() {
    this.confirmed = new Map(); // seq -> message, as stored by the server
    this.pending = new Map(); // client_msg_id -> local message not acknowledged yet
    this.loaded = false; // the newest page of history has been fetched
    this.hasOlder = false; // more history exists before oldestSeq
    // The oldest seq a history page brought (1 for a chat that was empty): from here on the
    // log holds every message, so a catch-up may add any seq at or above it, and none below.
    this.floorSeq = null;
    this.maxPts = 0; // the highest pts seen in this chat (docs/protocol.md, "Catch-up")
    this.resumePts = null; // maxPts when the connection dropped: the next catch-up starts here
    this.early = null; // while the first page loads: changes that arrive meanwhile, seq -> message
  }

  get oldestSeq() {
    let oldest = Infinity;
    for (const seq of this.confirmed.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? null : oldest;
  }

  get newestSeq() {
    let newest = 0;
    for (const seq of this.confirmed.keys()) newest = Math.max(newest, seq);
    return newest;
  }

  /** Confirmed messages by seq, then pending ones in the order they were written. */
  ordered() {
    const confirmed = [...this.confirmed.values()].sort((a, b) => a.seq - b.seq);
    const pending = [...this.pending.values()].sort((a, b) => a.localOrder - b.localOrder);
    return confirmed.concat(pending);
  }
}

/**
 * A fetched chat row with what this page saw after the server wrote it laid over it: live
 * messages beyond the row's last_seq and a read watermark that moved on. The row's count
 * stays the base, as it includes what this page missed while offline.
 */
function keepNewerCounters(fetched, local, log, myId) {
  const fetchedSeq = fetched.last_message?.seq ?? 0;
  // A deleted message stands in only until the server names the one before it.
  const localSeq = local.last_message?.deleted ? 0 : (local.last_message?.seq ?? 0);
  const watermark = Math.max(fetched.last_read_seq, local.last_read_seq ?? 0);
  const floor = Math.max(fetched.last_seq, watermark);
  let liveUnread = 0;
  for (const message of log?.confirmed.values() ?? []) {
    if (message.seq > floor && message.sender_id !== myId && !message.deleted) liveUnread += 1;
  }
  // Read past everything the row counted: only the live ones beyond the watermark are left.
  const counted = watermark >= fetched.last_seq ? 0 : fetched.unread_count;
  return {
    ...fetched,
    last_message: localSeq > fetchedSeq ? local.last_message : fetched.last_message,
    last_seq: Math.max(fetched.last_seq, local.last_seq ?? 0),
    last_read_seq: watermark,
    unread_count: counted + liveUnread,
  };
}

/** A chat row as stored: `counted_seq` is how far its unread_count already counted. */
function listed(chat, countedSeq) {
  return { ...chat, counted_seq: countedSeq };
}

class Store extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  reset() {
    this.me = null;
    this.chats = new Map(); // chat id -> chat as GET /chats returns it
    this.logs = new Map(); // chat id -> ChatLog
    this.members = new Map(); // chat id -> Map(user id -> member with last_read_seq)
    this.users = new Map(); // user id -> {id, name, email}
    this.presence = new Map(); // user id -> {online, last_seen}
    this.typing = new Map(); // chat id -> Map(user id -> timer)
    this.readUpTo = new Map(); // chat id -> my messages up to this seq are read by everyone
    this.activeChatId = null;
    this.connected = false;
    this.chatsJournal = null; // joins, leaves and renames seen while a chat list is in flight
  }

  on(name, handler) {
    this.addEventListener(name, (event) => handler(event.detail));
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  log(chatId) {
    let log = this.logs.get(chatId);
    if (!log) {
      log = new ChatLog();
      this.logs.set(chatId, log);
    }
    return log;
  }

  rememberUsers(users) {
    for (const user of users ?? []) {
      if (!user || user.id === undefined) continue;
      this.users.set(user.id, { ...this.users.get(user.id), ...user });
      if (user.online !== undefined) {
        this.presence.set(user.id, { online: user.online, last_seen: user.last_seen ?? user.last_seen_at ?? null });
      }
    }
  }

  userName(userId) {
    if (this.me && userId === this.me.id) return "You";
    return this.users.get(userId)?.name ?? `User ${userId}`;
  }

  // ---- chats ----

  /**
   * A chat list is about to be fetched. Joins, leaves and renames that arrive while it is in
   * flight are newer than the list it returns, so they are noted and laid over it in setChats.
   */
  beginChatsFetch() {
    this.chatsJournal = [];
  }

  setChats(chats) {
    const fetched = new Map(chats.map((chat) => [chat.id, chat]));
    for (const { chatId, joined, name } of this.chatsJournal ?? []) {
      const local = this.chats.get(chatId);
      if (joined === false) fetched.delete(chatId);
      else if (joined && local && !fetched.has(chatId)) fetched.set(chatId, local);
      else if (name !== undefined && fetched.has(chatId)) fetched.set(chatId, { ...fetched.get(chatId), name });
    }
    this.chatsJournal = null;
    for (const [id, chat] of fetched) {
      const local = this.chats.get(id);
      if (local === chat) continue; // kept from the journal
      const row = local ? keepNewerCounters(chat, local, this.logs.get(id), this.me?.id) : chat;
      fetched.set(id, listed(row, chat.last_seq));
    }
    this.chats = fetched;
    this.forgetChatsOtherThan(fetched);
    for (const chat of fetched.values()) this.rememberChatUsers(chat);
    this.emit("chats");
  }

  /** Messages and members of chats that left the list would be stale if the chat came back. */
  forgetChatsOtherThan(chats) {
    for (const cache of [this.logs, this.members, this.readUpTo]) {
      for (const chatId of [...cache.keys()]) if (!chats.has(chatId)) cache.delete(chatId);
    }
  }

  upsertChat(chat) {
    const known = this.chats.get(chat.id);
    if (!known) this.chatsJournal?.push({ chatId: chat.id, joined: true });
    // A chat just joined has nothing unread: a new member starts at its last_seq.
    const counted = known?.counted_seq ?? chat.last_seq ?? 0;
    this.chats.set(chat.id, listed({ unread_count: 0, last_message: null, ...known, ...chat }, counted));
    this.rememberChatUsers(chat);
    this.emit("chats");
  }

  /** `chat_updated`: a group got a new name. */
  renameChat(chatId, name) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    this.chatsJournal?.push({ chatId, name });
    chat.name = name;
    this.emit("chats");
  }

  removeChat(chatId) {
    this.chatsJournal?.push({ chatId, joined: false });
    this.chats.delete(chatId);
    this.logs.delete(chatId);
    this.members.delete(chatId);
    this.readUpTo.delete(chatId);
    if (this.activeChatId === chatId) this.activeChatId = null;
    this.emit("chats");
    this.emit("active");
  }

  rememberChatUsers(chat) {
    this.rememberUsers([chat.peer, ...(chat.members ?? [])]);
    if (chat.members) this.setMembers(chat.id, chat.members, { quiet: true });
  }

  /** The other person in a private chat, if known. */
  peerOf(chat) {
    if (!chat || chat.type !== "private") return null;
    if (chat.peer) return chat.peer;
    const others = [...(this.members.get(chat.id)?.values() ?? [])].filter(
      (member) => member.id !== this.me?.id,
    );
    return others[0] ?? null;
  }

  chatTitle(chat) {
    if (chat.type === "private") return this.peerOf(chat)?.name ?? chat.name ?? "Private chat";
    return chat.name ?? "Group";
  }

  /** Newest first, by the time of the last message (or creation). */
  sortedChats() {
    const stamp = (chat) => chat.last_message?.created_at ?? chat.created_at ?? "";
    return [...this.chats.values()].sort((a, b) => stamp(b).localeCompare(stamp(a)));
  }

  // ---- members and read watermarks ----

  setMembers(chatId, members, { quiet = false } = {}) {
    const known = this.members.get(chatId);
    const map = new Map();
    for (const member of members) {
      const id = member.id ?? member.user_id;
      // A read_receipt may be newer than this list: watermarks only move forward.
      const lastRead = Math.max(member.last_read_seq ?? 0, known?.get(id)?.last_read_seq ?? 0);
      map.set(id, { ...member, id, last_read_seq: lastRead });
    }
    this.members.set(chatId, map);
    this.rememberUsers(members.map((member) => ({ ...member, id: member.id ?? member.user_id })));
    if (!quiet) this.emit("members", chatId);
  }

  /** A `read_receipt`: watermarks only move forward. */
  applyReadReceipt({ chat_id: chatId, user_id: userId, last_read_seq: seq }) {
    const member = this.members.get(chatId)?.get(userId);
    if (member && seq > member.last_read_seq) member.last_read_seq = seq;
    const chat = this.chats.get(chatId);
    if (chat && userId === this.me?.id) this.applyOwnRead(chatId, seq);
    this.emit("members", chatId);
  }

  /** My own watermark moved (from this tab or another device): recount unread. */
  applyOwnRead(chatId, seq) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    // Count from the watermark as it now stands: `seq` may come from an older answer.
    const watermark = Math.max(chat.last_read_seq ?? 0, seq);
    chat.last_read_seq = watermark;
    const log = this.logs.get(chatId);
    if (watermark >= (chat.last_seq ?? 0)) {
      chat.unread_count = 0;
    } else if (log?.loaded && log.oldestSeq !== null && log.oldestSeq <= watermark + 1) {
      // Everything after the watermark is loaded, so the count is exact.
      chat.unread_count = [...log.confirmed.values()].filter(
        (m) => m.seq > watermark && m.sender_id !== this.me.id,
      ).length;
    }
    this.emit("chats");
  }

  /** Members other than me who have read up to `seq` (groups show this per message). */
  readersOf(chatId, seq) {
    const members = this.members.get(chatId);
    if (!members) return null;
    return [...members.values()].filter(
      (member) => member.id !== this.me?.id && member.last_read_seq >= seq,
    );
  }

  /** Read means: every other member's watermark has passed it (docs/protocol.md, invariant 3). */
  isRead(message) {
    if (message.is_read) return true;
    const members = this.members.get(message.chat_id);
    if (!members || members.size < 2) return false;
    for (const member of members.values()) {
      if (member.id !== message.sender_id && member.last_read_seq < message.seq) return false;
    }
    return true;
  }

  // ---- messages ----

  /**
   * Merge server messages into a chat's log. Returns the ones that were new to this page,
   * so the caller can count unread messages without counting a message twice. A message
   * this page holds in a newer state (a higher `pts`) is kept: a history page read before
   * an edit can arrive after its `message_updated`.
   */
  addMessages(chatId, messages) {
    const log = this.log(chatId);
    const fresh = [];
    for (const message of messages) {
      const known = log.confirmed.get(message.seq);
      if (!known) fresh.push(message);
      log.maxPts = Math.max(log.maxPts, message.pts ?? 0);
      if (message.sender_id === this.me?.id) log.pending.delete(message.client_msg_id);
      if (known && (known.pts ?? 0) > (message.pts ?? 0)) continue;
      const isRead = known?.is_read || message.is_read || this.readByEveryone(message);
      log.confirmed.set(message.seq, { ...known, ...message, is_read: isRead });
      if (known) this.requote(log, message);
    }
    this.updateLastMessage(chatId, messages);
    this.emit("messages", chatId);
    return fresh;
  }

  /**
   * Messages changed after some `pts` (`message_updated`, an ack, a catch-up page). A
   * message older than the loaded part of the log is not added (that would leave a gap in
   * it; history brings it in its current state), but replies quoting it still follow it.
   */
  applyChanges(chatId, messages) {
    const log = this.log(chatId);
    const keep = [];
    for (const message of messages) {
      log.maxPts = Math.max(log.maxPts, message.pts ?? 0);
      this.requote(log, message);
      const known = log.confirmed.has(message.seq);
      const floor = log.floorSeq ?? log.oldestSeq;
      if (known || (log.loaded && (floor === null || message.seq >= floor))) keep.push(message);
      else this.updateLastMessage(chatId, [message]);
      // The page in flight may have been read before this change: apply it after the page.
      if (!log.loaded && log.early) log.early.set(message.seq, message);
    }
    this.addMessages(chatId, keep);
  }

  /** Replies quote their original as it is now: its edits, its deletion. */
  requote(log, original) {
    const text = original.deleted || original.text == null ? null : Array.from(original.text).slice(0, 100).join("");
    for (const message of [...log.confirmed.values(), ...log.pending.values()]) {
      if (message.reply_to?.seq === original.seq && message.reply_to.text !== text) {
        message.reply_to = { ...message.reply_to, text };
      }
    }
  }

  /**
   * The chat list shows the newest message that is not deleted (as GET /chats does): a
   * deleted last message gives way to the one before it, if loaded (else the next chat
   * list fetch brings it; app.js asks for one).
   */
  updateLastMessage(chatId, messages) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const last = chat.last_message;
    let changed = false;
    for (const message of messages) {
      if (message.deleted) continue;
      const current = chat.last_message;
      if (!current || message.seq > current.seq || (message.seq === current.seq && (message.pts ?? 0) >= (current.pts ?? 0))) {
        chat.last_message = message;
        chat.last_seq = Math.max(chat.last_seq ?? 0, message.seq);
        changed = true;
      }
    }
    const deleted = messages.find((message) => message.deleted && message.seq === chat.last_message?.seq);
    if (deleted) {
      const log = this.logs.get(chatId);
      const before = [...(log?.confirmed.values() ?? [])]
        .filter((message) => !message.deleted && message.seq < deleted.seq)
        .sort((a, b) => b.seq - a.seq)[0];
      // Not loaded: the tombstone stands in ("Message deleted") until the chat list is fetched again.
      chat.last_message = before ?? deleted;
      chat.last_seq = Math.max(chat.last_seq ?? 0, deleted.seq);
      changed = true;
    }
    if (changed || chat.last_message !== last) this.emit("chats");
  }

  /** Highest pts per loaded chat, noted when the connection drops (kept until a catch-up ends). */
  noteResumePoints() {
    for (const log of this.logs.values()) {
      if (log.loaded && log.resumePts === null) log.resumePts = log.maxPts;
    }
  }

  addPending(message) {
    this.log(message.chat_id).pending.set(message.client_msg_id, message);
    this.emit("messages", message.chat_id);
  }

  failPending(chatId, clientMsgId, reason) {
    const message = this.logs.get(chatId)?.pending.get(clientMsgId);
    if (!message) return;
    message.failed = reason;
    this.emit("messages", chatId);
  }

  dropPending(chatId, clientMsgId) {
    this.logs.get(chatId)?.pending.delete(clientMsgId);
    this.emit("messages", chatId);
  }

  /** `messages_read`: my messages in that chat up to `up_to_seq` are read by everyone. */
  markRead({ chat_id: chatId, message_ids: ids = [], up_to_seq: upTo = 0 }) {
    // Kept for messages not loaded yet: a history page in flight was read from the
    // database before this event and still says unread.
    this.readUpTo.set(chatId, Math.max(this.readUpTo.get(chatId) ?? 0, upTo));
    const readIds = new Set(ids);
    const isNowRead = (message) =>
      readIds.has(message.id) || (message.sender_id === this.me?.id && message.seq <= upTo);
    for (const message of this.logs.get(chatId)?.confirmed.values() ?? []) {
      if (isNowRead(message)) message.is_read = true;
    }
    const last = this.chats.get(chatId)?.last_message;
    if (last && isNowRead(last)) last.is_read = true;
    this.emit("messages", chatId);
    this.emit("chats");
  }

  /** A message of mine that a `messages_read` already covered. */
  readByEveryone(message) {
    return message.sender_id === this.me?.id && message.seq <= (this.readUpTo.get(message.chat_id) ?? 0);
  }

  // ---- presence and typing ----

  setPresence({ user_id: userId, online, last_seen: lastSeen }) {
    this.presence.set(userId, { online, last_seen: lastSeen ?? null });
    this.emit("presence", userId);
  }

  /**
   * The connection dropped: whoever went offline meanwhile will not be announced to this
   * page, so forget what it knew. The next connect brings a snapshot of who is online.
   */
  forgetPresence() {
    const mine = this.me && this.presence.get(this.me.id);
    this.presence.clear();
    if (mine) this.presence.set(this.me.id, mine);
    this.emit("presence");
  }

  setTyping(chatId, userId, active) {
    let typers = this.typing.get(chatId);
    if (!typers) {
      typers = new Map();
      this.typing.set(chatId, typers);
    }
    clearTimeout(typers.get(userId));
    if (active) {
      // Clients send `typing` every few seconds while typing; forget a silent typist.
      typers.set(userId, setTimeout(() => this.setTyping(chatId, userId, false), 5000));
    } else {
      typers.delete(userId);
    }
    this.emit("typing", chatId);
  }

  typers(chatId) {
    return [...(this.typing.get(chatId)?.keys() ?? [])];
  }
}

export const store = new Store();
