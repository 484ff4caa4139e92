// Dashboard: referral loop closure, time to schedule, overdue work, appointment
// confirmations, no-shows and waits, NPS, CSAT and complaint service levels for each
// month of a chosen period, feedback for one department or all.
// Every chart has its numbers in a table; the overdue chart leads to the board.

import { api, query } from "../api.js";
import { h, isoDate, link } from "../dom.js";
import { navigate } from "../router.js";
import { can, session } from "../session.js";
import { filtersInAddress, latestOnly, loadInto } from "./common.js";

const PERIODS = [3, 6, 12];
const COLORS = ["#1d5fbf", "#b3541e", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457"];

let chartLibrary = null;
/** Chart.js (from npm, served locally) is loaded only when the dashboard is opened. */
function loadChartLibrary() {
  chartLibrary ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = session.chart_script;
    script.onload = () => resolve(window.Chart);
    script.onerror = () => reject(new Error("The chart library could not be loaded."));
    document.head.append(script);
  });
  return chartLibrary;
}

/** The last `count` calendar months, oldest first, the current one ending today. */
function months(count) {
  const now = new Date();
  return Array.from({ length: count }, (_, i) => {
    const first = new Date(now.getFullYear(), now.getMonth() - (count - 1 - i), 1);
    const last = new Date(first.getFullYear(), first.getMonth() + 1, 0);
    return {
      label: first.toLocaleDateString(undefined, { month: "short", year: "numeric" }),
      start: isoDate(first),
      end: isoDate(last < now ? last : now),
    };
  });
}

const round = (value, digits = 1) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));
const percent = (ratio) => (ratio?.rate === null || ratio?.rate === undefined ? null : round(ratio.rate * 100));
const cell = (value, unit = "") => (value === null || value === undefined ? "no data" : `${value}${unit}`);

/**
 * A chart and the same numbers as a table. series: [{label, values, unit}], labels: the
 * x axis. The canvas is hidden from assistive technology; the table is the text version.
 * With `links` (one address per label) a click on a bar opens it, and the table's row
 * headers are the same links for the keyboard.
 */
function chartFigure(Chart, { id, title, type = "line", labels, series, yLabel, links, rowHeader = "Period" }) {
  const canvas = h("canvas", { id: `chart-${id}`, role: "img", "aria-label": `${title}: chart; the numbers follow in a table.` });
  const table = h(
    "table",
    { class: "data" },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, rowHeader), series.map((s) => h("th", { scope: "col" }, s.label)))),
    h(
      "tbody",
      {},
      labels.map((label, i) =>
        h("tr", {}, h("th", { scope: "row" }, links ? link(links[i], label) : label), series.map((s) => h("td", {}, cell(s.values[i], s.unit)))),
      ),
    ),
  );
  const figure = h(
    "figure",
    { class: "chart", "data-chart": id },
    h("h2", {}, title),
    h("div", { class: "chart-canvas" }, canvas),
    h("details", {}, h("summary", {}, "Show the numbers"), table),
  );
  new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        borderColor: COLORS[i],
        backgroundColor: COLORS[i],
        spanGaps: true,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, title: { display: Boolean(yLabel), text: yLabel } } },
      plugins: { legend: { position: "bottom" } },
      onClick: links ? (_event, elements) => elements.length && navigate(links[elements[0].index]) : undefined,
      onHover: links ? (event, elements) => (event.native.target.style.cursor = elements.length ? "pointer" : "default") : undefined,
    },
  });
  return figure;
}

export async function renderDashboard(main, { signal }) {
  const grid = h("div", { class: "charts" });
  const period = h("select", { id: "dashboard-period" }, PERIODS.map((n) => h("option", { value: n, selected: n === 6 }, `Last ${n} months`)));
  const department = h(
    "select",
    { id: "dashboard-department" },
    h("option", { value: "" }, "All departments"),
    session.choices.department.map((d) => h("option", { value: d.value }, d.label)),
  );
  const note = h("p", { class: "muted" });
  main.replaceChildren(
    h("h1", {}, "Dashboard"),
    h(
      "div",
      { class: "filters", role: "group", "aria-label": "Choose the period and department" },
      h("div", { class: "field" }, h("label", { for: "dashboard-period" }, "Period"), period),
      can("feedback", "read", "ALL") ? h("div", { class: "field" }, h("label", { for: "dashboard-department" }, "Feedback for"), department) : null,
    ),
    note,
    grid,
  );
  const nextSignal = latestOnly(signal);
  const remember = filtersInAddress({ period, department });
  period.addEventListener("change", remember);
  department.addEventListener("change", remember);
  const load = () => draw(grid, note, { months: months(Number(period.value)), department: department.value, signal: nextSignal() });
  period.addEventListener("change", load);
  department.addEventListener("change", load);
  await load();
}

