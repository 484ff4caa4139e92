// A patient's open referrals (status, next step, due time, and the transitions the
// workflow allows now, each through a dialog) and open follow-ups (complete, cancel).

import { api, query } from "../api.js";
import { announce, badge, formatDateTime, h } from "../dom.js";
import { actionForm, openDialog } from "../forms.js";
import { can, canWriteRow, session } from "../session.js";
import { dueText, loadInto } from "./common.js";

const actionLabel = (workflow, action) => session.workflows[workflow][action]?.label ?? action;

function referralCard(referral, onChange) {
  const overdue = referral.next_step?.overdue;
  const provider = [
    referral.receiving_practitioner && `${referral.receiving_practitioner.given_name} ${referral.receiving_practitioner.family_name}`,
    referral.receiving_organization?.name,
  ].filter(Boolean).join(", ");
  const headingId = `referral-${referral.id}-heading`;
  const actions = can("referrals", "write") ? referral.allowed_actions ?? [] : [];
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
    referral.next_step
      ? h("p", { class: "next-step" }, h("span", { class: "label" }, "Next step: "), referral.next_step.step, " ", dueText(referral.next_step.due_at, overdue))
      : null,
    actions.length
      ? h(
          "div",
          { class: "actions", role: "group", "aria-label": `Actions for the ${referral.specialty} referral` },
          actions.map((action) =>
            h("button", { type: "button", "data-action": action, onclick: () => transition(referral, action, card, onChange) }, actionLabel("referral", action)),
          ),
        )
      : null,
  );
  return card;
}

async function transition(referral, action, card, onChange) {
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
  const replacement = referralCard(updated, onChange);
  card.replaceWith(replacement);
  const target = replacement.querySelector("button") ?? replacement;
  if (target === replacement) replacement.setAttribute("tabindex", "-1");
  target.focus();
  announce(`Referral is now ${updated.status.label}.`);
  onChange();
}

/** `onChange` runs after a transition: care rules may have opened or closed follow-ups. */
export function renderReferrals(container, { referrals, onChange }) {
  const list = h("div", { class: "cards" });
  list.append(...(referrals.length ? referrals.map((r) => referralCard(r, onChange)) : [h("p", { class: "muted" }, "No open referrals.")]));
  container.append(h("h2", {}, "Open referrals"), list);
}

function followUpItem(followUp, remove) {
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
        )
      : null,
  );
  return item;
}

export function renderFollowUps(container, { patient, followUps, signal }) {
  const list = h("ul", { class: "items" });
  const status = h("div", { class: "panel" });
  const remove = (item) => {
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    if (!list.children.length) show([]);
    (next?.querySelector("button") || container.querySelector("h2")).focus();
  };
  const show = (items) =>
    list.replaceChildren(...(items.length ? items.map((f) => followUpItem(f, remove)) : [h("li", { class: "muted" }, "No open follow-ups.")]));
  container.append(h("h2", { tabindex: "-1" }, "Open follow-ups"), status, list);
  show(followUps);
  return {
    refresh: () =>
      loadInto(status, () => api(`follow-ups/${query({ patient: patient.id, status: "open", page_size: 50 })}`, { signal }), (page) => show(page.results)),
  };
}
