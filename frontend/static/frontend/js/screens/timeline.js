// The patient's interactions on every channel, newest first: filters by channel and
// department, "load more" through the API's cursor, and logging a new one.

import { api, query } from "../api.js";
import { announce, badge, formatDateTime, h, link } from "../dom.js";
import { openDialog } from "../forms.js";
import { channelIcon } from "../icons.js";
import { can, session } from "../session.js";
import { latestOnly, loadInto } from "./common.js";
import { messageStatus, sendMessage } from "./messages.js";

function interactionItem(item) {
  const restricted = item.sensitivity?.value === "restricted";
  return h(
    "li",
    { class: `timeline-item${restricted ? " restricted" : ""}`, "data-interaction": item.id },
    h("span", { class: "channel" }, channelIcon(item.channel.value)),
    h(
      "div",
      { class: "timeline-body" },
      h(
        "div",
        { class: "item-title" },
        `${item.channel.label} · ${item.direction.label.toLowerCase()} · ${item.department.label}`,
        item.topic ? ` · ${item.topic.label}` : "",
        restricted ? [" ", badge("Restricted", "warning")] : null,
      ),
      h(
        "div",
        { class: "item-meta" },
        h("time", { datetime: item.occurred_at }, formatDateTime(item.occurred_at)),
        item.staff ? ` · ${item.staff.name}` : "",
        item.outcome ? ` · ${item.outcome.label}` : "",
        item.interpreter_used ? " · interpreter used" : "",
      ),
      item.summary ? h("p", { class: "summary", dir: "auto" }, item.summary) : null,
      item.message
        ? h("div", { class: "item-meta" }, messageStatus(item.message), " ", link(`/messages/${item.message.id}/`, "Conversation"))
        : null,
    ),
  );
}

function logFields(patient) {
  // Staff who may log only for their own department get only that choice.
  const departments = can("interactions", "write", "ALL")
    ? session.choices.department
    : session.choices.department.filter((d) => session.departments.includes(d.value));
  const preferred = patient.preferred_channel?.value;
  // A patient who may not be contacted (the contact policy's answer for care
  // coordination) can still call in: the form starts as inbound and says why.
  const coordination = patient.contact_status?.purposes?.find((p) => p.purpose.value === "care_coordination");
  const reachable = coordination ? coordination.allowed || coordination.code === "no_address" : true;
  return [
    { name: "channel", label: "Channel", type: "select", required: true, options: session.choices.channel, value: preferred || "phone" },
    {
      name: "direction",
      label: "Direction",
      type: "select",
      required: true,
      options: session.choices.direction,
      value: reachable ? "outbound" : "inbound",
      help: reachable ? undefined : `Outbound contact is refused: ${coordination.reason}`,
    },
    { name: "department", label: "Department", type: "select", required: true, options: departments, value: session.departments[0] ?? departments[0]?.value },
    { name: "topic", label: "Topic", type: "select", options: session.choices.topic, value: "general" },
    { name: "summary", label: "Summary", type: "textarea", maxlength: 10000, help: "What was discussed. Keep it to what colleagues need." },
    { name: "outcome", label: "Outcome", type: "select", options: session.choices.outcome },
    { name: "interpreter_used", label: "Interpreter used", type: "checkbox" },
  ];
}

export function renderTimeline(container, { patient, interactions, next, signal }) {
  const list = h("ol", { class: "timeline", "aria-label": "Interactions, newest first" });
  const more = h("button", { type: "button" }, "Load more");
  const footer = h("div", { class: "panel-footer" });
  const status = h("div", { class: "panel" });
  let nextUrl = next;
  const nextSignal = latestOnly(signal);

  const channelFilter = h("select", { id: "filter-channel" }, h("option", { value: "" }, "All channels"), session.choices.channel.map((c) => h("option", { value: c.value }, c.label)));
  const departmentFilter = h("select", { id: "filter-department" }, h("option", { value: "" }, "All departments"), session.choices.department.map((d) => h("option", { value: d.value }, d.label)));

  function show(items, { append = false } = {}) {
    if (!append) list.replaceChildren();
    list.append(...items.map(interactionItem));
    if (!list.children.length) list.append(h("li", { class: "muted empty" }, "No interactions match."));
    footer.replaceChildren(...(nextUrl ? [more] : []));
  }

  async function reload() {
    const filters = { patient: patient.id, channel: channelFilter.value, department: departmentFilter.value, page_size: 20 };
    await loadInto(status, () => api(`interactions/${query(filters)}`, { signal: nextSignal() }), (page) => {
      nextUrl = page.next;
      show(page.results);
      announce(`${page.results.length} interactions shown.`);
    });
  }

  more.addEventListener("click", async () => {
    await loadInto(status, () => api(nextUrl, { signal: nextSignal() }), (page) => {
      nextUrl = page.next;
      const first = list.children.length;
      show(page.results, { append: true });
      list.children[first]?.setAttribute("tabindex", "-1");
      list.children[first]?.focus();
    });
  });
  channelFilter.addEventListener("change", reload);
  departmentFilter.addEventListener("change", reload);

  const logButton = can("interactions", "write")
    ? h("button", { type: "button", class: "primary", id: "log-interaction" }, "Log an interaction")
    : null;
  const sendButton = can("interactions", "write") ? h("button", { type: "button", id: "send-message" }, "Send a message") : null;
  sendButton?.addEventListener("click", async () => {
    const sent = await sendMessage(patient);
    if (!sent) return;
    // The message is on the timeline as an interaction; show the page's newest.
    await reload();
    announce(`Message ${sent.status.label.toLowerCase()}.`);
  });
  logButton?.addEventListener("click", async () => {
    const idempotencyKey = crypto.randomUUID();
    const created = await openDialog({
      title: "Log an interaction",
      description: `With ${patient.given_name ?? "the patient"}; the time is now and you are the staff member.`,
      fields: logFields(patient),
      submitLabel: "Save interaction",
      onSubmit: (values) => api("interactions/", { method: "POST", body: { patient_id: patient.id, ...values }, idempotencyKey }),
    });
    if (!created) return;
    list.querySelector(".empty")?.remove();
    list.prepend(interactionItem(created));
    announce("Interaction saved and added to the top of the timeline.");
  });

  container.append(
    h(
      "div",
      { class: "section-head" },
      h("h2", { id: "timeline-heading" }, "Timeline"),
      h("div", { class: "actions" }, logButton, sendButton),
    ),
    h(
      "div",
      { class: "filters", role: "group", "aria-label": "Filter the timeline" },
      h("div", { class: "field" }, h("label", { for: "filter-channel" }, "Channel"), channelFilter),
      h("div", { class: "field" }, h("label", { for: "filter-department" }, "Department"), departmentFilter),
    ),
    status,
    list,
    footer,
  );
  show(interactions);
}
