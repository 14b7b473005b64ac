// Message search above the chat list: results as you type (chat, sender, the matched
// words marked, time); choosing one opens its chat at that message.

import { api } from "../api.js";
import { store } from "../store.js";
import { $, el, setChildren } from "./dom.js";
import { fullTime, shortTime } from "./time.js";

const PAGE = 20;
const TYPING_PAUSE_MS = 250;
const MAX_QUERY = 200;
// What the server's HTML escaping produces (Python's html.escape), and nothing else.
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'" };

let openHit = () => {};
let timer = null;
let shown = { query: "", hits: [], done: true };
let generation = 0; // answers to an older query are dropped

export function initSearch({ onOpenHit }) {
  openHit = onOpenHit;
  const input = $("#search-input");
  input.maxLength = MAX_QUERY;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(input.value), TYPING_PAUSE_MS);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") clearSearch();
  });
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    search(input.value);
  });
  $("#search-more").addEventListener("click", () => more());
}

/** Back to the chat list, with an empty search box. */
export function clearSearch() {
  clearTimeout(timer);
  generation += 1;
  $("#search-input").value = "";
  shown = { query: "", hits: [], done: true };
  showResults(false);
}

async function search(text) {
  const query = text.trim();
  const mine = ++generation;
  if (!query) {
    shown = { query: "", hits: [], done: true };
    showResults(false);
    return;
  }
  showResults(true);
  setStatus("Searching…");
  try {
    const hits = await api.searchMessages(query, { limit: PAGE });
    if (mine !== generation) return;
    shown = { query, hits, done: hits.length < PAGE };
    render();
  } catch (error) {
    if (mine === generation) setStatus(`Search failed: ${error.message}`);
  }
}

async function more() {
  const mine = generation;
  const last = shown.hits[shown.hits.length - 1];
  if (!last) return;
  const hits = await api.searchMessages(shown.query, { limit: PAGE, beforeId: last.id });
  if (mine !== generation) return;
  shown = { query: shown.query, hits: [...shown.hits, ...hits], done: hits.length < PAGE };
  render();
}

function showResults(on) {
  $("#search-results-box").hidden = !on;
  $("#chat-list").hidden = on;
  $("#chat-list-empty").hidden = on || store.chats.size > 0;
}

function setStatus(text) {
  $("#search-status").textContent = text;
}

function render() {
  const count = shown.hits.length;
  setStatus(count === 0 ? "No messages found" : `${count}${shown.done ? "" : "+"} found`);
  setChildren($("#search-results"), shown.hits.map(item));
  $("#search-more").hidden = shown.done;
  loadUnknownSenders();
}

function senderName(hit) {
  if (hit.sender_id === store.me?.id) return "You";
  const chat = store.chats.get(hit.chat_id);
  if (chat?.type === "private") return hit.chat_name;
  return store.userName(hit.sender_id);
}

function item(hit) {
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: "search-hit",
        dataset: { chatId: hit.chat_id, seq: hit.seq },
        onclick: () => openHit(hit.chat_id, hit.seq),
      },
      el(
        "span",
        { class: "chat-item-top" },
        el("span", { class: "chat-name" }, hit.chat_name),
        el("time", { class: "chat-time", datetime: hit.created_at, title: fullTime(hit.created_at) }, shortTime(hit.created_at)),
      ),
      el(
        "span",
        { class: "search-snippet" },
        el("span", { class: "search-sender" }, `${senderName(hit)}: `),
        markedText(hit.snippet),
      ),
    ),
  );
}

/**
 * The server's snippet as DOM nodes: <mark> pieces become <mark> elements, everything
 * else text. It is never parsed as HTML, so a message's own markup stays text.
 */
export function markedText(snippet) {
  const nodes = [];
  let marked = false;
  for (const piece of snippet.split(/(<mark>|<\/mark>)/)) {
    if (piece === "<mark>" || piece === "</mark>") {
      marked = piece === "<mark>";
      continue;
    }
    if (!piece) continue;
    const text = piece.replace(/&(amp|lt|gt|quot|#x27);/g, (entity) => ENTITIES[entity]);
    nodes.push(marked ? el("mark", {}, text) : document.createTextNode(text));
  }
  return nodes;
}

/** Group senders this page has not met yet: fetch the chat's members, then draw again. */
function loadUnknownSenders() {
  const chats = new Set(
    shown.hits
      .filter((hit) => store.chats.get(hit.chat_id)?.type === "group" && !store.users.has(hit.sender_id))
      .map((hit) => hit.chat_id),
  );
  for (const chatId of chats) {
    api
      .chat(chatId)
      .then((chat) => {
        store.rememberUsers((chat.members ?? []).map((m) => ({ id: m.user_id, name: m.name })));
        if (shown.hits.some((hit) => hit.chat_id === chatId)) {
          setChildren($("#search-results"), shown.hits.map(item));
        }
      })
      .catch(() => {});
  }
}
