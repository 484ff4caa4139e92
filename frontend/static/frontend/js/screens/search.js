// Patient search as you type (name, MRN, birth date or phone, all through the API's `q`),
// as an ARIA combobox: arrow keys move through the results, Enter opens one.

import { api, explain, query } from "../api.js";
import { count, formatDate, h, link, patientName } from "../dom.js";
import { navigate } from "../router.js";
import { can } from "../session.js";

const DELAY_MS = 200;
const PAGE_SIZE = 20;
// Chinese, Japanese and Korean characters: one may be a whole family name.
const ONE_CHARACTER_NAME = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;

export async function renderSearch(main) {
  const input = h("input", {
    id: "patient-search",
    type: "search",
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": "search-results",
    "aria-describedby": "search-help",
    autocomplete: "off",
    spellcheck: "false",
  });
  const list = h("ul", { id: "search-results", role: "listbox", "aria-label": "Patients found", class: "results" });
  const status = h("p", { class: "muted", role: "status", id: "search-status" });
  const more = h("button", { type: "button", hidden: true }, "Show more patients");
  let nextUrl = null;
  let total = 0;
  main.replaceChildren(
    h("div", { class: "section-head" }, h("h1", {}, "Find a patient"), can("identity", "write") ? link("/patients/new/", "Register a new patient") : null),
    h(
      "div",
      { class: "field search-field" },
      h("label", { for: "patient-search" }, "Name, MRN, birth date or phone"),
      input,
      h("p", { class: "help", id: "search-help" }, "Results appear as you type. Use the arrow keys to choose and Enter to open."),
    ),
    status,
    list,
    more,
  );

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  function setActive(index) {
    active = index;
    for (const [i, option] of [...list.children].entries()) {
      option.setAttribute("aria-selected", String(i === active));
    }
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", list.children[active].id);
      list.children[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  const open = (patient) => navigate(`/patients/${patient.id}/`);

  function show(patients, { append = false } = {}) {
    const first = append ? results.length : 0;
    results = append ? [...results, ...patients] : patients;
    list.replaceChildren(
      ...results.map((patient) =>
        h(
          "li",
          { id: `patient-option-${patient.id}`, role: "option", "aria-selected": "false", class: "result", onclick: () => open(patient) },
          h("span", { class: "result-name" }, patientName(patient)),
          h(
            "span",
            { class: "result-meta" },
            `Born ${formatDate(patient.birth_date)} · MRN ${patient.mrn}`,
            patient.preferred_language ? ` · ${patient.preferred_language.name}` : "",
            patient.interpreter_needed?.value === "yes" ? " · interpreter needed" : "",
          ),
        ),
      ),
    );
    input.setAttribute("aria-expanded", String(results.length > 0));
    setActive(results.length ? first : -1);
    const found = count(results.length, "patient");
    status.textContent = !results.length
      ? "No patient matches."
      : nextUrl
        ? `Showing the best ${found} of ${total}. Type more of the name, or the MRN or birth date, or show more.`
        : `${found} found.`;
    more.hidden = !nextUrl;
  }

  /** A new search, or with `append` the next page of the current one. */
  async function search(url, { append = false } = {}) {
    controller?.abort();
    controller = new AbortController();
    try {
      const page = await api(url, { signal: controller.signal });
      nextUrl = page.next;
      total = page.count;
      show(page.results, { append });
      if (append) input.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      nextUrl = null;
      show([]);
      status.textContent = explain(error);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    // One character is too little to search by, unless it is a whole name (杨, 김).
    if (text.length < 2 && !ONE_CHARACTER_NAME.test(text)) {
      controller?.abort();
      list.replaceChildren();
      more.hidden = true;
      input.setAttribute("aria-expanded", "false");
      status.textContent = text ? "Type at least two characters." : "";
      return;
    }
    timer = setTimeout(() => search(`patients/${query({ q: text, page_size: PAGE_SIZE })}`), DELAY_MS);
  });

  more.addEventListener("click", () => search(nextUrl, { append: true }));

  input.addEventListener("keydown", (event) => {
    if (!results.length) return;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive(Math.min(active + 1, results.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      open(results[active]);
    } else if (event.key === "Escape") {
      list.replaceChildren();
      more.hidden = true;
      results = [];
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }
  });
  input.focus();
}
