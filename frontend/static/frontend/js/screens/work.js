// My work: the signed-in user's referral worklist buckets and follow-ups that are
// overdue or due today, each item one click from the patient.

import { api, query } from "../api.js";
import { announce, count, h } from "../dom.js";
import { openDialog } from "../forms.js";
import { can, session } from "../session.js";
import { bucketSection, filtersInAddress, followUpItem, latestOnly, loadInto, nextItems, referralItem, staff } from "./common.js";

const REFERRALS = "worklists/referrals/?limit=10";

/** Everything a departing staff member holds (patients, referrals, follow-ups) to
 * another: done by themselves before they leave, or by an administrator. */
async function handOff() {
  const people = (await staff()).map((p) => ({ value: p.id, label: p.name }));
  // Only an administrator hands over someone else's work (the API refuses the rest).
  const from = session.privacy_officer ? people : people.filter((p) => p.value === session.user.id);
  const moved = await openDialog({
    title: "Hand off work",
    description: "Their patients, open referrals and open follow-ups move in one step, recorded in the change history.",
    fields: [
      { name: "from_user_id", label: "From", type: "select", required: true, options: from, value: session.user.id },
      { name: "to_user_id", label: "To", type: "select", options: people, placeholder: "Nobody (follow-ups to a queue)" },
      { name: "follow_ups_queue", label: "Follow-ups to a queue instead", type: "select", options: session.choices.department, placeholder: "No, to the person above" },
      { name: "reason", label: "Reason", type: "text", required: true, maxlength: 500 },
    ],
    submitLabel: "Hand off",
    onSubmit: (values) => api("handoffs/", { method: "POST", body: values }),
  });
  if (!moved) return;
  announce(`Handed off ${count(moved.patients, "patient")}, ${count(moved.referrals, "referral")} and ${count(moved.follow_ups, "follow-up")}.`);
  window.dispatchEvent(new CustomEvent("route"));
}

/** Filters and order for the follow-ups: kind, priority, earliest due or most urgent. */
function followUpFilters(onChange) {
  const select = (id, label, first, options) => {
    const control = h("select", { id }, h("option", { value: "" }, first), options.map((o) => h("option", { value: o.value }, o.label)));
    control.addEventListener("change", onChange);
    return [control, h("div", { class: "field" }, h("label", { for: id }, label), control)];
  };
  const [kind, kindField] = select("work-kind", "Kind", "Any kind", session.choices.follow_up_kind);
  const [priority, priorityField] = select("work-priority", "Priority", "Any priority", session.choices.follow_up_priority);
  const [order, orderField] = select("work-order", "Order", "Earliest due first", [{ value: "priority", label: "Highest priority first" }]);
  const group = h("div", { class: "filters", role: "group", "aria-label": "Filter and sort the follow-ups" }, kindField, priorityField, orderField);
  const remember = filtersInAddress({ kind, priority, order });
  for (const control of [kind, priority, order]) control.addEventListener("change", remember);
  const params = () => ({ kind: kind.value, priority: priority.value, order: order.value || "due", limit: 10 });
  return { group, params };
}

export async function renderWork(main, { signal }) {
  const followUps = h("div", { class: "panel" });
  const referrals = h("div", { class: "panel" });
  const nextSignal = latestOnly(signal);
  const loadFollowUps = () => {
    const url = `worklists/follow-ups/${query(filters.params())}`;
    const loadSignal = nextSignal();
    return loadInto(followUps, () => api(url, { signal: loadSignal }), (data) => {
      const shown = data.buckets.filter((b) => b.key === "overdue" || b.key === "due_today");
      followUps.append(...shown.map((b) => bucketSection(b, followUpItem, { loadMore: nextItems(url, b.key, loadSignal) })));
    });
  };
  const filters = followUpFilters(loadFollowUps);
  main.replaceChildren(
    h("div", { class: "section-head" }, h("h1", {}, "My work"), can("care_team", "write") ? h("button", { type: "button", onclick: handOff }, "Hand off work") : null),
    h(
      "div",
      { class: "columns" },
      can("follow_ups")
        ? h("section", { "aria-labelledby": "fu-heading" }, h("h2", { id: "fu-heading" }, "Follow-ups"), filters.group, followUps)
        : null,
      can("referrals")
        ? h("section", { "aria-labelledby": "ref-heading" }, h("h2", { id: "ref-heading" }, "My referrals"), referrals)
        : null,
    ),
  );
  const tasks = [];
  if (can("follow_ups")) {
    tasks.push(loadFollowUps());
  }
  if (can("referrals")) {
    tasks.push(
      loadInto(referrals, () => api(REFERRALS, { signal }), (data) => {
        const open = data.buckets.filter((b) => b.count > 0);
        if (!open.length) referrals.append(h("p", { class: "muted" }, "No referrals need action."));
        referrals.append(...open.map((b) => bucketSection(b, referralItem, { loadMore: nextItems(REFERRALS, b.key, signal) })));
      }),
    );
  }
  await Promise.all(tasks);
}
