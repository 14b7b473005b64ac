// Dates and times in the user's locale and time zone (the browser's), as Telegram shows
// them: "5:59 PM" or "17:59" in bubbles, "Today" / "Yesterday" / "Mon 24 November"
// between days, the full date and time on hover.

// undefined: the browser's locale. The locale's own short time keeps its choice of a
// leading zero ("9:05 AM" in en-US, "09:05" in en-GB and de-DE).
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dayThisYear = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "long" });
const dayOtherYear = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "long",
  year: "numeric",
});
const shortDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const shortDateOtherYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "2-digit" });
const relativeDay = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** Whole calendar days from `date` to today, in the local time zone (0 today, 1 yesterday). */
function daysAgo(date, now = new Date()) {
  const startOf = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
  // Rounded: a day across a daylight saving change has 23 or 25 hours.
  return Math.round((startOf(now) - startOf(date)) / 86_400_000);
}

function capitalize(text) {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** Local calendar day of a timestamp, as a key ("2025-11-24"). */
export function dayKey(iso) {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "5:59 PM" / "17:59" (message bubbles). */
export function clockTime(iso) {
  return iso ? clock.format(new Date(iso)) : "";
}

/** "Monday, 24 November 2025 at 17:59" (tooltips). */
export function fullTime(iso) {
  return iso ? full.format(new Date(iso)) : "";
}

/** Between days: "Today", "Yesterday", "Mon 24 November", "Tue 3 December 2024". */
export function dayLabel(iso) {
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0 || ago === 1) return capitalize(relativeDay.format(-ago, "day"));
  return (date.getFullYear() === new Date().getFullYear() ? dayThisYear : dayOtherYear).format(date);
}

/** The chat list: the time today, the weekday within a week, else the date. */
export function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0) return clock.format(date);
  if (ago > 0 && ago < 7) return weekday.format(date);
  return (date.getFullYear() === new Date().getFullYear() ? shortDate : shortDateOtherYear).format(date);
}

/** "last seen today at 5:59 PM", "last seen yesterday at …", "last seen 24 Nov", or "offline". */
export function lastSeen(iso) {
  if (!iso) return "offline";
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0 || ago === 1) return `last seen ${ago === 0 ? "today" : "yesterday"} at ${clock.format(date)}`;
  return `last seen ${shortTime(iso)}`;
}
