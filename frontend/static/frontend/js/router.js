// Moving between screens without reloading: main.js listens for "route".

export function navigate(href) {
  history.pushState({}, "", href);
  window.dispatchEvent(new CustomEvent("route"));
}
