// node --test tests/js/  The keys that reach the panel from the helpdesk page, the `?` map,
// and Esc's way back (u).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  KEY_HELP,
  REMOTE_COMMANDS,
  helpdeskShortcut,
  keyCommand,
  remoteCommand,
} from "../../static/panel/keys.js";
import { reduce } from "../../static/panel/reduce.js";
import { initialState, visibleSuggestions } from "../../static/panel/state.js";

const key = (code, mods = {}) => ({
  altKey: false,
  shiftKey: false,
  ctrlKey: false,
  metaKey: false,
  code,
  ...mods,
});

describe("helpdesk shortcuts", () => {
  test("Alt+1…Alt+5 pick, by the physical key whatever character it types", () => {
    assert.equal(helpdeskShortcut(key("Digit1", { altKey: true })), "pick-1");
    assert.equal(helpdeskShortcut(key("Numpad5", { altKey: true })), "pick-5");
    assert.equal(helpdeskShortcut(key("Digit6", { altKey: true })), null);
  });

  test("Alt+Shift+S focuses the panel; plain, Ctrl and AltGr keys stay the page's", () => {
    assert.equal(helpdeskShortcut(key("KeyS", { altKey: true, shiftKey: true })), "focus-panel");
    assert.equal(helpdeskShortcut(key("KeyS", { altKey: true })), null);
    assert.equal(helpdeskShortcut(key("Digit1")), null);
    assert.equal(helpdeskShortcut(key("Digit1", { altKey: true, ctrlKey: true })), null);
    // Alt+Shift+digit too: the extension's keys on Linux, where Alt+digit switches tabs.
    assert.equal(helpdeskShortcut(key("Digit1", { altKey: true, shiftKey: true })), "pick-1");
  });

  test("every shortcut is a remote command the panel knows", () => {
    for (const name of REMOTE_COMMANDS) assert.notEqual(remoteCommand(name, { suggestions: 5 }), null);
    assert.equal(remoteCommand("pick-9", { suggestions: 5 }), null);
    assert.equal(remoteCommand("nonsense", { suggestions: 5 }), null);
  });

  test("a pick beyond the list says so instead of picking something else", () => {
    assert.deepEqual(remoteCommand("pick-2", { suggestions: 3 }), { name: "pick", index: 1 });
    assert.deepEqual(remoteCommand("pick-4", { suggestions: 3 }), { name: "no_suggestion", rank: 4 });
    assert.deepEqual(remoteCommand("focus-panel", { suggestions: 0 }), { name: "focus_panel" });
  });
});

describe("the key map overlay and undo", () => {
  const page = { suggestions: 0, highlight: -1, searching: false };

  test("? toggles the map, which names the helpdesk keys", () => {
    assert.deepEqual(keyCommand("?", "page", page), { name: "help", prevent: true });
    assert.equal(keyCommand("?", "field", page), null); // typing a question mark
    const keys = KEY_HELP.map(([k]) => k).join(" ");
    for (const expected of ["Alt+1", "Alt+Shift+S", "Esc", "Tab"]) assert.ok(keys.includes(expected));
  });

  test("u brings back a dismissed list, and only then", () => {
    assert.deepEqual(keyCommand("u", "page", { ...page, dismissed: true }), {
      name: "undo_dismiss",
      prevent: true,
    });
    assert.equal(keyCommand("u", "page", page), null);
    assert.equal(keyCommand("u", "field", { ...page, dismissed: true }), null);
  });

  test("undo_dismiss shows the same list again; without a dismissal it changes nothing", () => {
    let state = reduce(initialState(), { type: "focus", conversation: 7 });
    const frame = { conversation: 7, suggestion: 3, seq: 1, message: null, items: [{ key: "a" }] };
    state = reduce(state, { type: "suggestions", ...frame });
    assert.equal(reduce(state, { type: "undo_dismiss" }), state);
    state = reduce(state, { type: "dismiss", clientId: "d-1" });
    assert.equal(visibleSuggestions(state.conversations.get("7")), null);
    state = reduce(state, { type: "undo_dismiss" });
    assert.equal(visibleSuggestions(state.conversations.get("7")).suggestion, 3);
    assert.deepEqual(state.effects, []); // nothing sent: the dismissal stays recorded
  });
});
