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
      required: input.required,
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
  if (field.type === "datetime-local") return input.value ? new Date(input.value).toISOString() : "";
  return input.value;
}

/**
 * Build a form. `onSubmit(values)` returns a promise; when it rejects with an ApiError
 * the form shows the message and per-field errors and stays open for correction.
 */
function buildForm({ fields, submitLabel, onSubmit, onCancel }) {
  const controls = new Map(fields.map((f) => [f.name, { field: f, ...control(f) }]));
  const summary = h("div", { class: "form-summary", tabindex: "-1" });
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  const form = h(
    "form",
    { novalidate: true },
    summary,
    [...controls.values()].map((c) => c.wrapper),
    h(
      "div",
      { class: "actions" },
      submit,
      // Not "Cancel": several dialogs cancel a referral or a follow-up on submit.
      h("button", { type: "button", onclick: onCancel }, "Go back"),
    ),
  );

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

  function clearErrors() {
    summary.replaceChildren();
    summary.removeAttribute("role");
    for (const c of controls.values()) {
      c.error.textContent = "";
      c.input.removeAttribute("aria-invalid");
    }
  }

  function showErrors(message, fieldErrors = {}) {
    summary.setAttribute("role", "alert");
    summary.replaceChildren(h("p", { class: "error-box" }, message));
    let first = null;
    for (const [name, messages] of Object.entries(fieldErrors)) {
      const c = controls.get(name);
      const text = [].concat(messages).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ");
      if (c) {
        c.error.textContent = text;
        c.input.setAttribute("aria-invalid", "true");
        first ??= c.input;
      } else {
        summary.append(h("p", { class: "field-error" }, text));
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
    if (Object.keys(missing).length) {
      showErrors("Some fields need attention.", missing);
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
export function openDialog({ title, description, fields, submitLabel, onSubmit }) {
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
    });
    dialog.append(
      h("h2", { id: titleId }, title),
      description ? h("p", { class: "muted" }, description) : null,
      form,
    );
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector("input, select, textarea") || form.querySelector("button")).focus();
  });
}
