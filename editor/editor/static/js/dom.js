// Building DOM nodes. Text always goes in as text nodes: titles, descriptions and errors come
// from other people and from servers, so nothing here ever parses a string as HTML.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      el[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link only for http(s) URLs: a `javascript:` link from the database must never run. */
export function safeLink(url, text) {
  let parsed = null;
  try {
    parsed = new URL(url, window.location.href);
  } catch (e) {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return h("span", { class: "mono", style: "white-space: normal; overflow-wrap: anywhere" }, url);
  }
  return h("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, text || url);
}

export function option(value, label, selected) {
  return h("option", { value, selected: selected || false }, label === undefined ? value : label);
}

/** Whether a key press belongs to a text field (then page shortcuts stay out of its way). */
export function typingIn(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) return true;
  if (tag !== "INPUT") return false;
  return !["checkbox", "radio", "button", "submit", "range"].includes(target.type);
}
