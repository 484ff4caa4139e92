// A patient's referrals (status, next step, due time, and the transitions the workflow
// allows now, each through a dialog; past ones with their report) and open follow-ups
// (complete, cancel).

import { api, query } from "../api.js";
import { announce, badge, formatDate, formatDateTime, h, link } from "../dom.js";
import { actionForm, openDialog } from "../forms.js";
import { can, canWriteRow, session } from "../session.js";
import { dueText, loadInto, staff } from "./common.js";
import { openReferralForm } from "./referral_form.js";

const actionLabel = (workflow, action) => session.workflows[workflow][action]?.label ?? action;

/**
 * One referral as a card. `onChange` runs after a step (care rules may have opened or
 * closed follow-ups). Options: `patient` (with languages, for the provider picker),
 * `onCreated(referral)` after a declined one is redirected, and `page` on the
 * referral's own page, which needs no link to itself.
 */
export function referralCard(referral, onChange, options = {}) {
  const { patient = null, page = false, onCreated = () => {} } = options;
  const overdue = referral.next_step?.overdue;
  const provider = [
    referral.receiving_practitioner && `${referral.receiving_practitioner.given_name} ${referral.receiving_practitioner.family_name}`,
    referral.receiving_organization?.name,
  ].filter(Boolean).join(", ");
  const headingId = `referral-${referral.id}-heading`;
  const mayWrite = can("referrals", "write");
  const actions = mayWrite ? referral.allowed_actions ?? [] : [];
  const redirect = async () => {
    const created = await openReferralForm({ patient: patient ?? referral.patient, replaces: referral });
    if (!created) return;
    announce(`New ${created.specialty} referral created as a draft; it replaces the declined one.`);
    card.replaceWith(referralCard({ ...referral, replaced_by: created.id }, onChange, options));
    onCreated(created);
    onChange();
  };
  const card = h(
    "article",
    { class: `card${overdue ? " is-overdue" : ""}`, "aria-labelledby": headingId, "data-referral": referral.id },
    h(
      "h3",
      { id: headingId },
      referral.specialty,
      " ",
      badge(referral.status.label, `status-${referral.status.value}`),
      " ",
      badge(referral.priority.label, `priority-${referral.priority.value}`),
    ),
    h("p", { class: "item-meta" }, provider || "No receiving provider yet", referral.sent_at ? ` · sent ${formatDateTime(referral.sent_at)}` : ""),
    referral.reason ? h("p", {}, h("span", { class: "label" }, "Reason: "), referral.reason) : null,
    referral.appointment_at ? h("p", {}, h("span", { class: "label" }, "Appointment: "), formatDateTime(referral.appointment_at)) : null,
    referral.report_received_on
      ? h("p", {}, h("span", { class: "label" }, "Report: "), `received ${formatDate(referral.report_received_on)}`, referral.report_summary ? ` — ${referral.report_summary}` : "")
      : null,
    referral.next_step
      ? h("p", { class: "next-step" }, h("span", { class: "label" }, "Next step: "), referral.next_step.step, " ", dueText(referral.next_step.due_at, overdue))
      : null,
    h(
      "div",
      { class: "actions", role: "group", "aria-label": `Actions for the ${referral.specialty} referral` },
      actions.map((action) =>
        h("button", { type: "button", "data-action": action, onclick: () => transition(referral, action, card, onChange, options) }, actionLabel("referral", action)),
      ),
      mayWrite && referral.status.value === "declined" && !referral.replaced_by
        ? h("button", { type: "button", "data-action": "redirect", onclick: redirect }, "Redirect to another provider")
        : null,
      referral.replaced_by ? link(`/referrals/${referral.replaced_by}/`, `Replaced by referral #${referral.replaced_by}`) : null,
      page ? null : link(`/referrals/${referral.id}/`, "Details and every step"),
    ),
  );
  return card;
}

async function transition(referral, action, card, onChange, options) {
  const form = actionForm("referral", action);
  const updated = await openDialog({
    title: `${form.label}: ${referral.specialty} referral`,
    description: form.description,
    fields: form.fields,
    submitLabel: form.label,
    onSubmit: (values) =>
      api(`referrals/${referral.id}/${action.replaceAll("_", "-")}/`, { method: "POST", body: values, version: referral.version }),
  });
  if (!updated) return;
  const replacement = referralCard(updated, onChange, options);
  card.replaceWith(replacement);
  options.onMoved?.(replacement, updated);
  const target = replacement.querySelector("button") ?? replacement;
  if (target === replacement) replacement.setAttribute("tabindex", "-1");
  target.focus();
  announce(`Referral is now ${updated.status.label}.`);
  onChange();
}

const PAST = ["declined", "closed", "cancelled"];

