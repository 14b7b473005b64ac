// Messages the user wrote that the server has not acknowledged yet. They are sent one at a
// time, in order, each with its client_msg_id; after a reconnect (or a reload) the same ids
// are sent again, so the server stores every message exactly once.

import { store } from "./store.js";
import { AckError, request } from "./socket.js";
import { uuid4 } from "./util.js";

// Errors that a later try can fix; anything else (validation, forbidden …) is final.
const RETRYABLE = new Set(["rate_limited", "internal"]);
const RETRY_DELAY_MS = 2000;

let queue = []; // pending messages, oldest first
let sending = false;
let retryTimer = null;
let localOrder = 0;

// One key per user, shared by all of that user's tabs.
const storageKey = () => `chat.outbox.${store.me.id}`;

function loadSaved() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) ?? "[]");
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

/**
 * Write this tab's queue into the saved outbox, merged by client_msg_id with what other
 * tabs saved there; an entry goes only through `finished` (its ack or a final refusal).
 */
function save(finished = []) {
  const merged = new Map(loadSaved().map((item) => [item.client_msg_id, item]));
  for (const { chat_id, text, client_msg_id, created_at, reply_to_seq, reply_to } of queue) {
    merged.set(client_msg_id, { chat_id, text, client_msg_id, created_at, reply_to_seq, reply_to });
  }
  for (const clientMsgId of finished) merged.delete(clientMsgId);
  localStorage.setItem(storageKey(), JSON.stringify([...merged.values()]));
}

function track(item) {
  const message = { ...item, sender_id: store.me.id, pending: true, localOrder: localOrder++ };
  queue.push(message);
  store.addPending(message);
}

/**
 * Put a new message in the outbox and start sending. `replyTo`: the quote of the message
 * it answers ({seq, sender_id, text}), kept with it through reloads and resends.
 */
export function queueMessage(chatId, text, replyTo = null) {
  track({
    chat_id: chatId,
    text,
    client_msg_id: uuid4(),
    created_at: new Date().toISOString(),
    reply_to_seq: replyTo?.seq ?? null,
    reply_to: replyTo,
  });
  save();
  pump();
}

/** After login or a reload: bring back what was not acknowledged last time. */
export function restoreOutbox() {
  queue = [];
  const gone = []; // for chats that are no longer mine: they can never be sent
  for (const item of loadSaved()) {
    if (store.chats.has(item.chat_id)) track(item);
    else gone.push(item.client_msg_id);
  }
  save(gone);
}

/** Send the queue in order; called on every (re)connect and after each new message. */
export async function pump() {
  if (sending) return;
  sending = true;
  clearTimeout(retryTimer);
  try {
    while (queue.length > 0 && store.connected) {
      const message = queue[0];
      const payload = {
        chat_id: message.chat_id,
        text: message.text,
        client_msg_id: message.client_msg_id,
      };
      // The same reply_to_seq on every try: the server compares it on a repeat.
      if (message.reply_to_seq) payload.reply_to_seq = message.reply_to_seq;
      try {
        const ack = await request("send_message", payload);
        store.addMessages(message.chat_id, [ack.message]);
      } catch (error) {
        if (!(error instanceof AckError) || RETRYABLE.has(error.code)) {
          // Offline, timed out or busy: keep it first in line and try again later.
          if (store.connected) retryTimer = setTimeout(pump, RETRY_DELAY_MS);
          return;
        }
        store.failPending(message.chat_id, message.client_msg_id, error.message);
      }
      queue.shift();
      save([message.client_msg_id]);
    }
  } finally {
    sending = false;
  }
}

/** Forget the queue (logout). The saved copy stays for the same user's next login. */
export function clearOutbox() {
  queue = [];
  clearTimeout(retryTimer);
}
