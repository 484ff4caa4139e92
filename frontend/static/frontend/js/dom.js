// Small DOM helpers. Text always goes in as text nodes, never as HTML, so nothing a
// record contains can run as markup.

/**
 * h("button", {class: "primary", onclick: fn}, "Save") builds an element. Attributes
 * starting with "on" become listeners; true/false toggle boolean attributes; children
 * may be strings, numbers, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Replace a node's content. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let counter = 0;
export const uid = (prefix) => `${prefix}-${++counter}`;

/** Announce a short message to screen readers (and nobody else). */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

// Formatting. Dates from the API are ISO 8601; show them in the browser's locale.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

/** A local date as the API writes dates: "2026-11-22". */
export const isoDate = (date = new Date()) => date.toLocaleDateString("en-CA");

/** A calendar date ("1990-04-02") without shifting it through a time zone. */
export function formatDate(value) {
  if (!value) return "";
  const [year, month, day] = value.split("-").map(Number);
  return dateFormat.format(new Date(year, month - 1, day));
}

const languageNames = new Intl.DisplayNames(["en"], { type: "language", fallback: "code" });

/** A BCP-47 tag's English name: "zh-Hans" → "Simplified Chinese". */
export const languageName = (tag) => {
  if (tag === "ase") return "American Sign Language"; // not in every browser's table
  try {
    return languageNames.of(tag);
  } catch {
    return tag; // not a well-formed tag
  }
};

/** A phone number as people read it: +16175550142 → (617) 555-0142. */
export function readablePhone(value) {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(value);
  return nanp ? `(${nanp[1]}) ${nanp[2]}-${nanp[3]}` : value;
}

/** "1 referral", "3 referrals". */
export const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

export const formatDateTime = (value) => (value ? dateTimeFormat.format(new Date(value)) : "");

export function patientName(patient) {
  const full = `${patient.given_name} ${patient.family_name}`.trim();
  return patient.preferred_name ? `${full} (“${patient.preferred_name}”)` : full;
}

/** A link the app's router handles without reloading the page. */
export const link = (href, ...children) => h("a", { href, "data-link": true }, ...children);

export const patientLink = (patient) => link(`/patients/${patient.id}/`, patientName(patient));

export const badge = (text, kind = "") => h("span", { class: `badge ${kind}`.trim() }, text);
