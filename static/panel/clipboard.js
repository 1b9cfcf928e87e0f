// Copying a template into the clipboard, for pasting into the helpdesk's reply box.

/** Resolves to whether the text was copied. Call it while the click or keypress still counts
 * as a user gesture: browsers refuse the clipboard otherwise. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Denied (no focus, an iframe without clipboard-write): fall back below.
  }
  return copyWithTextarea(text);
}

// The old way still works where the async API is missing (plain http) or denied.
function copyWithTextarea(text) {
  const previous = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "clipboard-helper";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (previous instanceof HTMLElement) previous.focus({ preventScroll: true });
  return ok;
}
