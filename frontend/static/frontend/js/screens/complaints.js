// The complaint worklist: my and my teams' open complaints by bucket (awaiting first
// response, in progress, resolved to close), most urgent first, each worked in place.

import { api, query } from "../api.js";
import { h } from "../dom.js";
import { bucketSection, filtersInAddress, latestOnly, loadInto, nextItems } from "./common.js";
import { complaintCard } from "./feedback.js";

const asItem = (complaint) => h("li", {}, complaintCard(complaint, { withPatient: true }));

export async function renderComplaints(main, { signal }) {
  const scope = h("select", { id: "complaints-scope" }, h("option", { value: "mine" }, "Mine and my teams'"), h("option", { value: "team" }, "Everyone's"));
  const list = h("div", { class: "panel" });
  main.replaceChildren(
    h("h1", {}, "Complaints"),
    h("div", { class: "filters", role: "group", "aria-label": "Filter the complaints" }, h("div", { class: "field" }, h("label", { for: "complaints-scope" }, "Show"), scope)),
    list,
  );
  const nextSignal = latestOnly(signal);
  async function load() {
    const url = `worklists/complaints/${query({ team: scope.value === "team" ? "true" : "", limit: 20 })}`;
    const loadSignal = nextSignal();
    await loadInto(list, () => api(url, { signal: loadSignal }), (data) => {
      list.append(...data.buckets.map((bucket) => bucketSection(bucket, asItem, { loadMore: nextItems(url, bucket.key, loadSignal) })));
    });
  }
  const remember = filtersInAddress({ scope });
  scope.addEventListener("change", () => {
    remember();
    load();
  });
  await load();
}