async function draw(grid, note, { months: periods, department, signal }) {
  note.textContent = `Referrals sent, appointments held and feedback received in each month, ${periods[0].label} to ${periods.at(-1).label}${department ? ", feedback for one department" : ""}. Overdue counts are as of now.`;
  const fetchAll = (path, allowed, extra = {}) =>
    allowed ? Promise.all(periods.map((p) => api(`${path}${query({ start: p.start, end: p.end, ...extra })}`, { signal }))) : null;

  await loadInto(
    grid,
    async () => {
      const [Chart, referrals, appointments, experience] = await Promise.all([
        loadChartLibrary(),
        fetchAll("metrics/referrals/", can("referrals")),
        fetchAll("metrics/appointments/", can("appointments")),
        fetchAll("metrics/experience/", can("feedback", "read", "ALL"), { department }),
      ]);
      return { Chart, referrals, appointments, experience };
    },
    ({ Chart, referrals, appointments, experience }) => {
      const labels = periods.map((p) => p.label);
      if (referrals) {
        grid.append(
          chartFigure(Chart, {
            id: "loop-closure",
            title: "Referral loop closure rate",
            labels,
            yLabel: "% of referrals sent",
            series: [{ label: "Closed with report (%)", values: referrals.map((m) => percent(m.loop_closure)), unit: "%" }],
          }),
          chartFigure(Chart, {
            id: "time-to-schedule",
            title: "Time to schedule",
            type: "bar",
            labels,
            yLabel: "days (median)",
            series: [
              { label: "Sent to accepted (median days)", values: referrals.map((m) => round(m.days.sent_to_accepted.median)), unit: " d" },
              { label: "Accepted to scheduled (median days)", values: referrals.map((m) => round(m.days.accepted_to_scheduled.median)), unit: " d" },
            ],
          }),
        );
        const now = referrals.at(-1).overdue_now;
        const buckets = Object.keys(now);
        grid.append(
          chartFigure(Chart, {
            id: "overdue",
            title: "Referrals needing action now",
            type: "bar",
            labels: buckets.map((key) => key.replaceAll("_", " ")),
            links: buckets.map((key) => `/board/?scope=team#column-${key}`),
            rowHeader: "Needs",
            yLabel: "referrals",
            series: [
              { label: "In this state", values: buckets.map((key) => now[key].count) },
              { label: "Overdue", values: buckets.map((key) => now[key].overdue) },
            ],
          }),
        );
      }
      if (appointments) {
        grid.append(
          chartFigure(Chart, {
            id: "appointments",
            title: "Appointments: confirmed, reminded, missed",
            labels,
            yLabel: "% of appointments",
            series: [
              { label: "Confirmed by the patient (%)", values: appointments.map((m) => percent(m.confirmation_rate)), unit: "%" },
              { label: "Reached by a reminder (%)", values: appointments.map((m) => percent(m.reminder_reach)), unit: "%" },
              { label: "No-show (%)", values: appointments.map((m) => percent(m.no_show_rate)), unit: "%" },
            ],
          }),
          chartFigure(Chart, {
            id: "lead-time",
            title: "Wait from booking to visit",
            type: "bar",
            labels,
            yLabel: "days",
            series: [
              { label: "Median (days)", values: appointments.map((m) => round(m.lead_time_days.median)), unit: " d" },
              { label: "90th percentile (days)", values: appointments.map((m) => round(m.lead_time_days.p90)), unit: " d" },
            ],
          }),
        );
      }
      if (experience) {
        grid.append(
          chartFigure(Chart, {
            id: "nps-csat",
            title: "NPS and CSAT",
            labels,
            yLabel: "score",
            series: [
              { label: "NPS (−100 to 100)", values: experience.map((m) => m.nps.score) },
              { label: "CSAT (% satisfied)", values: experience.map((m) => m.csat.score), unit: "%" },
            ],
          }),
          chartFigure(Chart, {
            id: "complaints",
            title: "Complaint service levels",
            type: "bar",
            labels,
            series: [
              { label: "Resolved within target (%)", values: experience.map((m) => m.complaints.resolved_within_target.percent), unit: "%" },
              { label: "First response (median hours)", values: experience.map((m) => round(m.complaints.hours_to_first_response.median)), unit: " h" },
            ],
          }),
        );
      }
    },
  );
}
