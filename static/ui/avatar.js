// A round avatar with the name's initial and, for people, an online dot.

import { el } from "./dom.js";

const COLORS = ["#e17076", "#7bc862", "#e5ca77", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

export function avatar(name, { id = 0, online = null } = {}) {
  const initial = (name ?? "?").trim().charAt(0).toUpperCase() || "?";
  return el(
    "span",
    { class: "avatar", style: `background:${COLORS[Math.abs(id) % COLORS.length]}`, "aria-hidden": "true" },
    initial,
    online === null ? null : el("span", { class: online ? "dot online" : "dot" }),
  );
}
