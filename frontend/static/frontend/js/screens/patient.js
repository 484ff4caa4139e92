// Patient 360: a header that answers "how do I talk to this person?", then the care
// work, the timeline, feedback and complaints, and who changed what. The header and the
// first tab come from one request to the 360 endpoint.

import { api, explain } from "../api.js";
import { announce, badge, count, fill, formatDate, formatDateTime, h, link, patientName, readablePhone } from "../dom.js";
import { openDialog } from "../forms.js";
import { navigate } from "../router.js";
import { can, session } from "../session.js";
import { renderAppointments } from "./appointments.js";
import { renderFollowUps, renderReferrals } from "./care.js";
import { renderFeedback } from "./feedback.js";
import { loadInto, staff } from "./common.js";
import { renderTimeline } from "./timeline.js";

const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, ...value)];

function languageFacts(patient) {
  const preferred = patient.languages?.find((l) => l.preferred) ?? patient.languages?.[0];
  if (!preferred) return fact("Language", "Not recorded");
  const interpreter = patient.interpreter_needed?.value;
  return fact(
    "Language",
    `${preferred.name}${preferred.mode?.value && preferred.mode.value !== "spoken" ? ` (${preferred.mode.label})` : ""}`,
    " ",
    interpreter === "yes"
      ? badge("Interpreter needed", "warning")
      : interpreter === "unknown"
        ? badge("Interpreter need unknown")
        : null,
  );
}

function contactLink(point) {
  const use = point.use?.label ?? point.system.label;
  if (point.system.value === "email") return [h("a", { href: `mailto:${point.value}` }, point.value), ` (${use})`];
  if (point.system.value === "phone" || point.system.value === "sms") {
    return [h("a", { href: `tel:${point.value}` }, readablePhone(point.value)), ` (${use})`];
  }
  return [point.value, ` (${use})`];
}

/** "9:14 AM, inside the contact window" in the patient's own time zone. */
function localTimeFact(patient) {
  const status = patient.contact_status;
  if (!status?.local_time) return [];
  const zone = patient.time_zone || undefined;
  const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short", timeZone: zone });
  const opens = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "numeric", minute: "2-digit", timeZone: zone });
  const window_ =
    status.within_window === null
      ? "no contact window given"
      : status.within_window
        ? badge("Inside the contact window", "ok")
        : [badge("Outside the contact window", "warning"), status.window_opens_at ? ` · opens ${opens.format(new Date(status.window_opens_at))}` : ""];
  return fact("Their time now", `${clock.format(new Date(status.local_time))}${zone ? ` (${zone.replaceAll("_", " ")})` : ""} · `, window_);
}

function contactFacts(patient) {
  const window_ =
    patient.contact_window_start && patient.contact_window_end
      ? `${patient.contact_window_start.slice(0, 5)}–${patient.contact_window_end.slice(0, 5)}`
      : "Any time";
  // The contact policy's answer, from the API: only opt-outs in effect today.
  const optedOut = patient.contact_status?.opted_out ?? [];
  const points = (patient.contact_points ?? []).filter((c) => !c.period_end);
  return [
    fact(
      "Preferred channel",
      patient.do_not_contact ? badge("Do not contact", "danger") : null,
      patient.do_not_contact ? " " : null,
      patient.preferred_channel?.label ?? "Not recorded",
      ` · ${window_}`,
    ),
    localTimeFact(patient),
    fact("Contact", points.length ? points.map((c, i) => [i ? ", " : "", contactLink(c)]) : "None recorded"),
    optedOut.length
      ? fact("Opted out", optedOut.map((c) => [badge(`${c.channel.label}: ${c.purpose.label}`, "danger"), " "]))
      : [],
  ];
}

