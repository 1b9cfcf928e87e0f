// SECURITY: everything that comes from the server (template titles and bodies, customer names,
// message text, error details) reaches the page only through el() and text nodes, that is
// createElement + textContent. Never use innerHTML, outerHTML or insertAdjacentHTML in the
// panel: a template body is shown as text, never parsed as HTML.

export const byId = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
