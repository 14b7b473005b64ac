// Small helpers shared by the modules: ids and time formatting.

/** A random RFC 4122 version 4 UUID; works on plain http too, unlike crypto.randomUUID. */
export function uuid4() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function sameDay(a, b) {
  return a.toDateString() === b.toDateString();
}

/** "14:05" for today, "Mar 3" for older dates (chat list). */
export function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return sameDay(date, new Date()) ? timeFormat.format(date) : dayFormat.format(date);
}

/** "14:05" (message bubbles). */
export function clockTime(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "";
}

/** "Mar 3, 2026, 14:05" (tooltips). */
export function fullTime(iso) {
  return iso ? fullFormat.format(new Date(iso)) : "";
}

/** "last seen today at 14:05", "last seen Mar 3", or "offline" when unknown. */
export function lastSeen(iso) {
  if (!iso) return "offline";
  const date = new Date(iso);
  return sameDay(date, new Date())
    ? `last seen today at ${timeFormat.format(date)}`
    : `last seen ${dayFormat.format(date)}`;
}

/** Day label for the separators between messages: "Today", "Yesterday", "March 3". */
export function dayLabel(iso) {
  const date = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (sameDay(date, today)) return "Today";
  if (sameDay(date, yesterday)) return "Yesterday";
  return new Intl.DateTimeFormat(undefined, { month: "long", day: "numeric", year: "numeric" }).format(date);
}
