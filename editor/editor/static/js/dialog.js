// A modal question: a title, some words, optional text inputs, confirm or cancel. The page's
// keyboard shortcuts stay out of it (keys.js checks for an open dialog).

import { h } from "./dom.js";

/**
 * ask({title, text, inputs: [{name, label, type, placeholder, required, check(value) -> error}],
 *      confirm: "Reset", danger: bool}) -> Promise of {name: value} when confirmed, or null.
 */
export function ask({ title, text, inputs = [], confirm, danger = false }) {
  return new Promise((resolve) => {
    const fields = inputs.map((spec) => ({
      spec,
      input: h("input", {
        type: spec.type || "text", name: spec.name, placeholder: spec.placeholder || "",
        required: spec.required || false, autocomplete: "off", class: "mono",
      }),
    }));
    const error = h("p", { class: "error", role: "alert" });
    const dialog = h("dialog", { class: "card ask", "aria-label": title },
      h("form", {
        method: "dialog",
        onsubmit: (e) => {
          e.preventDefault();
          const values = {};
          for (const { spec, input } of fields) {
            const value = input.value.trim();
            const problem = spec.required && !value ? `${spec.label} is required` : spec.check ? spec.check(value) : null;
            if (problem) {
              error.textContent = problem;
              input.focus();
              return;
            }
            values[spec.name] = value || null;
          }
          finish(values);
        },
      },
      h("h2", {}, title),
      text ? h("p", {}, text) : null,
      fields.map(({ spec, input }) => h("label", { class: "field" }, h("span", { class: "label" }, spec.label), input)),
      error,
      h("div", { class: "buttons" },
        h("button", { type: "submit", class: danger ? "primary danger" : "primary" }, confirm),
        h("button", { type: "button", onclick: () => finish(null) }, "Cancel"))));
    let done = false;
    function finish(values) {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(values);
    }
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(null); }); // Esc
    document.body.appendChild(dialog);
    dialog.showModal();
    (fields.length ? fields[0].input : dialog.querySelector("button[type=submit]")).focus();
  });
}

/** For a link input: http(s) URLs only (the page shows links only if they are). */
export function checkLink(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? null : "the link must start with http:// or https://";
  } catch (e) {
    return "that is not a link (https://...)";
  }
}
