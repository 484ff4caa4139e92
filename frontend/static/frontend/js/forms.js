// Forms and dialogs built from a list of field descriptions. The API's 400 field errors
// are shown next to the fields they belong to; any other failure as a plain message.

import { ApiError, explain } from "./api.js";
import { fill, h, isoDate, uid } from "./dom.js";
import { session } from "./session.js";

const INPUT_TYPES = { datetime: "datetime-local", date: "date", boolean: "checkbox" };

/**
 * A workflow action as the server declares it (label, help and inputs, in
 * session.workflows), as a dialog's title, description and fields: the app keeps no
 * table of its own.
 */
export function actionForm(workflow, action) {
  const step = session.workflows[workflow][action];
  return {
    label: step.label,
    description: step.help,
    fields: step.inputs.map((input) => ({
      name: input.name,
      label: input.label,
      // A checkbox is an answer either way (the patient was told, or not): never required.
      required: input.kind !== "boolean" && input.required,
      help: input.name === "reason" ? input.help : undefined,
      maxlength: input.max_length ?? undefined,
      type: INPUT_TYPES[input.kind] ?? (input.max_length && input.max_length <= 200 ? "text" : "textarea"),
      value: input.kind === "date" ? isoDate() : undefined,
    })),
  };
}

/**
 * A field: {name, label, type ("text", "textarea", "select", "checkbox", "date",
 * "datetime-local"), required, options ([{value, label}]), value, help}. A select's
 * `options` may instead be `async (values) => [{value, label}]`: asked again whenever
 * another field of the form changes (a provider list that follows its filters).
 */
function control(field) {
  const id = uid(`f-${field.name}`);
  const errorId = `${id}-error`;
  const helpId = field.help ? `${id}-help` : null;
  const common = {
    id,
    name: field.name,
    required: field.required || false,
    "aria-describedby": [helpId, errorId].filter(Boolean).join(" "),
  };
  if (field.type === "hidden") {
    const input = h("input", { type: "hidden", name: field.name, value: field.value ?? "" });
    return { wrapper: input, input, error: h("p") };
  }
  if (field.type === "checkboxes") {
    const boxes = field.options.map((o) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", value: o.value, checked: (field.value ?? []).includes(o.value) }), ` ${o.label}`),
    );
    const error = h("p", { class: "field-error", id: errorId });
    const wrapper = h("fieldset", { class: "field field-checkboxes", "aria-describedby": errorId }, h("legend", {}, field.label), boxes, error);
    return { wrapper, input: wrapper, error };
  }
  let input;
  if (field.type === "textarea") {
    input = h("textarea", { ...common, rows: field.rows || 3, maxlength: field.maxlength }, field.value ?? "");
  } else if (field.type === "select") {
    input = h("select", common);
    setOptions(field, input, typeof field.options === "function" ? [] : field.options);
  } else if (field.type === "checkbox") {
    input = h("input", { ...common, type: "checkbox", checked: Boolean(field.value) });
  } else {
    input = h("input", {
      ...common,
      type: field.type || "text",
      value: field.value ?? "",
      maxlength: field.maxlength,
      min: field.min,
      max: field.max,
    });
  }
  const label = h("label", { for: id }, field.label, field.required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null);
  const wrapper = h(
    "div",
    { class: `field field-${field.type || "text"}` },
    field.type === "checkbox" ? [input, label] : [label, input],
    helpId ? h("p", { class: "help", id: helpId }, field.help) : null,
    h("p", { class: "field-error", id: errorId }),
  );
  return { wrapper, input, error: wrapper.querySelector(".field-error") };
}

function setOptions(field, select, options) {
  const current = select.value || field.value;
  fill(
    select,
    field.required && options.length ? null : h("option", { value: "" }, options.length ? field.placeholder || "—" : field.empty || "—"),
    options.map((o) => h("option", { value: o.value, selected: String(o.value) === String(current) }, o.label)),
  );
}

function valueOf(field, input) {
  if (field.type === "checkbox") return input.checked;
  if (field.type === "checkboxes") return [...input.querySelectorAll("input:checked")].map((box) => box.value);
  if (field.type === "datetime-local") return input.value ? new Date(input.value).toISOString() : "";
  return input.value;
}

/** A repeating group ({type: "list", name, label, item: [fields], value: [rows],
 * addLabel, itemLabel}): one fieldset per row, rows added and removed in place. */
