// The registration team's duplicate worklist: pairs of records that may be one person,
// best score first, each with why; keep one (the other merges into it) or say they are
// two people.

import { api, query } from "../api.js";
import { announce, fill, formatDate, h, link, patientName } from "../dom.js";
import { openDialog } from "../forms.js";
import { navigate } from "../router.js";
import { loadInto } from "./common.js";

const OUTCOMES = { same: "same", similar: "alike", close: "close", "given and family swapped": "swapped", shared: "shared" };

/** Why two records may be one person, as the API scored it: "birth date same, phone shared". */
export function reasons(evidence) {
  return evidence
    .filter((e) => e.weight > 0)
    .map((e) => `${e.field.replaceAll("_", " ")} ${OUTCOMES[e.outcome] ?? e.outcome}`)
    .join(", ");
}

const who = (p) => [link(`/patients/${p.id}/`, patientName(p)), ` · born ${formatDate(p.birth_date)} · MRN ${p.mrn}`];

async function merge(pair, keep, gone) {
  const merged = await openDialog({
    title: `Keep ${patientName(keep)}'s record`,
    description: `Everything ${patientName(gone)}'s record holds moves to it, and that record points to this one. It can be undone for 30 days.`,
    fields: [{ name: "reason", label: "Why these are one person", type: "textarea", required: true, maxlength: 2000 }],
    submitLabel: "Merge the records",
    onSubmit: async (values) => {
      const survivor = await api(`patients/${keep.id}/`);
      return api(`patients/${keep.id}/merge/`, { method: "POST", body: { other_id: gone.id, reason: values.reason }, version: survivor.version });
    },
  });
  if (merged) {
    announce(`${patientName(gone)}'s record was merged into ${patientName(keep)}'s.`);
    navigate(`/patients/${keep.id}/`);
  }
}

function pairItem(pair, onDecided) {
  const distinct = async () => {
    await api(`duplicates/${pair.id}/distinct/`, { method: "POST" });
    announce("Marked as two people.");
    onDecided(item);
  };
  const item = h(
    "li",
    { class: "item", "data-pair": pair.id },
    h("div", { class: "item-title" }, ...who(pair.patient)),
    h("div", { class: "item-title" }, ...who(pair.other)),
    h("div", { class: "item-meta" }, `Score ${pair.score}: ${reasons(pair.evidence)}`),
    h(
      "div",
      { class: "actions", role: "group", "aria-label": `Decide ${patientName(pair.patient)} and ${patientName(pair.other)}` },
      h("button", { type: "button", onclick: () => merge(pair, pair.patient, pair.other) }, `Keep ${patientName(pair.patient)}`),
      h("button", { type: "button", onclick: () => merge(pair, pair.other, pair.patient) }, `Keep ${patientName(pair.other)}`),
      h("button", { type: "button", onclick: distinct }, "Two people"),
    ),
  );
  return item;
}

export function renderDuplicates(main, { signal }) {
  const list = h("ol", { class: "items", "aria-label": "Possible duplicates" });
  const status = h("div", { class: "panel" });
  const empty = () => list.replaceChildren(h("li", { class: "muted" }, "No possible duplicates to review."));
  const decided = (item) => {
    item.remove();
    if (!list.children.length) empty();
    main.querySelector("h1").focus();
  };
  fill(
    main,
    h("h1", { tabindex: "-1" }, "Possible duplicates"),
    h("p", { class: "muted" }, "Records that may be one person, found at registration or by the nightly scan, most likely first."),
    status,
    list,
  );
  loadInto(status, () => api(`duplicates/${query({ status: "open", page_size: 50 })}`, { signal }), (page) => {
    list.replaceChildren(...page.results.map((pair) => pairItem(pair, decided)));
    if (!page.results.length) empty();
  });
}