/** A new coordinator, who takes over the patient's open referrals and follow-ups. */
async function changeCoordinator(patient) {
  const coordinators = (await staff()).filter((p) => p.roles.includes("coordinator"));
  const moved = await openDialog({
    title: `Change ${patient.given_name}'s coordinator`,
    description: "The new coordinator also takes over the open referrals and the open follow-ups the previous one held.",
    fields: [
      {
        name: "coordinator_id",
        label: "New coordinator",
        type: "select",
        required: true,
        options: coordinators.filter((p) => p.id !== patient.care_coordinator?.id).map((p) => ({ value: p.id, label: p.name })),
      },
      { name: "reason", label: "Reason", type: "text", required: true, maxlength: 500 },
    ],
    submitLabel: "Change coordinator",
    onSubmit: (values) => api(`patients/${patient.id}/reassign-coordinator/`, { method: "POST", body: values, version: patient.version }),
  });
  if (!moved) return;
  announce(`Coordinator changed; ${count(moved.referrals, "referral")} and ${count(moved.follow_ups, "follow-up")} moved.`);
  window.dispatchEvent(new CustomEvent("route"));
}

/** Emergency access to this patient's restricted items, with a stated reason. */
async function breakGlass(patient) {
  const grant = await openDialog({
    title: "Break the glass",
    description:
      "Emergency access shows this patient's restricted items to you for a limited time. Your reason and every read are logged, and the privacy officer reviews each use.",
    fields: [{ name: "reason", label: "Why you need access now", type: "textarea", required: true, maxlength: 2000, help: "At least a sentence: the clinical need." }],
    submitLabel: "Break the glass",
    onSubmit: (values) => api(`patients/${patient.id}/break-glass/`, { method: "POST", body: values }),
  });
  if (!grant) return;
  window.dispatchEvent(new CustomEvent("route"));
}

/** Only for a role that may break the glass and does not see the restricted items anyway. */
const mayBreakGlass = (patient, record) =>
  session.may_break_glass &&
  !can("restricted_interactions", "read", "ALL") &&
  patient.care_coordinator?.id !== session.user.id &&
  !record.emergency_access_until;

function emergencyBanner(until) {
  const time = new Intl.DateTimeFormat(undefined, { timeStyle: "short" }).format(new Date(until));
  return h(
    "p",
    { class: "emergency-banner", role: "status" },
    h("strong", {}, "Emergency access. "),
    `You broke the glass for this patient: their restricted items are shown until ${time}. Every read is logged for the privacy officer.`,
  );
}

/** A record merged into another: where the person's record is now, and the undo. */
function mergedBanner(patient) {
  if (patient.status?.value !== "merged") return null;
  const undo = async () => {
    const done = await openDialog({
      title: "Undo the merge",
      description: "What moved to the other record comes back to this one. A merge can be undone for 30 days.",
      fields: [{ name: "reason", label: "Why these are two people", type: "textarea", required: true, maxlength: 2000 }],
      submitLabel: "Undo the merge",
      onSubmit: (values) => api(`patients/${patient.id}/unmerge/`, { method: "POST", body: values }),
    });
    if (done) {
      announce("The merge was undone.");
      navigate(`/patients/${patient.id}/`);
    }
  };
  return h(
    "p",
    { class: "emergency-banner", role: "status" },
    h("strong", {}, "Merged record. "),
    "This person's record is now ",
    link(`/patients/${patient.merged_into}/`, `record #${patient.merged_into}`),
    ". ",
    can("identity", "write") ? h("button", { type: "button", onclick: undo }, "Undo the merge") : null,
  );
}