function listControl(field) {
  const rows = h("div", { class: "list-rows" });
  const error = h("p", { class: "field-error", id: uid(`f-${field.name}-error`) });
  const state = { field, rows: [], error, next: 0 };
  // Rows are numbered by position, again after each removal: "Contact point 2".
  const renumber = () =>
    state.rows.forEach((row, i) => {
      row.legend.textContent = `${field.itemLabel} ${i + 1}`;
      row.remove.textContent = `Remove ${field.itemLabel.toLowerCase()} ${i + 1}`;
    });
  const addRow = (value = {}) => {
    const key = state.next++;
    const controls = new Map(
      field.item.map((sub) => {
        const path = `${field.name}.${key}.${sub.name}`;
        return [sub.name, { field: sub, ...control({ ...sub, name: path, value: value[sub.name] ?? sub.value }) }];
      }),
    );
    const row = { key, controls, legend: h("legend"), remove: h("button", { type: "button", class: "link" }) };
    row.fieldset = h("fieldset", { class: "list-row" }, row.legend, [...controls.values()].map((c) => c.wrapper), row.remove);
    row.remove.addEventListener("click", () => {
      state.rows = state.rows.filter((r) => r !== row);
      row.fieldset.remove();
      renumber();
      add.focus();
    });
    state.rows.push(row);
    rows.append(row.fieldset);
    renumber();
    return row;
  };
  const add = h(
    "button",
    { type: "button", onclick: () => addRow().fieldset.querySelector("input, select, textarea").focus() },
    field.addLabel,
  );
  (field.value ?? []).forEach((value) => addRow(value));
  const wrapper = h("fieldset", { class: "field-list" }, h("legend", {}, field.label), rows, add, error);
  return { wrapper, state };
}

/**
 * Build a form. `fields` may hold groups ({type: "group", label}: the fields after it,
 * up to the next group, in one fieldset) and lists (see listControl). `onSubmit(values)`
 * returns a promise; when it rejects with an ApiError the form shows the message and
 * the field errors beside their fields (nested ones beside the row's field) and stays
 * open for correction.
 */
