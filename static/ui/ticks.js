// Delivery ticks: a clock while sending, one check when stored, two when read, a warning
// when refused. They differ in shape (not only colour) and carry a label for screen readers.

const SVG = "http://www.w3.org/2000/svg";

// 16x12 drawings, stroked with the current colour.
const SHAPES = {
  pending: ["M8 1.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9", "M8 3.5V6l1.8 1.2"],
  sent: ["M3 6.5l2.6 2.6L11.5 3"],
  read: ["M0.8 6.5l2.6 2.6L9.3 3", "M6.3 8.3l0.8 0.8L13 3"],
  failed: ["M8 1.5a4.5 4.5 0 1 0 0 9a4.5 4.5 0 1 0 0-9", "M8 3.5v3", "M8 8.4v0.1"],
};

export const TICK_LABELS = { pending: "sending", sent: "sent", read: "read", failed: "not sent" };

/** An <svg> of the state's shape (decorative: the label sits on the element around it). */
function drawing(state) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 12");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "12");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of SHAPES[state]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** Show `state` in `node` (a span with class "ticks"): shape, colour (by class) and label. */
export function setTicks(node, state, title = TICK_LABELS[state]) {
  if (node.dataset.state === state) return;
  node.dataset.state = state;
  node.className = `ticks ${state}`;
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", TICK_LABELS[state]);
  node.title = title;
  node.replaceChildren(drawing(state));
}

export function ticks(state, title) {
  const node = document.createElement("span");
  setTicks(node, state, title);
  return node;
}
