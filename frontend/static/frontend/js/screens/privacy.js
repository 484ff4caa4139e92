// The privacy officer's screen (the administrator role): break-glass uses waiting for
// review, and the access log by patient, user and period.

import { api, query } from "../api.js";
import { announce, fill, formatDateTime, h, link } from "../dom.js";
import { openDialog } from "../forms.js";
import { latestOnly, loadInto, staff } from "./common.js";

function grantItem(grant, onReviewed) {
  const review = async () => {
    const reviewed = await openDialog({
      title: `Review ${grant.user.name}'s emergency access`,
      description: grant.reason,
      fields: [{ name: "note", label: "Review note", type: "textarea", required: true, maxlength: 2000 }],
      submitLabel: "Mark reviewed",
      onSubmit: (values) => api(`audit/break-glass/${grant.id}/review/`, { method: "POST", body: values }),
    });
    if (!reviewed) return;
    onReviewed(item);
    announce(`Emergency access by ${grant.user.name} marked reviewed.`);
  };
  const item = h(
    "li",
    { class: "item", "data-grant": grant.id },
    h("div", { class: "item-title" }, `${grant.user.name} · `, link(`/patients/${grant.patient}/`, `patient #${grant.patient}`)),
    h("div", { class: "item-meta" }, `From ${formatDateTime(grant.granted_at)} to ${formatDateTime(grant.expires_at)}`),
    h("p", { class: "summary" }, `Reason: ${grant.reason}`),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: review }, "Review")),
  );
  return item;
}

function renderReviewQueue(section, signal) {
  const list = h("ul", { class: "items" });
  const status = h("div", { class: "panel" });
  const empty = () => list.replaceChildren(h("li", { class: "muted" }, "No emergency access waiting for review."));
  const reviewed = (item) => {
    const next = item.nextElementSibling?.querySelector("button") ?? section.querySelector("h2");
    item.remove();
    if (!list.children.length) empty();
    next.focus();
  };
  section.append(h("h2", { tabindex: "-1" }, "Break-glass review"), status, list);
  loadInto(status, () => api(`audit/break-glass/${query({ reviewed: "false", page_size: 100 })}`, { signal }), (page) => {
    list.replaceChildren(...page.results.map((g) => grantItem(g, reviewed)));
    if (!page.results.length) empty();
  });
}

const cell = (text) => h("td", {}, text);

function accessRow(record, names) {
  return h(
    "tr",
    {},
    cell(formatDateTime(record.occurred_at)),
    cell(names.get(record.user_id) ?? (record.username || "—")),
    cell(`${record.method} ${record.endpoint}`),
    cell(record.patients.length ? record.patients.map((id, i) => [i ? ", " : "", link(`/patients/${id}/`, `#${id}`)]) : "—"),
    cell(record.outcome.label),
    cell(record.purpose?.label ?? "—"),
  );
}

async function renderAccessLog(section, signal) {
  const people = await staff();
  const names = new Map(people.map((p) => [p.id, p.name]));
  const patient = h("input", { id: "log-patient", type: "number", min: "1", inputmode: "numeric" });
  const user = h("select", { id: "log-user" }, h("option", { value: "" }, "Anyone"), people.map((p) => h("option", { value: p.id }, p.name)));
  const after = h("input", { id: "log-after", type: "date" });
  const before = h("input", { id: "log-before", type: "date" });
  const rows = h("tbody");
  const status = h("div", { class: "panel" });
  const more = h("button", { type: "button", hidden: true }, "Load older entries");
  const nextSignal = latestOnly(signal);
  let nextUrl = null;
  const show = (page, append) => {
    if (!append) rows.replaceChildren();
    rows.append(...page.results.map((record) => accessRow(record, names)));
    if (!rows.children.length) rows.append(h("tr", {}, h("td", { colspan: "6", class: "muted" }, "No access matches.")));
    nextUrl = page.next;
    more.hidden = !nextUrl;
  };
  // Dates are the browser's local days: the start of the first to the end of the last.
  const dayStart = (value, plusDays = 0) => {
    const day = new Date(`${value}T00:00`);
    day.setDate(day.getDate() + plusDays);
    return day.toISOString();
  };
  const load = () => {
    if (after.value && before.value && after.value > before.value) {
      fill(status, h("p", { class: "error-box", role: "alert" }, "The period ends before it starts: choose a To date on or after the From date."));
      return null;
    }
    const params = {
      patient: patient.value,
      user: user.value,
      after: after.value ? dayStart(after.value) : "",
      before: before.value ? dayStart(before.value, 1) : "",
      page_size: 50,
    };
    return loadInto(status, () => api(`audit/access/${query(params)}`, { signal: nextSignal() }), (page) => show(page, false));
  };
  more.addEventListener("click", () => loadInto(status, () => api(nextUrl, { signal: nextSignal() }), (page) => show(page, true)));
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter the access log", onsubmit: (event) => (event.preventDefault(), load()) },
    h("div", { class: "field" }, h("label", { for: "log-patient" }, "Patient number"), patient),
    h("div", { class: "field" }, h("label", { for: "log-user" }, "User"), user),
    h("div", { class: "field" }, h("label", { for: "log-after" }, "From"), after),
    h("div", { class: "field" }, h("label", { for: "log-before" }, "To"), before),
    h("div", { class: "field" }, h("button", { type: "submit", class: "primary" }, "Show")),
  );
  section.append(
    h("h2", {}, "Access log"),
    form,
    status,
    h(
      "div",
      { class: "table-scroll", role: "region", "aria-label": "Access log entries", tabindex: "0" },
      h(
        "table",
        { class: "data" },
        h("thead", {}, h("tr", {}, ["When", "User", "Request", "Patients", "Outcome", "Purpose"].map((t) => h("th", { scope: "col" }, t)))),
        rows,
      ),
    ),
    more,
  );
  await load();
}

export async function renderPrivacy(main, { signal }) {
  const queue = h("section", { "aria-label": "Break-glass review" });
  const log = h("section", { "aria-label": "Access log" });
  main.replaceChildren(h("h1", {}, "Privacy"), queue, log);
  renderReviewQueue(queue, signal);
  await renderAccessLog(log, signal);
}