function header(patient, record) {
  const needs = patient.accessibility_needs ?? [];
  const coordinator = patient.care_coordinator?.name ?? "None assigned";
  const pcp = patient.primary_care_practitioner;
  return h(
    "section",
    { class: "patient-header", "aria-labelledby": "patient-name" },
    h(
      "h1",
      { id: "patient-name" },
      patientName(patient),
      patient.status && patient.status.value !== "active" ? [" ", badge(patient.status.label, "danger")] : null,
    ),
    h(
      "div",
      { class: "actions" },
      patient.status?.value !== "merged" && (can("identity", "write") || can("preferences", "write") || can("care_team", "write")) ? link(`/patients/${patient.id}/edit/`, "Edit the record") : null,
      mayBreakGlass(patient, record) ? h("button", { type: "button", class: "danger", onclick: () => breakGlass(patient) }, "Break the glass") : null,
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Age", patient.age !== undefined ? `${patient.age}` : "", patient.birth_date ? ` (born ${formatDate(patient.birth_date)})` : ""),
      fact("MRN", patient.mrn),
      languageFacts(patient),
      fact(
        "Accessibility",
        needs.length ? needs.map((n, i) => [i ? ", " : "", n.label]) : "None recorded",
        patient.accessibility_notes ? ` — ${patient.accessibility_notes}` : "",
      ),
      contactFacts(patient),
      fact(
        "Care team",
        `Coordinator: ${coordinator}`,
        pcp ? ` · Primary care: ${pcp.given_name} ${pcp.family_name}` : "",
        can("care_team", "write") ? [" ", h("button", { type: "button", class: "link", onclick: () => changeCoordinator(patient) }, "Change coordinator")] : null,
      ),
    ),
  );
}

// Tabs (WAI-ARIA pattern): arrow keys move between tabs, each panel loads on first view.
function tabs(definitions) {
  const list = h("div", { role: "tablist", "aria-label": "Patient record", class: "tabs" });
  const panels = [];
  const buttons = definitions.map((def, i) => {
    const panel = h("section", { role: "tabpanel", id: `panel-${def.key}`, "aria-labelledby": `tab-${def.key}`, tabindex: "0", hidden: i !== 0 });
    panels.push(panel);
    let loaded = false;
    const button = h("button", { type: "button", role: "tab", id: `tab-${def.key}`, "aria-controls": panel.id, "aria-selected": String(i === 0), tabindex: i === 0 ? "0" : "-1" }, def.label);
    button.select = () => {
      buttons.forEach((b, j) => {
        b.setAttribute("aria-selected", String(b === button));
        b.tabIndex = b === button ? 0 : -1;
        panels[j].hidden = b !== button;
      });
      if (!loaded) {
        loaded = true;
        def.render(panel);
      }
    };
    button.addEventListener("click", button.select);
    if (i === 0) {
      loaded = true;
      def.render(panel);
    }
    return button;
  });
  list.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 };
    if (index < 0 || !(event.key in moves)) return;
    event.preventDefault();
    const target = buttons[(moves[event.key] + buttons.length) % buttons.length];
    target.focus();
    target.select();
  });
  list.append(...buttons);
  return [list, ...panels];
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A value as the history API displays it, in local time when it is a time. */
function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string" && ISO_TIME.test(value)) return formatDateTime(value);
  if (typeof value === "string" && ISO_DATE.test(value)) return formatDate(value);
  if (typeof value === "object") return Array.isArray(value) ? value.join(", ") || "—" : JSON.stringify(value);
  return String(value);
}

/** What the pharmacy, the lab and billing reported (each role sees its own department's). */
function departmentEvents(events) {
  const told = (message) => (message ? `Patient told by ${message.channel.label}: ${message.status.label.toLowerCase()}` : "");
  return [
    h("h2", { id: "department-events-heading" }, "Pharmacy, lab and billing"),
    h(
      "ol",
      { class: "items", "aria-labelledby": "department-events-heading" },
      events.length
        ? events.map((event) =>
            h(
              "li",
              { class: "item", "data-event": event.id },
              h("div", { class: "item-title" }, event.kind.label, " ", badge(event.department.label)),
              h("div", { class: "item-meta" }, [formatDateTime(event.occurred_at), event.title, event.location, event.reference, told(event.message)].filter(Boolean).join(" · ")),
            ),
          )
        : h("li", { class: "muted" }, "Nothing reported."),
    ),
  ];
}