/**
 * The patient's open referrals and, below them, the others, newest first: declined
 * (with the button that redirects them to another provider), closed (with their report)
 * and cancelled. The 360 (`record`) brings the newest of each; the rest load on request.
 * `onChange` runs after a step.
 */
export function renderReferrals(container, { patient, record, onChange, signal }) {
  const list = h("div", { class: "cards" });
  // A referral closed or cancelled moves down to the past ones; reopened, back up.
  const onMoved = (card, updated) => {
    const target = PAST.includes(updated.status.value) ? pastList : list;
    if (card.parentElement === target) return;
    target.querySelector(":scope > p.muted")?.remove();
    target.prepend(card);
    card.querySelector("button, a")?.focus();
  };
  const options = { patient, onCreated: (created) => add(created), onMoved };
  const cardOf = (referral) => referralCard(referral, onChange, options);
  const add = (created) => {
    list.querySelector(":scope > p.muted")?.remove();
    const card = cardOf(created);
    list.prepend(card);
    card.setAttribute("tabindex", "-1");
    card.focus();
  };
  const create = async () => {
    const created = await openReferralForm({ patient });
    if (!created) return;
    announce(`New ${created.specialty} referral created as a draft.`);
    add(created);
  };
  const lists = { card: cardOf, patient, signal };
  const pastList = h("div", { class: "cards" });
  container.append(
    h("div", { class: "section-head" }, h("h2", {}, "Open referrals"), can("referrals", "write") ? h("button", { type: "button", onclick: create }, "New referral") : null),
    ...pagedReferrals({
      ...lists,
      cards: list,
      status: session.choices.referral_status.map((s) => s.value).filter((s) => !PAST.includes(s)),
      shown: record.open_referrals,
      total: record.counts.open_referrals,
      showAll: `Show all ${record.counts.open_referrals} open referrals`,
      showMore: "Show more open referrals",
      empty: "No open referrals.",
    }),
    h("h3", {}, "Declined and past referrals"),
    ...pagedReferrals({
      ...lists,
      cards: pastList,
      status: PAST,
      shown: record.past_referrals,
      total: record.counts.past_referrals,
      showAll: `Show all ${record.counts.past_referrals}`,
      showMore: "Show older referrals",
      empty: "No past referrals.",
    }),
  );
}

/**
 * Referral cards (`status`) the 360 filled with its first few, and a button that pages
 * in all `total` of them from the referral list, 50 at a time. Returns the elements to
 * place: a status panel, the cards, the button's footer.
 */
function pagedReferrals({ cards, card, status, shown, total, showAll, showMore, empty, patient, signal }) {
  const panel = h("div", { class: "panel" });
  const footer = h("div", { class: "panel-footer" });
  const show = (items) => cards.replaceChildren(...(items.length ? items.map(card) : [h("p", { class: "muted" }, empty)]));
  let loaded = [];
  const load = (url) =>
    loadInto(panel, () => api(url, { signal }), (page) => {
      loaded = [...loaded, ...page.results];
      show(loaded);
      footer.replaceChildren(page.next ? h("button", { type: "button", onclick: () => load(page.next) }, showMore) : "");
    });
  if (total > shown.length) {
    const all = `referrals/${query({ patient: patient.id, status, page_size: 50 })}`;
    footer.append(h("button", { type: "button", onclick: () => load(all) }, showAll));
  }
  show(shown);
  return [panel, cards, footer];
}

/** "Assign to": a person (user:ID) or a department queue (queue:KEY). */
async function assigneeField(current = {}) {
  const people = await staff();
  return {
    name: "assignee",
    label: "Assign to",
    type: "select",
    required: true,
    options: [
      ...people.map((p) => ({ value: `user:${p.id}`, label: p.id === session.user.id ? `Me (${p.name})` : p.name })),
      ...session.choices.department.map((d) => ({ value: `queue:${d.value}`, label: `${d.label} queue` })),
    ],
    value: current.assigned_to ? `user:${current.assigned_to.id}` : current.queue ? `queue:${current.queue.value}` : `user:${session.user.id}`,
  };
}

/** The API's fields for an "assignee" value. */
function assignee(value) {
  const [kind, key] = value.split(":");
  return kind === "user" ? { assigned_to_id: Number(key), queue: "" } : { assigned_to_id: null, queue: key };
}

