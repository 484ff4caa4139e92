// Who is signed in and what their role may do, as the page was served. The API enforces
// the same policy on every request; the app uses this only to hide what would be refused.

export const session = JSON.parse(document.getElementById("staff-session").textContent);

const SCOPES = ["NONE", "ASSIGNED", "OWN_QUEUE", "OWN_DEPARTMENT", "ALL"];

/** Whether the user holds `mode` access to `section` covering at least `scope`. */
export function can(section, mode = "read", scope = "ASSIGNED") {
  const held = session.access[section]?.[mode] ?? "NONE";
  return SCOPES.indexOf(held) >= SCOPES.indexOf(scope);
}

/** Whether the user may write a row of a section that has a department, queue or assignee. */
export function canWriteRow(section, { department, queue, assignee } = {}) {
  const held = session.access[section]?.write ?? "NONE";
  if (held === "ALL") return true;
  if (held === "OWN_DEPARTMENT") return session.departments.includes(department);
  if (held === "OWN_QUEUE") {
    return assignee === session.user.id || session.queues.includes(queue);
  }
  return false;
}

