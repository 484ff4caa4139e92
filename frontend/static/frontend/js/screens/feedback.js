// Complaints and surveys: taking a complaint from any channel and working it through its
// steps with its service-level clock in view, sending a survey, reading the answers.

import { api, query } from "../api.js";
import { announce, badge, formatDateTime, h, patientLink } from "../dom.js";
import { actionForm, openDialog } from "../forms.js";
import { can, canWriteRow, session } from "../session.js";
import { loadInto } from "./common.js";

const SURVEY_CHANNELS = ["sms", "email", "portal"];

/** The clock of the step the complaint is at: first response while new, resolution
 * while open, and when each happened once resolved. Marked when past the target. */
function clock(complaint) {
  const due = complaint.due;
  const status = complaint.status.value;
  if (status === "resolved" || status === "closed") {
    return h(
      "span",
      { class: "due" },
      complaint.first_response_at ? `First response ${formatDateTime(complaint.first_response_at)} · ` : "",
      `Resolved ${formatDateTime(complaint.resolved_at)}`,
    );
  }
  if (!due) return null;
  const [what, when] = status === "new" ? ["First response due", due.first_response_due] : ["Resolution due", due.resolve_due];
  return h(
    "span",
    { class: due.overdue ? "due overdue" : "due" },
    due.overdue ? [badge("Past target", "danger"), " "] : null,
    `${what} ${formatDateTime(when)}`,
  );
}

/**
 * A complaint as a card with its clock and the steps its state allows. `onChange(updated)`
 * runs after a step; `withPatient` names the patient (on the worklist).
 */
export function complaintCard(complaint, { withPatient = false, onChange = () => {} } = {}) {
  const mayWrite = canWriteRow("feedback", { department: complaint.department.value, queue: complaint.queue?.value, assignee: complaint.owner?.id });
  const actions = mayWrite ? complaint.allowed_actions ?? [] : [];
  const headingId = `complaint-${complaint.id}-heading`;
  const card = h(
    "article",
    { class: `card${complaint.due?.overdue ? " is-overdue" : ""}`, "aria-labelledby": headingId, "data-complaint": complaint.id },
    h(
      "h3",
      { id: headingId },
      withPatient ? [patientLink(complaint.patient), " · "] : null,
      complaint.category.label,
      " ",
      badge(complaint.status.label, `status-${complaint.status.value}`),
      " ",
      badge(complaint.priority.label, `priority-${complaint.priority.value}`),
    ),
    h(
      "p",
      { class: "item-meta" },
      `Received ${formatDateTime(complaint.received_at)} by ${complaint.channel.label} · ${complaint.department.label}`,
      complaint.owner ? ` · owner ${complaint.owner.name}` : complaint.queue ? ` · ${complaint.queue.label} team` : "",
    ),
    complaint.description ? h("p", { class: "summary" }, complaint.description) : null,
    complaint.resolution_note
      ? h("p", {}, h("span", { class: "label" }, "Resolution: "), complaint.resolution_note, complaint.patient_informed ? " (patient informed)" : " (patient not yet informed)")
      : null,
    h("p", {}, clock(complaint)),
    actions.length
      ? h(
          "div",
          { class: "actions", role: "group", "aria-label": `Actions for the ${complaint.category.label.toLowerCase()} complaint` },
          actions.map((action) => h("button", { type: "button", onclick: () => step(complaint, action) }, session.workflows.complaint[action].label)),
        )
      : null,
  );

  async function step(current, action) {
    const form = actionForm("complaint", action);
    const updated = await openDialog({
      title: `${form.label}: ${current.category.label} complaint`,
      description: form.description,
      fields: form.fields,
      submitLabel: form.label,
      onSubmit: (values) => api(`complaints/${current.id}/${action}/`, { method: "POST", body: values, version: current.version }),
    });
    if (!updated) return;
    const replacement = complaintCard(updated, { withPatient, onChange });
    card.replaceWith(replacement);
    (replacement.querySelector("button") ?? replacement.querySelector("h3")).focus();
    announce(`Complaint is now ${updated.status.label}.`);
    onChange(updated);
  }
  return card;
}

function complaintFields() {
  const departments = can("feedback", "write", "ALL")
    ? session.choices.department
    : session.choices.department.filter((d) => session.departments.includes(d.value));
  return [
    { name: "channel", label: "Received by", type: "select", required: true, options: session.choices.channel, value: "phone" },
    { name: "category", label: "Category", type: "select", required: true, options: session.choices.complaint_category },
    { name: "department", label: "Department concerned", type: "select", required: true, options: departments, value: session.departments[0] ?? departments[0]?.value },
    { name: "priority", label: "Priority", type: "select", options: session.choices.complaint_priority, placeholder: "From the category", help: "Defaults from the category; may be raised, not lowered." },
    {
      name: "owner",
      label: "Who works it",
      type: "select",
      required: true,
      options: [
        { value: "me", label: "Me" },
        { value: "team", label: "The department's team" },
      ],
      value: "me",
    },
    { name: "description", label: "What the patient said", type: "textarea", required: true, maxlength: 10000 },
  ];
}

