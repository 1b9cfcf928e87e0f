// node --test tests/js/  (node's own runner; no npm packages)
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { isPanelKey, keyCommand } from "../../static/panel/keys.js";

const three = { suggestions: 3, highlight: 1, searching: false };
const none = { suggestions: 0, highlight: -1, searching: false };

describe("key map", () => {
  test("digits pick the suggestion of that rank, if there is one", () => {
    assert.deepEqual(keyCommand("2", "page", three), { name: "pick", index: 1, prevent: true });
    assert.equal(keyCommand("4", "page", three), null);
    assert.equal(keyCommand("0", "page", three), null);
  });

  test("arrows move the highlight and Enter picks it", () => {
    assert.deepEqual(keyCommand("ArrowUp", "page", three), {
      name: "move",
      list: "suggestions",
      step: -1,
      prevent: true,
    });
    assert.equal(keyCommand("ArrowDown", "page", none), null);
    assert.deepEqual(keyCommand("Enter", "page", three), { name: "pick", index: 1, prevent: true });
    assert.equal(keyCommand("Enter", "page", { ...three, highlight: -1 }), null);
  });

  test("x marks the highlighted suggestion 'not this one', only on the page", () => {
    assert.deepEqual(keyCommand("x", "page", three), { name: "reject", index: 1, prevent: true });
    assert.equal(keyCommand("x", "page", { ...three, highlight: -1 }), null);
    assert.equal(keyCommand("x", "page", none), null);
    assert.equal(keyCommand("x", "field", three), null); // typing an x in a reply box
    assert.equal(keyCommand("x", "search", three), null);
  });

  test("Escape dismisses the list, or else closes the search", () => {
    assert.deepEqual(keyCommand("Escape", "page", three), { name: "dismiss" });
    assert.deepEqual(keyCommand("Escape", "page", { ...none, searching: true }), {
      name: "close_search",
    });
    assert.equal(keyCommand("Escape", "page", none), null);
  });

  test("/ opens the search and brackets switch tabs", () => {
    assert.equal(keyCommand("/", "page", none).name, "focus_search");
    assert.deepEqual(keyCommand("[", "page", none), { name: "cycle_tab", step: -1, prevent: true });
    assert.deepEqual(keyCommand("]", "page", none), { name: "cycle_tab", step: 1, prevent: true });
  });

  test("in the search field the keys work the results", () => {
    assert.deepEqual(keyCommand("ArrowDown", "search", none), {
      name: "move",
      list: "search",
      step: 1,
      prevent: true,
    });
    assert.equal(keyCommand("Enter", "search", three).name, "search_enter");
    assert.equal(keyCommand("Escape", "search", three).name, "close_search");
    assert.equal(keyCommand("1", "search", three), null, "a digit is typed into the query");
  });

  test("typing elsewhere is left alone except Escape; a button keeps Enter and Space", () => {
    assert.equal(keyCommand("1", "field", three), null);
    assert.deepEqual(keyCommand("Escape", "field", three), { name: "blur" });
    assert.equal(keyCommand("Enter", "button", three), null);
    assert.equal(keyCommand(" ", "button", three), null);
    assert.equal(keyCommand("1", "button", three).name, "pick");
  });

  test("shortcuts with modifiers are not the panel's, AltGr is", () => {
    const key = (extra) => ({ key: "[", metaKey: false, ctrlKey: false, altKey: false, ...extra });
    assert.equal(isPanelKey(key({})), true);
    assert.equal(isPanelKey(key({ ctrlKey: true })), false);
    assert.equal(isPanelKey(key({ metaKey: true })), false);
    assert.equal(isPanelKey(key({ altKey: true })), false);
    assert.equal(isPanelKey(key({ ctrlKey: true, altKey: true })), true);
    assert.equal(isPanelKey(key({ isComposing: true })), false);
    assert.equal(isPanelKey(key({ defaultPrevented: true })), false);
  });
});
