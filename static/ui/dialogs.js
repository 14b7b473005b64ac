// Modal dialogs: start a private chat, create a group, manage a group's members.

import { api } from "../api.js";
import { store } from "../store.js";
import { lastSeen } from "./time.js";
import { avatar } from "./avatar.js";
import { $, el, setChildren } from "./dom.js";

function openDialog(title, ...body) {
  const dialog = $("#dialog");
  setChildren(
    dialog,
    el(
      "form",
      { method: "dialog", class: "dialog-body" },
      el(
        "header",
        { class: "dialog-header" },
        el("h2", {}, title),
        // Closes through the method=dialog form; formnovalidate, so an empty required
        // field (the new group's name) cannot keep the dialog open.
        el("button", { type: "submit", formnovalidate: true, class: "ghost", "aria-label": "Close" }, "✕"),
      ),
      ...body,
    ),
  );
  if (!dialog.open) dialog.showModal();
  return dialog;
}

/**
 * Ask before something that cannot be undone (not window.confirm: a page dialog of our own
 * looks like the rest and keeps the keyboard in the page). Resolves true on `confirm`.
 */
export function confirmDialog({ title, text, confirm }) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = el("button", { type: "submit", class: "primary danger-fill", value: "confirm" }, confirm);
    const dialog = openDialog(
      title,
      el("p", {}, text),
      el(
        "div",
        { class: "dialog-actions" },
        el("button", { type: "submit", value: "cancel", formnovalidate: true }, "Cancel"),
        yes,
      ),
    );
    yes.addEventListener("click", () => {
      answer = true;
    });
    dialog.addEventListener("close", () => resolve(answer), { once: true });
    yes.focus();
  });
}

export function closeDialog() {
  const dialog = $("#dialog");
  if (dialog.open) dialog.close();
}

function errorLine() {
  return el("p", { class: "error", role: "alert", hidden: true });
}

function showError(line, error) {
  line.textContent = error.message;
  line.hidden = false;
}

/**
 * A search box over a list of people (other than me and `exclude`) as buttons. An empty
 * box lists everyone, so the list is never blank while nothing is typed.
 */
function userPicker({ onPick, exclude = () => new Set(), label = "Search people by name or email" }) {
  const results = el("ul", { class: "user-results", "aria-label": "People" });
  const error = errorLine();
  let timer = null;
  let latest = 0;
  const row = (user) =>
    el(
      "li",
      {},
      el(
        "button",
        { type: "button", class: "user-row", onclick: () => onPick(user) },
        avatar(user.name, { id: user.id }),
        el("span", { class: "user-text" }, el("strong", {}, user.name), el("small", { class: "muted" }, user.email ?? "")),
      ),
    );
  const search = async (query) => {
    const ticket = ++latest;
    try {
      const users = await api.searchUsers(query.trim());
      if (ticket !== latest) return;
      const skip = exclude();
      store.rememberUsers(users);
      const shown = users.filter((user) => user.id !== store.me.id && !skip.has(user.id));
      const none = query.trim() ? "Nobody found" : "Everyone is already added";
      setChildren(results, shown.length === 0 ? el("li", { class: "muted" }, none) : shown.map(row));
      error.hidden = true;
    } catch (err) {
      showError(error, err);
    }
  };
  const input = el("input", {
    type: "search",
    placeholder: label,
    "aria-label": label,
    autocomplete: "off",
    oninput: (event) => {
      clearTimeout(timer);
      timer = setTimeout(() => search(event.target.value), 200);
    },
    // Enter in the search box must not submit (close) the dialog.
    onkeydown: (event) => event.key === "Enter" && event.preventDefault(),
  });
  search("");
  return {
    nodes: [input, error, results],
    input,
    refresh: () => search(input.value),
    /** After a pick: an empty box, everyone listed again, the cursor back in the box. */
    reset: () => {
      clearTimeout(timer);
      input.value = "";
      search("");
      input.focus();
    },
  };
}

export function newChatDialog({ onOpened }) {
  const error = errorLine();
  const picker = userPicker({
    onPick: async (user) => {
      try {
        const chat = await api.openPrivateChat(user.id);
        store.upsertChat({ ...chat, peer: chat.peer ?? user });
        closeDialog();
        onOpened(chat.id);
      } catch (err) {
        showError(error, err);
      }
    },
  });
  openDialog("New chat", ...picker.nodes, error);
  picker.input.focus();
}

