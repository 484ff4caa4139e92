// The staff web app: a router over a handful of screens, each a module that renders into
// <main> and talks to the REST API.

import { explain, lastServerContact } from "./api.js";
import { navigate } from "./router.js";
import { fill, h } from "./dom.js";
import { can, session } from "./session.js";
import { renderWork } from "./screens/work.js";
import { renderSearch } from "./screens/search.js";
import { renderPatient } from "./screens/patient.js";
import { renderBoard } from "./screens/board.js";
import { renderDashboard } from "./screens/dashboard.js";
import { renderReferralPage } from "./screens/referral.js";
import { renderComplaints } from "./screens/complaints.js";
import { renderPrivacy } from "./screens/privacy.js";
import { renderPatientForm } from "./screens/patient_form.js";
import { renderConversation, renderInbox } from "./screens/messages.js";
import { renderDay } from "./screens/appointments.js";
import { renderDuplicates } from "./screens/duplicates.js";

const main = document.getElementById("main");

const SCREENS = [
  { path: /^\/$/, title: "My work", render: renderWork, nav: "/" },
  { path: /^\/search\/$/, title: "Find a patient", render: renderSearch, nav: "/search/" },
  {
    path: /^\/board\/$/,
    title: "Referral board",
    render: renderBoard,
    nav: "/board/",
    allowed: () => can("referrals", "write"),
  },
  {
    path: /^\/day\/$/,
    title: "Appointments by day",
    render: renderDay,
    nav: "/day/",
    allowed: () => can("appointments"),
  },
  {
    path: /^\/inbox\/$/,
    title: "Inbox",
    render: renderInbox,
    nav: "/inbox/",
    allowed: () => can("interactions", "write"),
  },
  {
    path: /^\/duplicates\/$/,
    title: "Duplicates",
    render: renderDuplicates,
    nav: "/duplicates/",
    allowed: () => can("identity", "write"),
  },
  {
    path: /^\/complaints\/$/,
    title: "Complaints",
    render: renderComplaints,
    nav: "/complaints/",
    allowed: () => can("feedback", "write"),
  },
  {
    path: /^\/dashboard\/$/,
    title: "Dashboard",
    render: renderDashboard,
    nav: "/dashboard/",
    allowed: () => can("referrals") || can("feedback", "read", "ALL"),
  },
  {
    path: /^\/privacy\/$/,
    title: "Privacy",
    render: renderPrivacy,
    nav: "/privacy/",
    allowed: () => session.privacy_officer,
  },
  { path: /^\/patients\/(\d+)\/$/, title: "Patient", render: renderPatient },
  {
    path: /^\/patients\/new\/$/,
    title: "Register a patient",
    render: renderPatientForm,
    allowed: () => can("identity", "write"),
  },
  {
    path: /^\/patients\/(\d+)\/edit\/$/,
    title: "Edit patient",
    render: renderPatientForm,
    allowed: () => can("identity", "write") || can("preferences", "write") || can("care_team", "write"),
  },
  { path: /^\/referrals\/(\d+)\/$/, title: "Referral", render: renderReferralPage, allowed: () => can("referrals") },
  { path: /^\/messages\/(\d+)\/$/, title: "Conversation", render: renderConversation, allowed: () => can("interactions") },
];

function renderNav() {
  const nav = document.getElementById("nav");
  const items = SCREENS.filter((s) => s.nav && (!s.allowed || s.allowed()));
  fill(
    nav,
    h(
      "ul",
      {},
      items.map((s) =>
        h("li", {}, h("a", { href: s.nav, "data-link": true }, s.title)),
      ),
    ),
  );
}

function markCurrentNav() {
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === location.pathname) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

let currentController = null;

async function route({ focus = true } = {}) {
  const screen = SCREENS.find((s) => s.path.test(location.pathname));
  currentController?.abort();
  currentController = new AbortController();
  markCurrentNav();
  fill(main, h("p", { class: "muted" }, "Loading…"));
  if (!screen || (screen.allowed && !screen.allowed())) {
    document.title = "Not found · Patient CRM";
    fill(main, h("h1", {}, "Page not found"), h("p", {}, "This page does not exist or your role cannot use it."));
    return;
  }
  document.title = `${screen.title} · Patient CRM`;
  const params = location.pathname.match(screen.path).slice(1);
  try {
    await screen.render(main, { params, signal: currentController.signal, setTitle });
  } catch (error) {
    if (error.name === "AbortError") return;
    fill(main, h("h1", {}, screen.title), h("p", { class: "error-box", role: "alert" }, explain(error)));
    return;
  }
  // Move focus to the new screen, unless the screen put it somewhere on purpose.
  if (focus && !main.contains(document.activeElement)) main.focus();
}

function setTitle(title) {
  document.title = `${title} · Patient CRM`;
}


document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (a.getAttribute("href") !== location.pathname) navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", () => route());
window.addEventListener("route", () => route());

// The skip link moves focus without changing the URL.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

// The server ends a session after `idle_minutes` without a request. When that time has
// passed here, sign out (so a screen left open shows no patient data) and go to the
// sign-in page; a request answered 401 goes there too, instead of failing quietly.
function signInAgain() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/login/?reason=idle&next=${next}`);
}
window.addEventListener("session-ended", signInAgain);
const idleTimer = setInterval(async () => {
  if (Date.now() - lastServerContact() < session.idle_minutes * 60 * 1000) return;
  clearInterval(idleTimer);
  const form = document.getElementById("sign-out");
  await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" }).catch(() => null);
  signInAgain();
}, 15 * 1000);

renderNav();
route({ focus: false });
