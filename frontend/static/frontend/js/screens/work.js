// My work: the signed-in user's referral worklist buckets and follow-ups that are
// overdue or due today, each item one click from the patient.

import { api } from "../api.js";
import { announce, h } from "../dom.js";
import { openDialog } from "../forms.js";
import { can, session } from "../session.js";
import { staff } from "./care.js";
import { bucketSection, followUpItem, loadInto, nextItems, referralItem } from "./common.js";

const FOLLOW_UPS = "worklists/follow-ups/?limit=10";
const REFERRALS = "worklists/referrals/?limit=10";

/** Everything a departing staff member holds (patients, referrals, follow-ups) to
 * another: done by themselves before they leave, or by an administrator. */
async function handOff() {
  const people = (await staff()).map((p) => ({ value: p.id, label: p.name }));
  const moved = await openDialog({
    title: "Hand off work",
    description: "Their patients, open referrals and open follow-ups move in one step, recorded in the change history.",
    fields: [
      { name: "from_user_id", label: "From", type: "select", required: true, options: people, value: session.user.id },
      { name: "to_user_id", label: "To", type: "select", options: people, placeholder: "Nobody (follow-ups to a queue)" },
      { name: "follow_ups_queue", label: "Follow-ups to a queue instead", type: "select", options: session.choices.department, placeholder: "No, to the person above" },
      { name: "reason", label: "Reason", type: "text", required: true, maxlength: 500 },
    ],
    submitLabel: "Hand off",
    onSubmit: (values) => api("handoffs/", { method: "POST", body: values }),
  });
  if (!moved) return;
  announce(`Handed off ${moved.patients} patients, ${moved.referrals} referrals and ${moved.follow_ups} follow-ups.`);
  window.dispatchEvent(new CustomEvent("route"));
}

export async function renderWork(main, { signal }) {
  const followUps = h("div", { class: "panel" });
  const referrals = h("div", { class: "panel" });
  main.replaceChildren(
    h("div", { class: "section-head" }, h("h1", {}, "My work"), can("care_team", "write") ? h("button", { type: "button", onclick: handOff }, "Hand off work") : null),
    h(
      "div",
      { class: "columns" },
      can("follow_ups")
        ? h("section", { "aria-labelledby": "fu-heading" }, h("h2", { id: "fu-heading" }, "Follow-ups"), followUps)
        : null,
      can("referrals")
        ? h("section", { "aria-labelledby": "ref-heading" }, h("h2", { id: "ref-heading" }, "My referrals"), referrals)
        : null,
    ),
  );
  const tasks = [];
  if (can("follow_ups")) {
    tasks.push(
      loadInto(followUps, () => api(FOLLOW_UPS, { signal }), (data) => {
        const shown = data.buckets.filter((b) => b.key === "overdue" || b.key === "due_today");
        followUps.append(...shown.map((b) => bucketSection(b, followUpItem, { loadMore: nextItems(FOLLOW_UPS, b.key, signal) })));
      }),
    );
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
