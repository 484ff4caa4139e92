// Registering a patient and editing their record: identity with identifiers and contact
// points, languages and interpreter need, accessibility, contact preferences and
// consent with its capture source, and the care team. A role edits only the sections
// it may write. Before a new patient is saved, likely duplicates (same birth date and
// name, or the same phone) are shown.

import { ApiError, api, explain, query } from "../api.js";
import { fill, formatDate, h, languageName, link, patientName } from "../dom.js";
import { buildForm } from "../forms.js";
import { navigate } from "../router.js";
import { can, session } from "../session.js";
import { staff } from "./common.js";
import { reasons } from "./duplicates.js";

const choices = (name) => session.choices[name];

// The languages of most US patients with limited English, and American Sign Language;
// a patient's other recorded language is offered too.
const COMMON_LANGUAGES = [
  "en", "es", "zh-Hans", "zh-Hant", "yue", "vi", "ko", "tl", "ru", "ar", "ht", "pt", "fr",
  "pl", "ja", "de", "it", "fa", "hi", "ur", "bn", "pa", "so", "am", "yo", "hmn", "km",
  "lo", "ne", "uk", "ase",
];

function languageOptions(current = []) {
  const tags = [...new Set([...COMMON_LANGUAGES, ...current])];
  return tags
    .map((tag) => ({ value: tag, label: `${languageName(tag)} (${tag})` }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

function identityFields(p) {
  return [
    { type: "group", label: "Identity" },
    { name: "given_name", label: "Given name", required: true, maxlength: 100, value: p.given_name },
    { name: "middle_name", label: "Middle name", maxlength: 100, value: p.middle_name },
    { name: "family_name", label: "Family name", required: true, maxlength: 100, value: p.family_name },
    { name: "preferred_name", label: "Goes by", maxlength: 100, value: p.preferred_name, help: "The name the patient likes to be called." },
    { name: "birth_date", label: "Birth date", type: "date", required: true, value: p.birth_date },
    { name: "administrative_sex", label: "Administrative sex", type: "select", options: choices("administrative_sex"), value: p.administrative_sex?.value },
    { name: "mrn", label: "MRN", maxlength: 32, value: p.mrn, help: p.id ? undefined : "Leave empty and one is assigned." },
    {
      name: "identifiers",
      type: "list",
      label: "Other identifiers",
      itemLabel: "Identifier",
      addLabel: "Add an identifier",
      value: p.identifiers,
      item: [
        { name: "system", label: "System", required: true, maxlength: 200, help: "e.g. urn:oid:… of the issuing EHR" },
        { name: "value", label: "Value", required: true, maxlength: 100 },
      ],
    },
    {
      name: "contact_points",
      type: "list",
      label: "Phones and email",
      itemLabel: "Contact point",
      addLabel: "Add a phone or email",
      value: (p.contact_points ?? [{ system: { value: "phone" }, use: { value: "mobile" } }]).map((c) => ({ ...c, system: c.system?.value, use: c.use?.value })),
      item: [
        { name: "system", label: "Kind", type: "select", required: true, options: choices("contact_system") },
        { name: "value", label: "Number or address", required: true, maxlength: 254 },
        { name: "use", label: "Use", type: "select", options: choices("contact_use") },
        { name: "rank", label: "Order to try", type: "number", min: 1, max: 99 },
      ],
    },
  ];
}

function preferenceFields(p) {
  const zones = Intl.supportedValuesOf("timeZone").map((z) => ({ value: z, label: z.replaceAll("_", " ") }));
  return [
    { type: "group", label: "Language and access" },
    {
      name: "languages",
      type: "list",
      label: "Languages",
      itemLabel: "Language",
      addLabel: "Add a language",
      value: (p.languages ?? []).map((l) => ({ ...l, mode: l.mode?.value })),
      item: [
        { name: "language", label: "Language", type: "select", required: true, options: languageOptions((p.languages ?? []).map((l) => l.language)) },
        { name: "mode", label: "Mode", type: "select", options: choices("language_mode") },
        { name: "preferred", label: "Preferred", type: "checkbox" },
      ],
    },
    { name: "interpreter_needed", label: "Interpreter needed", type: "select", options: choices("interpreter_needed"), value: p.interpreter_needed?.value ?? "unknown" },
    { name: "accessibility_needs", label: "Accessibility needs", type: "checkboxes", options: choices("accessibility_need"), value: (p.accessibility_needs ?? []).map((n) => n.value) },
    { name: "accessibility_notes", label: "Accessibility notes", type: "textarea", maxlength: 1000, value: p.accessibility_notes },
    { type: "group", label: "Contact preferences and consent" },
    { name: "preferred_channel", label: "Preferred channel", type: "select", options: choices("channel"), value: p.preferred_channel?.value },
    { name: "contact_window_start", label: "Contact window from", type: "time", value: p.contact_window_start?.slice(0, 5) },
    { name: "contact_window_end", label: "Contact window to", type: "time", value: p.contact_window_end?.slice(0, 5) },
    { name: "time_zone", label: "Time zone", type: "select", options: zones, value: p.time_zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone },
    { name: "do_not_contact", label: "Do not contact (the patient asked for no contact at all)", type: "checkbox", value: p.do_not_contact },
    {
      name: "consents",
      type: "list",
      label: "Consent by channel and purpose",
      itemLabel: "Consent",
      addLabel: "Record a consent",
      value: (p.consents ?? []).map((c) => ({ ...c, channel: c.channel.value, purpose: c.purpose.value, status: c.status.value, source: c.source.value })),
      item: [
        { name: "channel", label: "Channel", type: "select", required: true, options: choices("channel") },
        { name: "purpose", label: "Purpose", type: "select", required: true, options: choices("consent_purpose") },
        { name: "status", label: "Answer", type: "select", required: true, options: choices("consent_status") },
        { name: "source", label: "Captured by", type: "select", required: true, options: choices("consent_source"), help: "How the patient gave this answer." },
        // Kept as recorded: re-sending a consent unchanged is not a new capture.
        { name: "captured_at", type: "hidden" },
        { name: "effective_from", type: "hidden" },
        { name: "effective_to", type: "hidden" },
      ],
    },
  ];
}

async function careTeamFields(p) {
  const [people, practitioners] = await Promise.all([staff(), api(`practitioners/${query({ active: "true", page_size: 200 })}`)]);
  return [
    { type: "group", label: "Care team" },
    {
      name: "care_coordinator_id",
      label: "Care coordinator",
      type: "select",
      options: people.filter((s) => s.roles.includes("coordinator")).map((s) => ({ value: s.id, label: s.name })),
      value: p.care_coordinator?.id ?? (session.roles.includes("coordinator") ? session.user.id : undefined),
      placeholder: "None yet",
    },
    {
      name: "primary_care_practitioner_id",
      label: "Primary care practitioner",
      type: "select",
      options: practitioners.results.map((r) => ({ value: r.id, label: `${r.given_name} ${r.family_name} (${r.specialty})` })),
      value: p.primary_care_practitioner?.id,
      placeholder: "None recorded",
    },
    { name: "high_risk", label: "High risk (a coordinator calls after every visit)", type: "checkbox", value: p.high_risk },
  ];
}

/** The records the API found that may be this person, and the box that says it is not. */
function duplicateNotice(candidates) {
  return h(
    "section",
    { class: "notice", role: "region", "aria-label": "Possible duplicates" },
    h("h2", {}, "This may be someone already registered"),
    h(
      "ul",
      {},
      candidates.map((c) => h("li", {}, link(`/patients/${c.patient.id}/`, patientName(c.patient)), ` · born ${formatDate(c.patient.birth_date)} · ${reasons(c.evidence)} (score ${c.score})`)),
    ),
    h("p", {}, "Open their record if it is the same person."),
    h("label", { class: "checkbox" }, h("input", { type: "checkbox", name: "confirm_new_person" }), " None of these is this patient: register someone new"),
  );
}

/** Numbers and times as the API takes them; empty optional values left out. */
function toBody(values) {
  const body = { ...values };
  for (const c of body.contact_points ?? []) if (c.rank) c.rank = Number(c.rank);
  if (body.care_coordinator_id !== undefined) body.care_coordinator_id = Number(body.care_coordinator_id) || null;
  if (body.primary_care_practitioner_id !== undefined) body.primary_care_practitioner_id = Number(body.primary_care_practitioner_id) || null;
  return body;
}

export async function renderPatientForm(main, { params: [id], signal, setTitle }) {
  let patient = {};
  if (id) {
    try {
      patient = await api(`patients/${id}/`, { signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      fill(main, h("h1", {}, "Edit patient"), h("p", { class: "error-box", role: "alert" }, explain(error)));
      return;
    }
  }
  const title = id ? `Edit ${patientName(patient)}` : "Register a patient";
  setTitle(title);
  // Only the sections the role may write; on edit, the API refuses the others.
  const fields = [
    ...(can("identity", "write") ? identityFields(patient) : []),
    ...(can("preferences", "write") ? preferenceFields(patient) : []),
    ...(can("care_team", "write") ? await careTeamFields(patient) : []),
  ];
  const notices = h("div");
  const idempotencyKey = crypto.randomUUID();
  const form = buildForm({
    fields,
    submitLabel: id ? "Save changes" : "Register patient",
    cancelLabel: "Back without saving",
    onCancel: () => navigate(id ? `/patients/${id}/` : "/search/"),
    onSubmit: async (values) => {
      if (id) {
        await api(`patients/${id}/`, { method: "PATCH", body: toBody(values), version: patient.version });
        navigate(`/patients/${id}/`);
        return;
      }
      const confirmed = notices.querySelector("[name=confirm_new_person]")?.checked ?? false;
      try {
        const saved = await api("patients/", { method: "POST", body: { ...toBody(values), confirm_new_person: confirmed }, idempotencyKey });
        navigate(`/patients/${saved.id}/`);
      } catch (error) {
        if (error instanceof ApiError && error.body.code === "possible_duplicate") {
          fill(notices, duplicateNotice(error.body.candidates));
          throw new ApiError(409, { message: "This may be a patient already registered; see the list above the form." });
        }
        throw error;
      }
    },
  });
  fill(main, h("h1", {}, title), notices, form);
  form.querySelector("input, select, textarea")?.focus();
}
