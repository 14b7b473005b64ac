// The REST API of docs/protocol.md, with the bearer token attached.

const TOKEN_KEY = "chat.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(ApiError.describe(status, detail));
    this.status = status;
    this.detail = detail;
  }

  /** Turn FastAPI's `detail` (a string, or a list of validation errors) into one sentence. */
  static describe(status, detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail) && detail.length > 0) {
      return detail
        .map((item) => {
          const field = Array.isArray(item.loc) ? item.loc[item.loc.length - 1] : "";
          return field && field !== "body" ? `${field}: ${item.msg}` : item.msg;
        })
        .join("; ");
    }
    return `Request failed (${status})`;
  }
}

let token = localStorage.getItem(TOKEN_KEY);
let onUnauthorized = () => {};

export function getToken() {
  return token;
}

export function setToken(value) {
  token = value;
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Called whenever an authenticated request comes back 401 (expired or revoked token). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function request(method, path, { body, query, auth = true } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token) headers.Authorization = `Bearer ${token}`;

  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && auth) onUnauthorized();
    throw new ApiError(response.status, data?.detail);
  }
  return data;
}

export const api = {
  register: (name, email, password) =>
    request("POST", "/auth/register", { body: { name, email, password }, auth: false }),
  login: (email, password) =>
    request("POST", "/auth/login", { body: { email, password }, auth: false }),
  me: () => request("GET", "/users/me"),
  searchUsers: (query) => request("GET", "/users", { query: { query } }),
  chats: () => request("GET", "/chats"),
  chat: (chatId) => request("GET", `/chats/${chatId}`),
  openPrivateChat: (userId) => request("POST", "/chats/private", { body: { user_id: userId } }),
  createGroup: (name, memberIds) =>
    request("POST", "/groups", { body: { name, member_ids: memberIds } }),
  group: (groupId) => request("GET", `/groups/${groupId}`),
  renameGroup: (groupId, name) => request("PATCH", `/groups/${groupId}`, { body: { name } }),
  deleteGroup: (groupId) => request("DELETE", `/groups/${groupId}`),
  addMember: (groupId, userId) =>
    request("POST", `/groups/${groupId}/members`, { body: { user_id: userId } }),
  removeMember: (groupId, userId) => request("DELETE", `/groups/${groupId}/members/${userId}`),
  /** Messages of my chats with every word of `q`, newest first; `beforeId` pages on. */
  searchMessages: (q, { limit = 20, beforeId } = {}) =>
    request("GET", "/search/messages", { query: { q, limit, before_id: beforeId } }),
  /** One page of history, ascending; `beforeSeq` pages backwards (keyset). */
  history: (chatId, { limit = 50, beforeSeq, afterSeq } = {}) =>
    request("GET", `/history/${chatId}`, {
      query: { limit, before_seq: beforeSeq, after_seq: afterSeq },
    }),
};
