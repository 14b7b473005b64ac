// Tiny DOM helpers. User text only ever goes through textContent, never innerHTML.

/**
 * Create an element: el("li", {class: "chat", dataset: {id: 3}, onclick: fn}, child, "text").
 * Strings among the children become text nodes, so they are never parsed as HTML.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Make `wanted` the element children of `parent`, in order, moving as few nodes as
 * possible: a node that is moved is detached for a moment, and a detached node loses the
 * keyboard focus, which falls to <body> (a keyboard or screen reader user loses their
 * place). So the unwanted children go first (the nodes after them then stay put), and a
 * focused node that still had to move gets the focus back.
 */
export function placeChildren(parent, wanted) {
  const focused = parent.contains(document.activeElement) ? document.activeElement : null;
  const keep = new Set(wanted);
  for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  wanted.forEach((node, index) => {
    if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] ?? null);
  });
  if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

/** Replace all children of `node`. */
export function setChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);
