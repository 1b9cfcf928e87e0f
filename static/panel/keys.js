// The panel's keys: 1–9 pick, ↑/↓ and Enter, Esc dismisses, / searches, [ and ] switch tabs.
// keyCommand() is the map itself, with no DOM in it, so tests/js/ runs it under node;
// keyTarget() is the one place that looks at where the key was pressed.

/** Whether the panel looks at this keydown at all. */
export function isPanelKey(event) {
  if (event.defaultPrevented || event.isComposing) return false;
  // Leave real shortcuts (Ctrl+C, Cmd+…, Alt+…) alone; Ctrl+Alt is AltGr, which types `[`
  // and `]` on many layouts.
  return !event.metaKey && event.ctrlKey === event.altKey;
}

/** "search" (the search field), "field" (any other place that takes typing), "button" or
 * "page". */
export function keyTarget(target, searchInput) {
  if (target === searchInput) return "search";
  if (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  ) {
    return "field";
  }
  return target instanceof HTMLButtonElement ? "button" : "page";
}

/**
 * What `key` pressed at `where` (see keyTarget) asks for, or null. `suggestions` is the number
 * of suggestions on screen, `highlight` the highlighted one (-1 for none), `searching` whether a
 * search is open. `prevent`: the key is the panel's, so the browser's default must not run.
 */
export function keyCommand(key, where, { suggestions, highlight, searching }) {
  if (where === "search") return searchKey(key);
  if (where === "field") return key === "Escape" ? { name: "blur" } : null;
  // A button's own keys press the button.
  if (where === "button" && (key === "Enter" || key === " ")) return null;

  if (/^[1-9]$/.test(key)) {
    const rank = Number(key);
    return rank <= suggestions ? { name: "pick", index: rank - 1, prevent: true } : null;
  }
  switch (key) {
    case "ArrowDown":
    case "ArrowUp": {
      if (suggestions === 0) return null;
      const step = key === "ArrowDown" ? 1 : -1;
      return { name: "move", list: "suggestions", step, prevent: true };
    }
    case "Enter":
      if (highlight < 0 || highlight >= suggestions) return null;
      return { name: "pick", index: highlight, prevent: true };
    case "Escape":
      if (suggestions > 0) return { name: "dismiss" };
      return searching ? { name: "close_search" } : null;
    case "/":
      return { name: "focus_search", prevent: true };
    case "[":
      return { name: "cycle_tab", step: -1, prevent: true };
    case "]":
      return { name: "cycle_tab", step: 1, prevent: true };
    default:
      return null;
  }
}

function searchKey(key) {
  switch (key) {
    case "ArrowDown":
    case "ArrowUp":
      return { name: "move", list: "search", step: key === "ArrowDown" ? 1 : -1, prevent: true };
    case "Enter":
      return { name: "search_enter", prevent: true };
    case "Escape":
      return { name: "close_search", prevent: true };
    default:
      return null;
  }
}
