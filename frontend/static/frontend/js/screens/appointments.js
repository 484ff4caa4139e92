// Appointments: on the 360 (coming and past visits, with confirmation and reminders)
// and the front desk's day (tomorrow's visits, the call list, one-click call logging).

import { api, query } from "../api.js";
import { announce, badge, count, fill, formatDate, h, isoDate, languageName, patientLink, readablePhone } from "../dom.js";
import { actionForm, openDialog } from "../forms.js";
import { can, session } from "../session.js";
import { filtersInAddress, latestOnly, loadInto } from "./common.js";

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const whenFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

const NOT_CONFIRMED = ["proposed", "booked"];

function confirmation(appointment) {
  const status = appointment.status.value;
  if (status === "confirmed") return badge("Confirmed", "ok");
  if (NOT_CONFIRMED.includes(status)) return badge(status === "proposed" ? "Proposed" : "Not confirmed", "warning");
  return badge(appointment.status.label, status === "noshow" || status === "cancelled" ? "danger" : "");
}

function withWhom(appointment) {
  const who = appointment.practitioner
    ? `${appointment.practitioner.given_name} ${appointment.practitioner.family_name}`
    : appointment.organization?.name;
  return [who, appointment.location].filter(Boolean).join(", ");
}

const reminders = (appointment) => (appointment.reminders_sent ? count(appointment.reminders_sent, "reminder") + " sent" : "No reminder sent yet");

async function step(appointment, action) {
  const form = actionForm("appointment", action);
  const updated = await openDialog({
    title: `${form.label}: ${appointment.service_type.name}`,
    description: form.description,
    fields: form.fields,
    submitLabel: form.label,
    onSubmit: (values) =>
      api(`appointments/${appointment.id}/${action.replaceAll("_", "-")}/`, { method: "POST", body: values, version: appointment.version }),
  });
  if (updated) announce(`The appointment is now ${updated.status.label.toLowerCase()}.`);
  return updated;
}

function appointmentItem(appointment, onChange) {
  const mayWrite = can("appointments", "write");
  const item = h(
    "li",
    { class: "item", "data-appointment": appointment.id },
    h("div", { class: "item-title" }, h("time", { datetime: appointment.start }, whenFormat.format(new Date(appointment.start))), " · ", appointment.service_type.name, " ", confirmation(appointment)),
    h("div", { class: "item-meta" }, [withWhom(appointment), reminders(appointment)].filter(Boolean).join(" · ")),
    mayWrite && appointment.allowed_actions.length
      ? h(
          "div",
          { class: "actions", role: "group", "aria-label": `Actions for the ${appointment.service_type.name}` },
          appointment.allowed_actions
            .filter((action) => action !== "book")
            .map((action) =>
              h("button", { type: "button", "data-action": action, onclick: async () => (await step(appointment, action)) && onChange() }, session.workflows.appointment[action].label),
            ),
        )
      : null,
  );
  return item;
}

/** The 360's appointments: the coming ones, then the latest past ones. */
export function renderAppointments(container, { patient, record }) {
  const reload = async () => show(await api(`patients/${patient.id}/360/`));
  // After a step the lists are drawn again: a visit checked in or missed moves on.
  function show(data) {
    const upcoming = h("ol", { class: "items", "aria-label": "Coming appointments" });
    const recent = h("ol", { class: "items", "aria-label": "Past and cancelled appointments" });
    fill(upcoming, data.upcoming_appointments.length ? data.upcoming_appointments.map((a) => appointmentItem(a, reload)) : h("li", { class: "muted" }, "No appointment coming."));
    fill(recent, data.recent_appointments.map((a) => appointmentItem(a, reload)));
    fill(container, h("h2", {}, "Appointments"), upcoming, data.recent_appointments.length ? [h("h3", {}, "Past and cancelled"), recent] : null);
  }
  show(record);
}

/** A call made from the day's list, logged on the patient's timeline. */
function logCall(appointment, outcome, summary) {
  return api("interactions/", {
    method: "POST",
    body: {
      patient_id: appointment.patient.id,
      channel: "phone",
      direction: "outbound",
      department: session.departments[0] ?? "front_desk",
      topic: "scheduling",
      outcome,
      summary,
    },
  });
}