function surveyFields() {
  const departments = session.choices.department;
  return [
    { name: "channel", label: "Send by", type: "select", required: true, options: session.choices.channel.filter((c) => SURVEY_CHANNELS.includes(c.value)), value: "sms" },
    { name: "department", label: "Rates the visit or contact with", type: "select", required: true, options: departments, value: session.departments[0] ?? departments[0]?.value },
  ];
}

function answerItem(r) {
  const scores = [
    r.nps_score !== null && r.nps_score !== undefined ? `Likely to recommend: ${r.nps_score}/10` : "",
    r.csat_score !== null && r.csat_score !== undefined ? `Satisfaction: ${r.csat_score}/5` : "",
  ].filter(Boolean);
  return h(
    "li",
    { class: "item" },
    h("div", { class: "item-title" }, scores.join(" · "), r.detractor ? [" ", badge("Detractor", "danger")] : null),
    h("div", { class: "item-meta" }, formatDateTime(r.received_at), r.department?.label ? ` · ${r.department.label}` : "", ` · by ${r.channel.label}`),
    r.comment ? h("p", { class: "summary" }, r.comment) : null,
  );
}

/** The 360's feedback tab: complaints (take one, work it) and surveys (send one). */
export function renderFeedback(panel, patient, signal) {
  const complaints = h("div", { class: "cards" });
  const complaintStatus = h("div", { class: "panel" });
  const surveys = h("div", { class: "panel" });
  const sent = h("div", { "aria-live": "polite" });
  const mayWrite = can("feedback", "write");

  const take = async () => {
    const idempotencyKey = crypto.randomUUID();
    const created = await openDialog({
      title: "Take a complaint",
      description: `From ${patient.given_name}. The service-level clock starts when it was received.`,
      fields: complaintFields(),
      submitLabel: "Save complaint",
      onSubmit: ({ owner, ...values }) =>
        api("complaints/", {
          method: "POST",
          body: { patient_id: patient.id, ...values, ...(owner === "me" ? { owner_id: session.user.id } : { queue: values.department }) },
          idempotencyKey,
        }),
    });
    if (!created) return;
    complaints.querySelector(":scope > p.muted")?.remove();
    const card = complaintCard(created);
    complaints.prepend(card);
    card.querySelector("button")?.focus();
    announce("Complaint saved.");
  };

  const send = async () => {
    const invitation = await openDialog({
      title: "Send a survey",
      description: "The contact policy decides: a patient who opted out of surveys on the channel, or of all contact, is not sent one, and the reason is shown.",
      fields: surveyFields(),
      submitLabel: "Send survey",
      onSubmit: (values) => api("surveys/invitations/", { method: "POST", body: { patient_id: patient.id, ...values } }),
    });
    if (!invitation) return;
    sent.replaceChildren(
      h(
        "p",
        { class: "notice" },
        invitation.message
          ? `Survey ${invitation.message.status.label.toLowerCase()} by ${invitation.channel.label}, valid until ${formatDateTime(invitation.expires_at)}: `
          : `Survey link created for ${invitation.channel.label}, valid until ${formatDateTime(invitation.expires_at)}; hand it to the patient: `,
        h("a", { href: invitation.link, target: "_blank", rel: "noreferrer" }, "the patient's link"),
        ".",
      ),
    );
  };

  panel.append(
    h("div", { class: "section-head" }, h("h2", {}, "Complaints"), mayWrite ? h("button", { type: "button", onclick: take }, "Take a complaint") : null),
    complaintStatus,
    complaints,
    h("div", { class: "section-head" }, h("h2", {}, "Survey answers"), mayWrite ? h("button", { type: "button", onclick: send }, "Send a survey") : null),
    sent,
    surveys,
  );
  loadInto(complaintStatus, () => api(`complaints/${query({ patient: patient.id, page_size: 50 })}`, { signal }), (page) => {
    complaints.replaceChildren(...(page.results.length ? page.results.map((c) => complaintCard(c)) : [h("p", { class: "muted" }, "No complaints.")]));
  });
  loadInto(surveys, () => api(`surveys/responses/${query({ patient: patient.id })}`, { signal }), (page) => {
    surveys.append(page.results.length ? h("ul", { class: "items" }, page.results.map(answerItem)) : h("p", { class: "muted" }, "No survey answers."));
  });
}
