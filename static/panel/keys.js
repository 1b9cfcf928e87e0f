// The panel's keys: 1–9 pick, ↑/↓ and Enter, Esc dismisses, / searches, [ and ] switch tabs,
// Shift+C closes the chat, x marks the highlighted suggestion "not this one".
// keyCommand() is the map itself, with no DOM in it, so tests/js/ runs it under node;
// keyTarget() is the one place that looks at where the key was pressed.
//
// From the helpdesk page (focus in its reply box, where digits are typing) the same picks are
// Alt+1…Alt+5 and Alt+Shift+S focuses the panel: the extension declares them as commands
// (manifest.json), the demo helpdesk listens for them (helpdeskShortcut), and both hand the
// panel a REMOTE command name (remoteCommand). KEY_HELP is the map the `?` overlay shows.

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
 * search is open, `dismissed` whether the agent dismissed the list on screen (u brings it
 * back). `prevent`: the key is the panel's, so the browser's default must not run.
 */
export function keyCommand(key, where, { suggestions, highlight, searching, dismissed = false }) {
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
    case "x":
      if (highlight < 0 || highlight >= suggestions) return null;
      return { name: "reject", index: highlight, prevent: true };
    case "Escape":
      if (suggestions > 0) return { name: "dismiss" };
      return searching ? { name: "close_search" } : null;
    case "/":
      return { name: "focus_search", prevent: true };
    case "?":
      return { name: "help", prevent: true };
    case "u":
      return dismissed ? { name: "undo_dismiss", prevent: true } : null;
    case "[":
      return { name: "cycle_tab", step: -1, prevent: true };
    case "]":
      return { name: "cycle_tab", step: 1, prevent: true };
    case "C": // Shift+C: a capital, so a stray c typed outside a field closes nothing
      return { name: "close_chat", prevent: true };
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

/** What the panel's `?` overlay lists: [keys, what they do]. */
export const KEY_HELP = [
  ["1 – 5", "insert that suggestion into the reply box"],
  ["Alt+1 – Alt+5", "the same from the helpdesk page, typing in the reply box"],
  ["Alt+Shift+1 – 5", "the same, on Linux and ChromeOS (where Alt+1 switches tabs)"],
  ["Alt+Shift+S", "from the helpdesk page: focus the panel"],
  ["↑ ↓ then Enter", "choose a suggestion and insert it"],
  ["Esc", "dismiss the suggestions (u brings them back)"],
  ["x", "mark the chosen suggestion “not this one”"],
  ["/", "search the templates"],
  ["[ ]", "previous / next chat (the helpdesk follows)"],
  ["Shift+C", "close the chat"],
  ["Tab, Shift+Tab", "in the reply box: next / previous unfilled [[field]]"],
  ["?", "show or hide this list"],
];

// The commands a helpdesk page can send the panel: the extension's command names (manifest.json).
export const REMOTE_COMMANDS = ["pick-1", "pick-2", "pick-3", "pick-4", "pick-5", "focus-panel"];

/** The remote command a keydown on the helpdesk page stands for, or null: Alt+1…Alt+5 (also
 * with Shift) and Alt+Shift+S. Read from `code` (the physical key), because Alt+digit types another character
 * on some layouts (macOS's Option+1 is ¡). */
export function helpdeskShortcut({ altKey, shiftKey, ctrlKey, metaKey, code }) {
  if (!altKey || ctrlKey || metaKey) return null;
  // With or without Shift: on Linux and ChromeOS, where Alt+1…8 switch the browser's tabs, the
  // extension's shortcuts are Alt+Shift+1…3 (manifest.json), and the same keys work here.
  const digit = /^(?:Digit|Numpad)([1-5])$/.exec(code ?? "");
  if (digit) return `pick-${digit[1]}`;
  return shiftKey && code === "KeyS" ? "focus-panel" : null;
}

/** What remote command `name` asks of the panel, given `suggestions` on screen, or null. */
export function remoteCommand(name, { suggestions }) {
  if (name === "focus-panel") return { name: "focus_panel" };
  const pick = /^pick-([1-5])$/.exec(name ?? "");
  if (!pick) return null;
  const rank = Number(pick[1]);
  return rank <= suggestions ? { name: "pick", index: rank - 1 } : { name: "no_suggestion", rank };
}