function historyEntry(entry) {
  const what = { created: "created", changed: "changed", deleted: "removed" }[entry.type] ?? entry.type;
  const label = `${entry.record_label[0].toUpperCase()}${entry.record_label.slice(1)} #${entry.record_id} ${what}`;
  return h(
    "li",
    { class: "item" },
    h("div", { class: "item-title" }, label),
    h("div", { class: "item-meta" }, formatDateTime(entry.at), ` · ${entry.user?.name ?? "system"}`, entry.reason ? ` · ${entry.reason}` : ""),
    entry.changes?.length
      ? h(
          "ul",
          { class: "changes" },
          entry.changes.map((c) =>
            h("li", {}, h("span", { class: "label" }, c.label), ": ", entry.type === "created" ? shown(c.to_display) : `${shown(c.from_display)} → ${shown(c.to_display)}`),
          ),
        )
      : null,
  );
}

function renderHistory(panel, patient, signal) {
  const list = h("ol", { class: "items" });
  const status = h("div", { class: "panel" });
  const footer = h("div", { class: "panel-footer" });
  const load = (url) =>
    loadInto(status, () => api(url, { signal }), (page) => {
      list.append(...page.results.map(historyEntry));
      if (!list.children.length) list.append(h("li", { class: "muted" }, "No changes recorded."));
      footer.replaceChildren(page.next ? h("button", { type: "button", onclick: () => load(page.next) }, "Load older changes") : "");
    });
  panel.append(h("h2", {}, "Who changed what"), status, list, footer);
  load(`patients/${patient.id}/history/`);
}

export async function renderPatient(main, { params: [id], signal, setTitle }) {
  let record;
  try {
    record = await api(`patients/${id}/360/`, { signal });
  } catch (error) {
    if (error.name === "AbortError") return;
    main.replaceChildren(h("h1", {}, "Patient"), h("p", { class: "error-box", role: "alert" }, explain(error)));
    return;
  }
  const patient = record.patient;
  setTitle(patientName(patient));

  const definitions = [
    {
      key: "overview",
      label: "Care and contacts",
      render(panel) {
        // Sections the role may not read are absent from the 360 answer, and from here.
        const care = h("div", { class: "care" });
        let followUpsView = null;
        if (record.open_referrals) {
          const referrals = h("section", { class: "referrals" });
          renderReferrals(referrals, { patient, record, onChange: () => followUpsView?.refresh(), signal });
          care.append(referrals);
        }
        if (record.upcoming_appointments) {
          const appointments = h("section", { class: "appointments" });
          renderAppointments(appointments, { patient, record });
          care.append(appointments);
        }
        if (record.department_events) {
          care.append(h("section", { class: "department-events" }, ...departmentEvents(record.department_events)));
        }
        if (record.open_follow_ups) {
          const followUps = h("section", { class: "follow-ups" });
          followUpsView = renderFollowUps(followUps, { patient, followUps: record.open_follow_ups, total: record.counts.open_follow_ups, signal });
          care.append(followUps);
        }
        const timeline = h("section", { class: "timeline-section", "aria-labelledby": "timeline-heading" });
        if (record.interactions) {
          renderTimeline(timeline, { patient, interactions: record.interactions, next: record.interactions_next, signal });
        }
        panel.append(care, timeline);
      },
    },
  ];
  if (can("feedback")) {
    definitions.push({ key: "feedback", label: "Feedback and complaints", render: (panel) => renderFeedback(panel, patient, signal) });
  }
  if (can("history")) {
    definitions.push({ key: "history", label: "History", render: (panel) => renderHistory(panel, patient, signal) });
  }
  fill(main, record.emergency_access_until ? emergencyBanner(record.emergency_access_until) : null, mergedBanner(patient), header(patient, record), ...tabs(definitions));
}
