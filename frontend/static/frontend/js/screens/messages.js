// Texts and emails: sending one from the patient's page (with a preview in the
// patient's language and the contact policy's answer before anything goes), a
// message's status on the timeline, a two-way conversation, and the inbox of patients'
// texts waiting for an answer.

import { api, query } from "../api.js";
import { announce, badge, fill, formatDateTime, h, languageName, link, patientLink } from "../dom.js";
import { openDialog } from "../forms.js";
import { can, session } from "../session.js";
import { filtersInAddress, latestOnly, loadInto } from "./common.js";

const STATUS_KIND = {
  delivered: "ok",
  sent: "ok",
  queued: "",
  sending: "",
  received: "",
  failed: "danger",
  undeliverable: "danger",
  refused: "danger",
  cancelled: "",
};

/** A message's status as the timeline and the conversation show it. */
export function messageStatus(message) {
  const label = message.status.label ?? message.status;
  const value = message.status.value ?? message.status;
  return h(
    "span",
    { class: "message-status", "data-status": value },
    badge(label, STATUS_KIND[value] ?? ""),
    message.status_reason ? h("span", { class: "muted" }, ` ${message.status_reason}`) : null,
    message.fallback ? h("span", { class: "muted" }, ` Sent in ${languageName(message.language_used)}: no translation in the patient's language.`) : null,
  );
}

function previewPanel() {
  const panel = h("div", { class: "message-preview", "aria-live": "polite", id: "message-preview" });
  return {
    panel,
    show(preview) {
      if (!preview.allowed) {
        panel.replaceChildren(h("p", { class: "error-box" }, h("strong", {}, "Will not be sent: "), preview.reason, " ", preview.notes.join(" ")));
        return;
      }
      const language = preview.language_used ? languageName(preview.language_used) : "English";
      fill(
        panel,
        h(
          "p",
          { class: "muted" },
          `By ${preview.channel === "email" ? "email" : "text"} to ${preview.address}, in ${language}`,
          preview.fallback ? ` (no translation in ${languageName(preview.language)} yet)` : "",
          preview.segments ? ` · ${preview.segments} segment${preview.segments === 1 ? "" : "s"} (${preview.encoding})` : "",
          preview.notes.length ? ` · ${preview.notes.join(" ")}` : "",
        ),
        preview.send_after ? h("p", { class: "notice" }, `Goes out when the patient's hours begin: ${formatDateTime(preview.send_after)}.`) : null,
        preview.subject ? h("p", {}, h("strong", {}, preview.subject)) : null,
        h("pre", { class: "message-body", dir: "auto", lang: preview.language_used || "en" }, preview.body),
      );
    },
    error(text) {
      panel.replaceChildren(h("p", { class: "muted" }, text));
    },
  };
}

/** The "Send a message" dialog: resolves with the message sent, or null. */
export async function sendMessage(patient) {
  const departments = can("interactions", "write", "ALL")
    ? session.choices.department
    : session.choices.department.filter((d) => session.departments.includes(d.value));
  const preview = previewPanel();
  const idempotencyKey = crypto.randomUUID();
  let asked = 0;
  const body = (values) => ({ patient_id: patient.id, ...values, channel: values.channel || "" });
  return openDialog({
    title: "Send a message",
    description: `To ${patient.given_name ?? "the patient"}, in their language. The preview shows what will go out, and whether it may.`,
    fields: [
      { name: "template", label: "What to send", type: "select", required: true, options: session.choices.message_template, value: "general" },
      { name: "text", label: "Text (for a general message)", type: "textarea", maxlength: 1600, help: "Write it in the patient's language; the clinic's name is added." },
      { name: "channel", label: "Send by", type: "select", options: [{ value: "", label: "As the patient prefers" }, ...session.choices.message_channel] },
      { name: "purpose", label: "Purpose", type: "select", required: true, options: session.choices.consent_purpose, value: "care_coordination" },
      { name: "department", label: "Replies go to", type: "select", required: true, options: departments, value: session.departments[0] ?? departments[0]?.value },
    ],
    aside: preview.panel,
    submitLabel: "Send",
    async onChange(values) {
      const mine = ++asked;
      if (values.template === "general" && !values.text) {
        preview.error("Write the text to see the preview.");
        return;
      }
      try {
        const answer = await api("messages/preview/", { method: "POST", body: body(values) });
        if (mine === asked) preview.show(answer);
      } catch (error) {
        if (mine === asked) preview.error(error.message);
      }
    },
    onSubmit: (values) => api("messages/", { method: "POST", body: body(values), idempotencyKey }),
  });
}

