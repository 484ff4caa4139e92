// My work: the signed-in user's referral worklist buckets and follow-ups that are
// overdue or due today, each item one click from the patient.

import { api } from "../api.js";
import { h } from "../dom.js";
import { can } from "../session.js";
import { bucketSection, followUpItem, loadInto, nextItems, referralItem } from "./common.js";

const FOLLOW_UPS = "worklists/follow-ups/?limit=10";
const REFERRALS = "worklists/referrals/?limit=10";

export async function renderWork(main, { signal }) {
  const followUps = h("div", { class: "panel" });
  const referrals = h("div", { class: "panel" });
  main.replaceChildren(
    h("h1", {}, "My work"),
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
