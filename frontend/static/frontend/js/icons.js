// One small line icon per channel. Icons are decorative: the channel's name is always
// written next to them.

const PATHS = {
  phone: "M6 3h4l1.5 5-2.5 1.5a11 11 0 0 0 5.5 5.5L16 12.5l5 1.5v4a2 2 0 0 1-2 2A16 16 0 0 1 4 5a2 2 0 0 1 2-2z",
  sms: "M4 4h16v12H9l-5 4z M8 10h.01 M12 10h.01 M16 10h.01",
  email: "M3 5h18v14H3z M3 6l9 7 9-7",
  chat: "M3 3h12v9H8l-5 4z M9 15v1h7l5 4V9h-3",
  portal: "M6 11h12v10H6z M8.5 11V7.5a3.5 3.5 0 0 1 7 0V11 M12 15v2",
  video: "M3 6h12v12H3z M15 10.5l6-4v11l-6-4",
  in_person: "M12 4a4 4 0 1 0 0 8a4 4 0 1 0 0-8z M4 21v-1a6 6 0 0 1 6-6h4a6 6 0 0 1 6 6v1",
  social: "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z M3 12h18 M12 3c-3 3.5-3 14.5 0 18 M12 3c3 3.5 3 14.5 0 18",
  letter: "M6 3h9l4 4v14H6z M15 3v4h4 M9 12h7 M9 16h7",
  chatbot: "M5 8h14v11H5z M12 4v4 M9 13v1 M15 13v1 M2 12v3 M22 12v3",
};

export function channelIcon(channel) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon channel-${channel}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", PATHS[channel] || PATHS.chat);
  svg.append(path);
  return svg;
}
