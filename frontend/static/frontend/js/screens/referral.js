// A referral's own page: its card, its report and every step it took.

import { api, explain } from "../api.js";
import { fill, formatDate, formatDateTime, h, link, patientName } from "../dom.js";
import { navigate } from "../router.js";
import { can } from "../session.js";
import { referralCard } from "./care.js";

function reportSection(referral) {
  if (!referral.report_received_on) return null;
  return h(
    "section",
    { class: "panel report", "aria-labelledby": "report-heading" },
    h("h2", { id: "report-heading" }, "Specialist's report"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Received"),
      h("dd", {}, formatDate(referral.report_received_on)),
      referral.report_from ? [h("dt", {}, "From"), h("dd", {}, referral.report_from)] : null,
    ),
    referral.report_summary ? h("p", {}, h("span", { class: "label" }, "Findings: "), referral.report_summary) : null,
    referral.report_recommendations ? h("p", {}, h("span", { class: "label" }, "Recommendations: "), referral.report_recommendations) : null,
  );
}

function eventItem(event) {
  const moved = event.from_status ? `${event.from_status.label} → ${event.to_status.label}` : event.to_status.label;
  const appointment = event.details?.appointment_at ? ` · appointment ${formatDateTime(event.details.appointment_at)}` : "";
  return h(
    "li",
    { class: "item" },
    h("div", { class: "item-title" }, event.action.label),
    h("div", {}, moved),
    h("div", { class: "item-meta" }, formatDateTime(event.occurred_at), ` · ${event.actor?.name ?? "system"}`, appointment),
    event.reason ? h("p", { class: "summary" }, `Reason: ${event.reason}`) : null,
  );
}

export async function renderReferralPage(main, { params: [id], signal, setTitle }) {
  let referral;
  let events;
  try {
    [referral, events] = await Promise.all([
      api(`referrals/${id}/`, { signal }),
      api(`referrals/${id}/events/`, { signal }),
    ]);
  } catch (error) {
    if (error.name === "AbortError") return;
    main.replaceChildren(h("h1", {}, "Referral"), h("p", { class: "error-box", role: "alert" }, explain(error)));
    return;
  }
  const patient = referral.patient;
  setTitle(`${referral.specialty} referral · ${patientName(patient)}`);
  const reload = () => renderReferralPage(main, { params: [id], signal, setTitle });
  fill(
    main,
    h("p", { class: "breadcrumb" }, link(`/patients/${patient.id}/`, `← ${patientName(patient)}`)),
    h("h1", {}, `${referral.specialty} referral`),
    referralCard(referral, reload, { page: true, onCreated: (created) => navigate(`/referrals/${created.id}/`) }),
    referral.replaces ? h("p", {}, "Replaces ", link(`/referrals/${referral.replaces}/`, `referral #${referral.replaces}`), ", which was declined.") : null,
    reportSection(referral),
    can("referrals")
      ? h(
          "section",
          { "aria-labelledby": "steps-heading" },
          h("h2", { id: "steps-heading" }, "Every step"),
          events.length ? h("ol", { class: "items" }, events.map(eventItem)) : h("p", { class: "muted" }, "Not sent yet."),
        )
      : null,
  );
}