export function buildForm({ fields, submitLabel, onSubmit, onCancel, cancelLabel = "Go back", aside = null, onChange = null }) {
  const controls = new Map();
  const lists = new Map();
  const body = [];
  let group = null;
  for (const f of fields) {
    if (f.type === "group") {
      group = h("fieldset", { class: "form-group" }, h("legend", {}, f.label));
      body.push(group);
      continue;
    }
    let wrapper;
    if (f.type === "list") {
      const list = listControl(f);
      lists.set(f.name, list.state);
      wrapper = list.wrapper;
    } else {
      const c = { field: f, ...control(f) };
      controls.set(f.name, c);
      wrapper = c.wrapper;
    }
    if (group) group.append(wrapper);
    else body.push(wrapper);
  }
  const summary = h("div", { class: "form-summary", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h(
    "form",
    { novalidate: true },
    summary,
    body,
    aside,
    h(
      "div",
      { class: "actions" },
      submit,
      // Not "Cancel": several dialogs cancel a referral or a follow-up on submit.
      onCancel ? h("button", { type: "button", onclick: onCancel }, cancelLabel) : null,
    ),
  );
  const everyControl = () => [...controls.values(), ...[...lists.values()].flatMap((l) => l.rows.flatMap((r) => [...r.controls.values()]))];

  // Selects whose options follow the other fields.
  const dynamic = [...controls.values()].filter((c) => typeof c.field.options === "function");
  const currentValues = () => Object.fromEntries([...controls].map(([name, c]) => [name, valueOf(c.field, c.input)]));
  let generation = 0;
  async function reloadOptions() {
    const mine = ++generation;
    const values = currentValues();
    for (const c of dynamic) {
      c.input.setAttribute("aria-busy", "true");
      try {
        const options = await c.field.options(values);
        if (mine === generation) setOptions(c.field, c.input, options);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (mine === generation) showErrors(explain(error));
      } finally {
        c.input.removeAttribute("aria-busy");
      }
    }
  }
  if (dynamic.length) {
    form.addEventListener("change", (event) => {
      if (!dynamic.some((c) => c.input === event.target)) reloadOptions();
    });
    reloadOptions();
  }
  // Something that follows what is typed (a preview): told the values after each change.
  if (onChange) {
    let pending;
    const changed = () => {
      clearTimeout(pending);
      pending = setTimeout(() => onChange(currentValues()), 250);
    };
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    onChange(currentValues());
  }

  function clearErrors() {
    summary.replaceChildren();
    summary.removeAttribute("role");
    for (const list of lists.values()) list.error.textContent = "";
    for (const c of everyControl()) {
      c.error.textContent = "";
      c.input.removeAttribute("aria-invalid");
    }
  }

  const asText = (messages) => [].concat(messages).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");

  // The rows sent for each list, in order: a nested error's index points into these.
  let sentRows = new Map();

  function showErrors(message, fieldErrors = {}) {
    summary.setAttribute("role", "alert");
    summary.replaceChildren(h("p", { class: "error-box" }, message));
    let first = null;
    const mark = (c, messages) => {
      c.error.textContent = asText(messages);
      c.input.setAttribute("aria-invalid", "true");
      first ??= c.input;
    };
    for (const [name, messages] of Object.entries(fieldErrors)) {
      const list = lists.get(name);
      const c = controls.get(name);
      if (c) {
        mark(c, messages);
      } else if (list && Array.isArray(messages) && messages.some((m) => m && typeof m === "object")) {
        messages.forEach((rowErrors, i) => {
          const row = sentRows.get(name)?.[i];
          for (const [sub, text] of Object.entries(rowErrors ?? {})) {
            const target = row?.controls.get(sub);
            if (target) mark(target, text);
            else list.error.textContent = `${list.error.textContent} ${asText(text)}`.trim();
          }
        });
      } else if (list) {
        list.error.textContent = asText(messages);
        first ??= list.error;
      } else {
        summary.append(h("p", { class: "field-error" }, asText(messages)));
      }
    }
    (first || summary).focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const values = {};
    const missing = {};
    for (const [name, c] of controls) {
      const value = valueOf(c.field, c.input);
      if (c.field.required && value === "") missing[name] = ["This field is required."];
      if (value !== "") values[name] = value;
    }
    sentRows = new Map();
    for (const [name, list] of lists) {
      const sent = [];
      values[name] = [];
      for (const row of list.rows) {
        const item = {};
        for (const [sub, c] of row.controls) {
          const value = valueOf(c.field, c.input);
          if (value !== "" && value !== false) item[sub] = value;
        }
        if (!Object.keys(item).length) continue; // a row added and left empty
        for (const [sub, c] of row.controls) {
          if (c.field.required && item[sub] === undefined) missing[`${name}.${row.key}.${sub}`] = ["This field is required."];
        }
        values[name].push(item);
        sent.push(row);
      }
      sentRows.set(name, sent);
    }
    if (Object.keys(missing).length) {
      showErrors("Some fields need attention.", Object.fromEntries(Object.entries(missing).filter(([k]) => controls.has(k))));
      for (const path of Object.keys(missing).filter((k) => !controls.has(k))) {
        const [name, key, sub] = path.split(".");
        const row = lists.get(name).rows.find((r) => String(r.key) === key);
        const c = row.controls.get(sub);
        c.error.textContent = "This field is required.";
        c.input.setAttribute("aria-invalid", "true");
      }
      form.querySelector("[aria-invalid='true']")?.focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    try {
      await onSubmit(values);
    } catch (error) {
      if (error instanceof ApiError) showErrors(explain(error), error.fieldErrors);
      else throw error;
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
  });

  return form;
}

/**
 * A modal dialog holding a form. Resolves with whatever `onSubmit` returned once it
 * succeeds, or null when the person cancels. Focus returns to where it was.
 */
export function openDialog({ title, description, fields, submitLabel, onSubmit, aside = null, onChange = null }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "dialog" });
    const opener = document.activeElement;
    const close = (result) => {
      dialog.close();
      dialog.remove();
      opener?.focus?.();
      resolve(result);
    };
    const form = buildForm({
      fields,
      submitLabel,
      onSubmit: async (values) => close(await onSubmit(values)),
      onCancel: () => close(null),
      aside,
      onChange,
    });
    fill(dialog, h("h2", { id: titleId }, title), description ? h("p", { class: "muted" }, description) : null, form);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector("input, select, textarea") || form.querySelector("button")).focus();
  });
}