function dayRow(appointment, refresh) {
  const patient = appointment.patient;
  const what = `${appointment.service_type.name} at ${timeFormat.format(new Date(appointment.start))}`;
  const mayCall = can("appointments", "write") && can("interactions", "write") && NOT_CONFIRMED.includes(appointment.status.value);
  const status = h("span", { class: "call-status", role: "status" });
  async function called(outcome) {
    for (const button of row.querySelectorAll("button")) button.disabled = true;
    try {
      if (outcome === "resolved") {
        await logCall(appointment, "resolved", `Called about the ${what}: the patient confirmed.`);
        await api(`appointments/${appointment.id}/confirm/`, { method: "POST", body: {}, version: appointment.version });
        announce(`${patient.given_name}'s appointment is confirmed and the call is logged.`);
      } else {
        await logCall(appointment, "no_answer", `Called about the ${what}: no answer.`);
        announce(`The call to ${patient.given_name} is logged: no answer.`);
      }
      refresh();
    } catch (failure) {
      status.textContent = failure.message;
      for (const button of row.querySelectorAll("button")) button.disabled = false;
    }
  }
  const row = h(
    "li",
    { class: "item", "data-appointment": appointment.id },
    h("div", { class: "item-title" }, h("time", { datetime: appointment.start }, timeFormat.format(new Date(appointment.start))), " · ", patientLink(patient), " ", confirmation(appointment)),
    h(
      "div",
      { class: "item-meta" },
      [appointment.service_type.name, withWhom(appointment), reminders(appointment)].filter(Boolean).join(" · "),
    ),
    h(
      "div",
      { class: "item-meta" },
      patient.phone ? h("a", { href: `tel:${patient.phone}` }, readablePhone(patient.phone)) : "No phone on record",
      patient.language ? ` · ${languageName(patient.language)}` : "",
      patient.interpreter_needed === "yes" ? [" ", badge("Interpreter needed", "warning")] : null,
    ),
    mayCall
      ? h(
          "div",
          { class: "actions", role: "group", "aria-label": `Call ${patient.given_name} about the ${what}` },
          h("button", { type: "button", class: "primary", onclick: () => called("resolved") }, "Confirmed by phone"),
          h("button", { type: "button", onclick: () => called("no_answer") }, "No answer"),
          status,
        )
      : null,
  );
  return row;
}

/** /day/: the front desk's day, tomorrow unless another date is chosen. */
export async function renderDay(main, { signal }) {
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const day = h("input", { type: "date", id: "day-date", value: isoDate(tomorrow), required: true });
  const unconfirmed = h("select", { id: "day-which" }, h("option", { value: "" }, "Everyone"), h("option", { value: "true" }, "Only those not confirmed (the call list)"));
  const summary = h("p", { class: "muted", id: "day-summary", role: "status" });
  const list = h("ol", { class: "items" });
  const panel = h("div", { class: "panel" });
  main.replaceChildren(
    h("h1", {}, "Appointments by day"),
    h(
      "div",
      { class: "filters", role: "group", "aria-label": "Choose the day" },
      h("div", { class: "field" }, h("label", { for: "day-date" }, "Day"), day),
      h("div", { class: "field" }, h("label", { for: "day-which" }, "Show"), unconfirmed),
    ),
    summary,
    panel,
    list,
  );
  const remember = filtersInAddress({ day, unconfirmed });
  const nextSignal = latestOnly(signal);
  async function load() {
    if (!day.value) return;
    await loadInto(panel, () => api(`appointments/day/${query({ day: day.value, unconfirmed: unconfirmed.value })}`, { signal: nextSignal() }), (data) => {
      const c = data.counts;
      summary.textContent = `${formatDate(data.day)}: ${count(c.appointments, "appointment")}, ${c.confirmed} confirmed, ${c.unconfirmed} not confirmed.`;
      fill(list, data.appointments.length ? data.appointments.map((a) => dayRow(a, load)) : h("li", { class: "muted" }, "Nobody to show for this day."));
    });
  }
  for (const control of [day, unconfirmed]) {
    control.addEventListener("change", () => {
      remember();
      load();
    });
  }
  await load();
}