export function newGroupDialog({ onCreated }) {
  const chosen = new Map();
  const chips = el("ul", { class: "chips", "aria-label": "Members" });
  const error = errorLine();
  const name = el("input", { name: "group-name", placeholder: "Group name", "aria-label": "Group name", maxlength: 100, required: true });
  const renderChips = () =>
    setChildren(
      chips,
      [...chosen.values()].map((user) =>
        el(
          "li",
          { class: "chip" },
          user.name,
          el("button", {
            type: "button",
            class: "ghost",
            "aria-label": `Remove ${user.name}`,
            onclick: () => {
              chosen.delete(user.id);
              renderChips();
              picker.reset(); // they are listed again
            },
          }, "✕"),
        ),
      ),
    );
  const picker = userPicker({
    exclude: () => new Set(chosen.keys()),
    onPick: (user) => {
      chosen.set(user.id, user);
      renderChips();
      picker.reset();
    },
  });
  const create = el("button", {
    type: "button",
    class: "primary",
    onclick: async () => {
      if (!name.value.trim()) {
        name.reportValidity();
        return;
      }
      try {
        const group = await api.createGroup(name.value.trim(), [...chosen.keys()]);
        closeDialog();
        onCreated(group.chat_id ?? group.chat?.id);
      } catch (err) {
        showError(error, err);
      }
    },
  }, "Create group");
  name.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      create.click();
    }
  });
  openDialog("New group", name, el("p", { class: "muted" }, "Add members:"), chips, ...picker.nodes, error, create);
  name.focus();
}

/** Members of a group with presence; the creator adds, removes, renames and deletes,
 * everyone else can leave. */
export async function groupDialog(chatId, { onLeft, onDeleted }) {
  const chat = store.chats.get(chatId);
  if (!chat?.group_id) return;
  const error = errorLine();
  let group;
  try {
    group = await api.group(chat.group_id);
  } catch (err) {
    openDialog(store.chatTitle(chat), error);
    showError(error, err);
    return;
  }
  const members = group.members ?? [...(store.members.get(chatId)?.values() ?? [])];
  store.rememberUsers(members);
  const creator = group.creator_id === store.me.id;
  const memberIds = new Set(members.map((member) => member.id ?? member.user_id));
  const act = (action) => async () => {
    try {
      await action();
      await groupDialog(chatId, { onLeft, onDeleted });
    } catch (err) {
      showError(error, err);
    }
  };

  const rows = members.map((member) => {
    const id = member.id ?? member.user_id;
    const presence = store.presence.get(id);
    const you = id === store.me.id;
    return el(
      "li",
      { class: "member" },
      avatar(member.name, { id, online: Boolean(presence?.online) }),
      el(
        "span",
        { class: "user-text" },
        el("strong", {}, member.name ?? store.userName(id), you ? " (you)" : "", id === group.creator_id ? " · creator" : ""),
        el("small", { class: "muted" }, presence ? (presence.online ? "online" : lastSeen(presence.last_seen)) : ""),
      ),
      creator && !you
        ? el("button", { type: "button", class: "ghost danger", onclick: act(() => api.removeMember(group.id, id)) }, "Remove")
        : null,
    );
  });

  // Leaving asks once more, inside the dialog (no blocking browser confirm()).
  const leaveArea = el("div", { class: "leave" });
  const reallyLeave = async () => {
    try {
      await api.removeMember(group.id, store.me.id);
      closeDialog();
      onLeft(chatId);
    } catch (err) {
      showError(error, err);
    }
  };
  const askToLeave = () =>
    setChildren(
      leaveArea,
      el("span", {}, `Leave “${group.name}”?`),
      el("button", { type: "button", onclick: () => setChildren(leaveArea, leave) }, "Cancel"),
      el("button", { type: "button", class: "danger", onclick: reallyLeave }, "Leave"),
    );
  const leave = el("button", { type: "button", class: "danger", onclick: askToLeave }, "Leave group");
  leaveArea.append(leave);

  const ownerArea = creator ? groupOwnerControls(group, { act, error, onDeleted }) : [];

  const addSection = creator
    ? userPicker({
        label: "Add a member by name or email",
        exclude: () => memberIds,
        onPick: (user) => act(() => api.addMember(group.id, user.id))(),
      }).nodes
    : [];
  openDialog(group.name ?? store.chatTitle(chat), el("p", { class: "muted" }, `${members.length} members`), el("ul", { class: "members" }, rows), ...addSection, ...ownerArea, error, creator ? null : leaveArea);
}

/** The creator's rename field and delete button (deleting asks once more, inline). */
function groupOwnerControls(group, { act, error, onDeleted }) {
  const name = el("input", { name: "group-name", maxlength: "100", value: group.name, "aria-label": "Group name" });
  const rename = el("button", {
    type: "button",
    onclick: () => {
      const wanted = name.value.trim();
      if (!wanted || wanted === group.name) return;
      act(() => api.renameGroup(group.id, wanted))();
    },
  }, "Rename");
  name.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      rename.click();
    }
  });
  const deleteArea = el("div", { class: "leave" });
  const reallyDelete = async () => {
    try {
      await api.deleteGroup(group.id);
      closeDialog();
      onDeleted(group.chat_id);
    } catch (err) {
      showError(error, err);
    }
  };
  const askToDelete = () =>
    setChildren(
      deleteArea,
      el("span", {}, `Delete “${group.name}” for everyone?`),
      el("button", { type: "button", onclick: () => setChildren(deleteArea, remove) }, "Cancel"),
      el("button", { type: "button", class: "danger", onclick: reallyDelete }, "Delete"),
    );
  const remove = el("button", { type: "button", class: "danger", onclick: askToDelete }, "Delete group");
  deleteArea.append(remove);
  return [el("div", { class: "rename" }, name, rename), deleteArea];
}
