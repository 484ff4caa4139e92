// Referral board: the worklist buckets as columns, mine or the whole team's, filtered by
// priority and specialty.

import { api, query } from "../api.js";
import { fill, h } from "../dom.js";
import { session } from "../session.js";
import { bucketSection, filtersInAddress, latestOnly, loadInto, nextItems, referralItem } from "./common.js";

export async function renderBoard(main, { signal }) {
  const scope = h("select", { id: "board-scope" }, h("option", { value: "mine" }, "My referrals"), h("option", { value: "team" }, "Whole team"));
  const priority = h(
    "select",
    { id: "board-priority" },
    h("option", { value: "" }, "Any priority"),
    session.choices.referral_priority.map((p) => h("option", { value: p.value }, p.label)),
  );
  const specialty = h("select", { id: "board-specialty" }, h("option", { value: "" }, "Any specialty"));
  // The columns sit side by side and the board scrolls sideways; each column scrolls on
  // its own, so the page stays one screen tall.
  const board = h("div", { class: "board", role: "region", "aria-label": "Referral board columns", tabindex: "0" });
  main.replaceChildren(
    h("h1", {}, "Referral board"),
    h(
      "div",
      { class: "filters", role: "group", "aria-label": "Filter the board" },
      h("div", { class: "field" }, h("label", { for: "board-scope" }, "Show"), scope),
      h("div", { class: "field" }, h("label", { for: "board-priority" }, "Priority"), priority),
      h("div", { class: "field" }, h("label", { for: "board-specialty" }, "Specialty"), specialty),
    ),
    board,
  );

  const nextSignal = latestOnly(signal);
  const known = new Set();
  function addSpecialties(buckets) {
    for (const item of buckets.flatMap((b) => b.items)) known.add(item.specialty);
    const current = specialty.value;
    fill(
      specialty,
      h("option", { value: "" }, "Any specialty"),
      [...known].sort().map((s) => h("option", { value: s, selected: s === current }, s)),
    );
  }

  async function load() {
    const params = { team: scope.value === "team" ? "true" : "", priority: priority.value, specialty: specialty.value, limit: 25 };
    const url = `worklists/referrals/${query(params)}`;
    const loadSignal = nextSignal();
    await loadInto(board, () => api(url, { signal: loadSignal }), (data) => {
      addSpecialties(data.buckets);
      board.append(
        ...data.buckets.map((bucket) => bucketSection(bucket, referralItem, { column: true, loadMore: nextItems(url, bucket.key, loadSignal) })),
      );
    });
  }
  // Opened from the dashboard, "/board/?scope=team#column-<bucket>" shows that column.
  const remember = filtersInAddress({ scope, priority, specialty });
  if (specialty.value) known.add(specialty.value);
  for (const control of [scope, priority, specialty]) {
    control.addEventListener("change", () => {
      remember();
      load();
    });
  }
  await load();
  const column = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  if (column) {
    column.setAttribute("tabindex", "-1");
    column.scrollIntoView({ block: "nearest", inline: "start" });
    column.focus();
  }
}
