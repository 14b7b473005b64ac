// One URL per chat: "#/chat/42" while a chat is open, "#/" for the chat list. Reloading
// stays in the chat, the browser's back and forward buttons move between chats, and a
// link can be shared with another member.

let onRoute = () => {};

/** The chat id in the URL: a number, "invalid" for a malformed chat link, null for the list. */
export function routedChatId() {
  const match = location.hash.match(/^#\/chat\/(.*)$/);
  if (!match) return null;
  return /^[1-9]\d{0,17}$/.test(match[1]) ? Number(match[1]) : "invalid";
}

/** `handler(chatId)` runs on every URL change (typed, back/forward, or goTo*). */
export function initRouter(handler) {
  onRoute = handler;
  window.addEventListener("hashchange", () => onRoute(routedChatId()));
}

export function route() {
  onRoute(routedChatId());
}

/** Open a chat as a new history entry (the back button returns to where the user was). */
export function goToChat(chatId) {
  const hash = `#/chat/${chatId}`;
  if (location.hash !== hash) history.pushState({ inApp: true }, "", hash);
  route();
}

/** Back from a chat: to the previous entry if this page made it, else to the list. */
export function goBack() {
  if (history.state?.inApp) {
    history.back(); // fires hashchange
    return;
  }
  showList();
  route();
}

/** Put the list's URL in place of the current one (the chat was closed by the app). */
export function showList() {
  if (location.hash && location.hash !== "#/") history.replaceState(null, "", "#/");
}

/** After logout: no chat of the previous user in the URL. */
export function clearRoute() {
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
}