function followUpItem(followUp, remove, replace) {
  const mayWrite = canWriteRow("follow_ups", { queue: followUp.queue?.value, assignee: followUp.assigned_to?.id });
  const finish = async (kind) => {
    const form = actionForm("follow_up", kind);
    const done = await openDialog({
      title: `${form.label}: ${followUp.title}`,
      fields: form.fields,
      submitLabel: kind === "complete" ? "Mark complete" : "Cancel follow-up",
      onSubmit: (values) => api(`follow-ups/${followUp.id}/${kind}/`, { method: "POST", body: values, version: followUp.version }),
    });
    if (!done) return;
    remove(item);
    announce(kind === "complete" ? "Follow-up completed." : "Follow-up cancelled.");
  };
  const reassign = async () => {
    const updated = await openDialog({
      title: `Reassign: ${followUp.title}`,
      fields: [await assigneeField(followUp)],
      submitLabel: "Reassign",
      onSubmit: (values) => api(`follow-ups/${followUp.id}/`, { method: "PATCH", body: assignee(values.assignee), version: followUp.version }),
    });
    if (!updated) return;
    replace(item, updated);
    announce(`Follow-up now with ${updated.assigned_to?.name ?? `the ${updated.queue.label} queue`}.`);
  };
  const item = h(
    "li",
    { class: `item${followUp.overdue ? " is-overdue" : ""}`, "data-follow-up": followUp.id },
    h("div", { class: "item-title" }, followUp.title, " ", badge(followUp.priority.label, `priority-${followUp.priority.value}`)),
    h(
      "div",
      { class: "item-meta" },
      followUp.kind.label,
      followUp.assigned_to ? ` · ${followUp.assigned_to.name}` : followUp.queue ? ` · ${followUp.queue.label} queue` : "",
      " ",
      dueText(followUp.due_at, followUp.overdue),
    ),
    followUp.note ? h("p", { class: "summary" }, followUp.note) : null,
    mayWrite
      ? h(
          "div",
          { class: "actions" },
          (followUp.allowed_actions ?? []).map((action) =>
            h("button", { type: "button", onclick: () => finish(action) }, actionLabel("follow_up", action)),
          ),
          followUp.status.value === "open" ? h("button", { type: "button", onclick: reassign }, "Reassign") : null,
        )
      : null,
  );
  return item;
}

/**
 * The patient's open follow-ups, due first: the 360's first few of `total`, all of them
 * on request, and again from the list after a referral step (`refresh`).
 */
export function renderFollowUps(container, { patient, followUps, total, signal }) {
  const list = h("ul", { class: "items" });
  const status = h("div", { class: "panel" });
  const footer = h("div", { class: "panel-footer" });
  const remove = (item) => {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    if (!list.children.length) show([]);
    (next?.querySelector("button") || container.querySelector("h2")).focus();
  };
  const replace = (item, updated) => {
    const fresh = followUpItem(updated, remove, replace);
    item.replaceWith(fresh);
    fresh.querySelector("button")?.focus();
  };
  const show = (items) =>
    list.replaceChildren(...(items.length ? items.map((f) => followUpItem(f, remove, replace)) : [h("li", { class: "muted" }, "No open follow-ups.")]));
  const create = async () => {
    const idempotencyKey = crypto.randomUUID();
    const created = await openDialog({
      title: `New follow-up for ${patient.given_name}`,
      fields: [
        { name: "title", label: "What needs doing", type: "text", required: true, maxlength: 200 },
        { name: "kind", label: "Kind", type: "select", required: true, options: session.choices.follow_up_kind, value: "callback" },
        { name: "due_at", label: "Due", type: "datetime-local", required: true },
        await assigneeField(),
        { name: "priority", label: "Priority", type: "select", required: true, options: session.choices.follow_up_priority, value: "medium" },
        { name: "note", label: "Note", type: "textarea", maxlength: 4000 },
      ],
      submitLabel: "Create follow-up",
      onSubmit: ({ assignee: to, ...values }) =>
        api("follow-ups/", { method: "POST", body: { patient_id: patient.id, ...values, ...assignee(to) }, idempotencyKey }),
    });
    if (!created) return;
    list.querySelector(":scope > li.muted")?.remove();
    const item = followUpItem(created, remove, replace);
    list.prepend(item);
    item.querySelector("button")?.focus();
    announce("Follow-up created.");
  };
  container.append(
    h("div", { class: "section-head" }, h("h2", { tabindex: "-1" }, "Open follow-ups"), can("follow_ups", "write") ? h("button", { type: "button", onclick: create }, "New follow-up") : null),
    status,
    list,
    footer,
  );
  let loaded = [];
  const load = (url, more = false) =>
    loadInto(status, () => api(url, { signal }), (page) => {
      loaded = more ? [...loaded, ...page.results] : page.results;
      show(loaded);
      footer.replaceChildren(page.next ? h("button", { type: "button", onclick: () => load(page.next, true) }, "Show more open follow-ups") : "");
    });
  const all = `follow-ups/${query({ patient: patient.id, status: "open", page_size: 50 })}`;
  show(followUps);
  if (total > followUps.length) footer.append(h("button", { type: "button", onclick: () => load(all) }, `Show all ${total} open follow-ups`));
  return { refresh: () => load(all) };
}
