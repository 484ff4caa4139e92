// The form that creates a referral: a provider picker filtered by specialty, the
// patient's language, network and whether the provider takes new patients. Redirecting
// a declined referral is the same form with `replaces`.

import { api, query } from "../api.js";
import { languageName, patientName } from "../dom.js";
import { openDialog } from "../forms.js";
import { session } from "../session.js";

async function specialties() {
  const page = await api(`organizations/${query({ active: true, page_size: 200 })}`);
  return [...new Set(page.results.map((o) => o.specialty).filter(Boolean))].sort();
}

function providerLabel(p) {
  const where = p.organization ? ` — ${p.organization.name}` : "";
  const network = p.in_network ? "in network" : "out of network";
  const speaks = p.languages?.length ? ` · speaks ${p.languages.map(languageName).join(", ")}` : "";
  return `${p.given_name} ${p.family_name}${where} (${network}${p.accepting_new_patients ? "" : ", not accepting"})${speaks}`;
}

/**
 * Open the referral form for `patient`; with `replaces` (a declined referral) it
 * redirects that referral to another provider. Resolves with the new referral, or null.
 */
export async function openReferralForm({ patient, replaces = null }) {
  const known = await specialties();
  const preferred = patient.languages?.find((l) => l.preferred) ?? patient.languages?.[0];
  const providers = new Map();
  const fields = [
    {
      name: "specialty",
      label: "Specialty",
      type: "select",
      required: true,
      options: known.map((s) => ({ value: s, label: s })),
      value: replaces?.specialty,
    },
    preferred && preferred.language !== "en"
      ? { name: "speaks", label: `Speaks ${preferred.name}`, type: "checkbox", value: false }
      : null,
    { name: "in_network", label: "In network only", type: "checkbox", value: true },
    { name: "accepting", label: "Accepting new patients only", type: "checkbox", value: true },
    {
      name: "receiving_practitioner_id",
      label: "Receiving provider",
      type: "select",
      placeholder: "Choose later",
      empty: "No provider matches these filters",
      help: "Filtered by the choices above.",
      async options(values) {
        if (!values.specialty) return [];
        const page = await api(
          `practitioners/${query({
            specialty: values.specialty,
            language: values.speaks ? preferred.language : "",
            in_network: values.in_network ? "true" : "",
            accepting_new_patients: values.accepting ? "true" : "",
            active: "true",
            page_size: 100,
          })}`,
        );
        const shown = page.results.filter((p) => p.id !== replaces?.receiving_practitioner?.id);
        shown.forEach((p) => providers.set(String(p.id), p));
        return shown.map((p) => ({ value: p.id, label: providerLabel(p) }));
      },
    },
    {
      name: "priority",
      label: "Priority",
      type: "select",
      required: true,
      options: session.choices.referral_priority,
      value: replaces?.priority?.value ?? "routine",
    },
    { name: "reason", label: "Reason for referral", type: "textarea", required: true, maxlength: 2000, value: replaces?.reason },
  ].filter(Boolean);

  return openDialog({
    title: replaces ? `Redirect the ${replaces.specialty} referral` : `New referral for ${patientName(patient)}`,
    description: replaces
      ? "The declined referral stays on record; the new one names it as the referral it replaces."
      : "Saved as a draft; send it from its card.",
    fields,
    submitLabel: replaces ? "Create the new referral" : "Create referral",
    onSubmit: (values) => {
      const provider = providers.get(String(values.receiving_practitioner_id ?? ""));
      return api("referrals/", {
        method: "POST",
        body: {
          patient_id: patient.id,
          specialty: values.specialty,
          priority: values.priority,
          reason: values.reason,
          receiving_practitioner_id: provider?.id ?? null,
          receiving_organization_id: provider?.organization?.id ?? null,
          referring_practitioner_id: patient.primary_care_practitioner?.id ?? null,
          replaces_id: replaces?.id ?? null,
        },
      });
    },
  });
}
