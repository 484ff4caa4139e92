// Pieces several screens share: loading a panel with a plain error, referral and
// follow-up summaries.

import { api, explain, query } from "../api.js";
import { badge, fill, formatDateTime, h, patientLink } from "../dom.js";

/**
 * Keep a screen's filters in its address, so a reload, the back button or a shared link
 * shows the same list. Sets each control from the address now (a select gets an option
 * for a value it does not offer yet); the returned function writes them back.
 */
export function filtersInAddress(controls) {
  const params = new URLSearchParams(location.search);
  for (const [name, control] of Object.entries(controls)) {
    const value = params.get(name);
    if (value === null) continue;
    if (control.tagName === "SELECT" && ![...control.options].some((o) => o.value === value)) {
      control.append(h("option", { value }, value));
    }
    control.value = value;
  }
  return () => {
    const next = new URLSearchParams(location.search);
    for (const [name, control] of Object.entries(controls)) {
      if (control.value) next.set(name, control.value);
      else next.delete(name);
    }
    const search = next.toString();
    history.replaceState(history.state, "", `${location.pathname}${search ? `?${search}` : ""}${location.hash}`);
  };
}

let staffList = null;

/** Active staff (id, name, roles), asked once per page. */
export function staff() {
  staffList ??= api(`staff/${query({ page_size: 200 })}`).then((page) => page.results);
  return staffList;
}

/** Run `load()` and render its result into `panel`; a failure shows a plain message. */
export async function loadInto(panel, load, render) {
  panel.setAttribute("aria-busy", "true");
  try {
    const data = await load();
    panel.replaceChildren();
    render(data);
  } catch (error) {
    if (error.name === "AbortError") return;
    panel.replaceChildren(h("p", { class: "error-box", role: "alert" }, explain(error)));
  } finally {
    panel.removeAttribute("aria-busy");
  }
}

/**
 * For a panel that reloads when filters change: each call gives a signal that aborts the
 * previous request, so a slow older answer never overwrites a newer one.
 */
export function latestOnly(screenSignal) {
  let controller = null;
  return () => {
    controller?.abort();
    controller = new AbortController();
    return AbortSignal.any([screenSignal, controller.signal]);
  };
}

/**
 * A worklist bucket: heading with its count, its items, and a button for the next page
 * while some are not shown (`loadMore(offset)` resolves with the bucket's next items).
 * As a board column it is a level-2 section that also counts the overdue ones.
 */
export function bucketSection(bucket, renderItem, { column = false, loadMore } = {}) {
  const kind = column ? "column" : "bucket";
  const headingId = `${kind}-${bucket.key}`;
  const overdue = column && bucket.overdue ? `, ${bucket.overdue} overdue` : "";
  const list = h("ul", { class: "items" }, bucket.items.map(renderItem));
  const footer = h("div", { class: "panel-footer" });
  let shown = bucket.items.length;
  const more = async () => {
    const button = footer.querySelector("button");
    button.disabled = true;
    try {
      const items = await loadMore(shown);
      const first = items.length ? renderItem(items[0]) : null;
      list.append(...(first ? [first, ...items.slice(1).map(renderItem)] : []));
      shown += items.length;
      showFooter();
      first?.setAttribute("tabindex", "-1");
      first?.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      footer.replaceChildren(h("p", { class: "error-box", role: "alert" }, explain(error)));
    }
  };
  const showFooter = () =>
    fill(
      footer,
      bucket.count > shown
        ? [h("p", { class: "muted" }, `Showing ${shown} of ${bucket.count}.`), loadMore ? h("button", { type: "button", onclick: more }, `Show more ${bucket.label.toLowerCase()}`) : null]
        : null,
    );
  showFooter();
  return h(
    "section",
    { class: kind, "aria-labelledby": headingId },
    h(column ? "h2" : "h3", { id: headingId }, bucket.label, " ", h("span", { class: "count" }, `(${bucket.count}${overdue})`)),
    bucket.items.length ? list : h("p", { class: "muted" }, column ? "None." : "Nothing here."),
    footer,
  );
}

/** `loadMore` for a bucket of a worklist endpoint: its next page, with the same filters. */
export const nextItems = (url, key, signal) => async (offset) => {
  const separator = url.includes("?") ? "&" : "?";
  const data = await api(`${url}${separator}offset=${offset}`, { signal });
  return data.buckets.find((b) => b.key === key).items;
};

export function dueText(dueAt, overdue) {
  if (!dueAt) return null;
  return h(
    "span",
    { class: overdue ? "due overdue" : "due" },
    overdue ? badge("Overdue", "danger") : null,
    overdue ? " " : null,
    `Due ${formatDateTime(dueAt)}`,
  );
}

/** One line of a worklist: the patient first, so it is one click away. */
export function referralItem(referral) {
  return h(
    "li",
    { class: `item${referral.next_step?.overdue ? " is-overdue" : ""}` },
    h("div", { class: "item-title" }, patientLink(referral.patient), " ", badge(referral.priority.label, `priority-${referral.priority.value}`)),
    h(
      "div",
      { class: "item-meta" },
      `${referral.specialty} · ${referral.receiving_organization?.name ?? "no provider yet"} · ${referral.status.label}`,
    ),
    referral.next_step
      ? h("div", { class: "item-meta" }, `Next: ${referral.next_step.step} `, dueText(referral.next_step.due_at, referral.next_step.overdue))
      : null,
  );
}

export function followUpItem(followUp) {
  return h(
    "li",
    { class: `item${followUp.overdue ? " is-overdue" : ""}` },
    h("div", { class: "item-title" }, patientLink(followUp.patient), " · ", followUp.title),
    h(
      "div",
      { class: "item-meta" },
      followUp.kind.label,
      followUp.contact_channel ? ` · by ${followUp.contact_channel.label}` : "",
      followUp.contact_language_name ? ` · in ${followUp.contact_language_name}` : "",
      " ",
      dueText(followUp.due_at, followUp.overdue),
    ),
  );
}