function bubble(message) {
  const inbound = message.direction.value === "inbound";
  return h(
    "li",
    { class: `bubble ${inbound ? "inbound" : "outbound"}`, "data-message": message.id },
    h("div", { class: "item-meta" }, inbound ? "Patient" : message.sent_by?.name ?? message.sender.label, " · ", h("time", { datetime: message.created_at }, formatDateTime(message.created_at))),
    message.subject ? h("p", {}, h("strong", {}, message.subject)) : null,
    h("p", { class: "message-body", dir: "auto" }, message.body),
    inbound ? (message.keyword ? badge(`Keyword: ${message.keyword.label}`) : null) : messageStatus(message),
  );
}

/** /messages/<id>/: the thread a message is in, and a reply box when the patient wrote. */
export async function renderConversation(main, { params: [id], signal, setTitle }) {
  const list = h("ol", { class: "conversation", "aria-label": "Messages, oldest first" });
  const status = h("div", { class: "panel" });
  const heading = h("h1", {}, "Conversation");
  main.replaceChildren(heading, status, list);
  let thread = [];
  await loadInto(status, () => api(`messages/${id}/conversation/`, { signal }), (messages) => {
    thread = messages;
    list.replaceChildren(...messages.map(bubble));
  });
  if (!thread.length) return;
  const patient = thread[0].patient;
  setTitle(`Conversation with ${patient.given_name}`);
  heading.replaceChildren(`${thread[0].channel.label} with `, patientLink(patient));
  const lastInbound = [...thread].reverse().find((m) => m.direction.value === "inbound");
  if (!lastInbound || !can("interactions", "write")) return;
  const text = h("textarea", { id: "reply-text", rows: 3, maxlength: 1600, required: true });
  const error = h("p", { class: "field-error", id: "reply-error" });
  const send = h("button", { type: "submit", class: "primary" }, "Send reply");
  const form = h(
    "form",
    { class: "reply", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "reply-text" }, "Reply"), text, error),
    h("div", { class: "actions" }, send),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!text.value.trim()) {
      error.textContent = "Write the reply.";
      text.focus();
      return;
    }
    send.disabled = true;
    try {
      const reply = await api(`messages/${lastInbound.id}/reply/`, { method: "POST", body: { text: text.value } });
      list.append(bubble(reply));
      text.value = "";
      announce("Reply sent.");
    } catch (failure) {
      error.textContent = failure.fieldErrors?.text?.join(" ") || failure.message;
    } finally {
      send.disabled = false;
    }
  });
  main.append(form);
}

function inboxItem(message, now) {
  const due = new Date(message.answer_due);
  const overdue = due < now;
  return h(
    "li",
    { class: "item", "data-message": message.id },
    h("div", { class: "item-title" }, patientLink(message.patient), " ", overdue ? badge("Overdue", "danger") : null),
    h("p", { class: "message-body", dir: "auto" }, message.body),
    h(
      "div",
      { class: "item-meta" },
      "Received ",
      formatDateTime(message.created_at),
      ` · ${message.department.label} · answer by `,
      h("time", { datetime: message.answer_due }, formatDateTime(message.answer_due)),
      " · ",
      link(`/messages/${message.id}/`, "Open the conversation"),
    ),
  );
}

/** /inbox/: patients' texts no one has answered yet, oldest first, per team. */
export async function renderInbox(main, { signal }) {
  const department = h("select", { id: "inbox-department" }, h("option", { value: "" }, "All teams"), session.choices.department.map((d) => h("option", { value: d.value }, d.label)));
  if (session.departments.length) department.value = session.departments[0];
  const list = h("ol", { class: "items" });
  const status = h("div", { class: "panel" });
  main.replaceChildren(
    h("h1", {}, "Inbox"),
    h("p", { class: "muted" }, "Patients' texts waiting for an answer, oldest first."),
    h("div", { class: "filters", role: "group", "aria-label": "Filter the inbox" }, h("div", { class: "field" }, h("label", { for: "inbox-department" }, "Team"), department)),
    status,
    list,
  );
  const nextSignal = latestOnly(signal);
  const remember = filtersInAddress({ department });
  async function load() {
    await loadInto(status, () => api(`messages/inbox/${query({ department: department.value, page_size: 50 })}`, { signal: nextSignal() }), (page) => {
      const now = new Date();
      list.replaceChildren(...page.results.map((m) => inboxItem(m, now)));
      if (!page.results.length) list.append(h("li", { class: "muted" }, "Nothing waiting for an answer."));
    });
  }
  department.addEventListener("change", () => {
    remember();
    load();
  });
  await load();
}
