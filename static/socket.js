// The Socket.IO connection of docs/protocol.md: connect with the token, acks with a timeout,
// and connection state in the store. `io` comes from /static/vendor/socket.io.min.js.

import { getToken } from "./api.js";
import { store } from "./store.js";

const ACK_TIMEOUT_MS = 10_000;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 5000;

let socket = null;

/** Error thrown by request() when the server answered `{ok: false, error}`. */
export class AckError extends Error {
  constructor(error) {
    super(error?.message ?? "The server refused the request");
    this.code = error?.code ?? "internal";
  }
}

/** Thrown by request() when there is no connection or no ack in time: worth retrying. */
export class OfflineError extends Error {}

/**
 * Open the connection. `onConnect({reconnected})` runs after every successful connect;
 * `onUnauthorized()` when the server refuses the token.
 */
export function connect({ onConnect, onUnauthorized, handlers }) {
  disconnect();
  let connectedBefore = false;
  socket = window.io({
    path: "/socket.io",
    // Try WebSocket first (no sticky sessions needed behind a load balancer), poll if blocked.
    transports: ["websocket", "polling"],
    // A function, so every reconnect uses the current token.
    auth: (callback) => callback({ token: getToken() }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });

  socket.on("connect", () => {
    store.connected = true;
    store.emit("connection");
    onConnect({ reconnected: connectedBefore });
    connectedBefore = true;
  });
  socket.on("disconnect", () => {
    store.connected = false;
    // Not in onConnect: the server's presence snapshot arrives before `connect` fires.
    store.forgetPresence();
    store.emit("connection");
  });
  const current = socket;
  let refusals = 0;
  socket.on("connect", () => {
    refusals = 0;
  });
  socket.on("connect_error", (error) => {
    // The server refuses a bad or expired token; the client does not retry those by itself.
    if (error.message === "unauthorized") {
      onUnauthorized();
      return;
    }
    store.emit("connection"); // still offline: show it while the client retries
    // A refusal from the server itself (`internal`: its database or Redis failed) is not
    // retried by socket.io-client either; this one is worth retrying, with a backoff.
    if (!current.active) {
      refusals += 1;
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (refusals - 1));
      setTimeout(() => {
        if (socket === current && !current.active) current.connect();
      }, delay);
    }
  });
  for (const [event, handler] of Object.entries(handlers)) socket.on(event, handler);
}

export function disconnect() {
  if (!socket) return;
  socket.removeAllListeners();
  socket.disconnect();
  socket = null;
  store.connected = false;
  store.emit("connection");
}

/** Emit an event and wait for its ack; resolves with the ack when it says ok. */
export function request(event, payload, timeoutMs = ACK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    // Never hand an event to Socket.IO's send buffer while offline: the outbox decides
    // what is re-sent after a reconnect, and stale typing/read events are not worth it.
    if (!socket?.connected) {
      reject(new OfflineError("offline"));
      return;
    }
    socket.timeout(timeoutMs).emit(event, payload, (timeoutError, ack) => {
      if (timeoutError) reject(new OfflineError("no answer from the server"));
      else if (ack?.ok) resolve(ack);
      else reject(new AckError(ack?.error));
    });
  });
}

/** Send without caring about the answer (typing); dropped while offline. */
export function notify(event, payload) {
  if (socket?.connected) socket.volatile.emit(event, payload, () => {});
}

// A hook for the end-to-end tests and for trying the reconnect by hand in the console:
// drops the transport as a network failure would, so the normal reconnect logic runs.
window.chatClient = {
  dropConnection: () => socket?.io.engine?.close(),
  isConnected: () => Boolean(socket?.connected),
};
