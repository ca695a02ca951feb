// Keyboard shortcuts of a view, and the help sheet that lists them ("?").

import { h, typingIn } from "./dom.js";

/** "Ctrl+Shift+ArrowLeft", "Shift+i", "Space", "?" for a keydown event. */
export function keyName(e) {
  let key = e.key === " " ? "Space" : e.key;
  const letter = key.length === 1 && /[a-z]/i.test(key);
  if (letter) key = key.toLowerCase();
  let name = "";
  if (e.ctrlKey || e.metaKey) name += "Ctrl+";
  if (e.altKey) name += "Alt+";
  if (e.shiftKey && (letter || key.length > 1)) name += "Shift+";
  return name + key;
}

const SHOWN = { ArrowLeft: "←", ArrowRight: "→", ArrowUp: "↑", ArrowDown: "↓", Space: "Space", Escape: "Esc", Enter: "Enter" };

function label(name) {
  return name.split("+").map((part) => SHOWN[part] || (part.length === 1 ? part.toUpperCase() : part)).join(" + ");
}

/**
 * bindings: [{keys: ["Space", "k"], label: "Play / pause", run(e), inInputs: bool}]
 * -> {detach(), toggleHelp()}. Shortcuts stay out of text fields unless inInputs is set
 * (Ctrl+S, Escape); "?" shows the help sheet.
 */
export function bindKeys(bindings, title) {
  const map = new Map();
  for (const b of bindings) for (const k of b.keys) map.set(k, b);
  let sheet = null;

  function toggleHelp() {
    if (sheet) {
      sheet.remove();
      sheet = null;
      return;
    }
    sheet = h("div", { class: "help-backdrop", onclick: (e) => { if (e.target === sheet) toggleHelp(); } },
      h("div", { class: "help card", role: "dialog", "aria-label": "keyboard shortcuts" },
        h("h2", {}, title || "Keyboard"),
        h("table", {}, h("tbody", {}, bindings.filter((b) => b.label).map((b) => h("tr", {},
          h("td", { class: "keys" }, b.keys.map((k) => h("kbd", {}, label(k)))),
          h("td", {}, b.label))))),
        h("p", { class: "muted small" }, "Shortcuts do not act while you type in a field (Esc leaves it). ? or Esc closes this.")));
    document.body.appendChild(sheet);
  }

  function onKey(e) {
    if (document.querySelector("dialog[open]")) return; // a question is being answered
    const name = keyName(e);
    if (sheet && (name === "Escape" || name === "?")) {
      e.preventDefault();
      toggleHelp();
      return;
    }
    const typing = typingIn(e.target);
    const binding = map.get(name);
    if (typing && !(binding && binding.inInputs)) {
      if (name === "Escape") e.target.blur();
      return;
    }
    if (name === "?" && !typing) {
      e.preventDefault();
      toggleHelp();
      return;
    }
    if (!binding) return;
    if (e.target && e.target.tagName === "BUTTON" && (name === "Space" || name === "Enter")) e.target.blur();
    e.preventDefault();
    binding.run(e);
  }

  document.addEventListener("keydown", onKey);
  return {
    toggleHelp,
    detach() {
      document.removeEventListener("keydown", onKey);
      if (sheet) sheet.remove();
    },
  };
}

export function kbd(name) {
  return h("kbd", {}, label(name));
}
