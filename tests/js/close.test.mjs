// node --test tests/js/  (node's own runner; no npm packages)
// Closing a chat: the frame the panel sends, and tabs that go when the server says so.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { keyCommand } from "../../static/panel/keys.js";
import { reduce } from "../../static/panel/reduce.js";
import { initialState } from "../../static/panel/state.js";

const ready = (...ids) => ({
  type: "ready",
  user: "ann",
  conversations: ids.map((id) => ({ id, external_id: `ext-${id}`, customer_name: null })),
});
const run = (events, state = initialState()) => events.reduce((s, e) => reduce(s, e), state);
const tabs = (state) => [...state.conversations.keys()];

describe("closing a chat", () => {
  test("Shift+C asks to close; a lower-case c and keys typed in a field do not", () => {
    const none = { suggestions: 0, highlight: -1, searching: false };
    assert.deepEqual(keyCommand("C", "page", none), { name: "close_chat", prevent: true });
    assert.equal(keyCommand("c", "page", none), null);
    assert.equal(keyCommand("C", "field", none), null);
    assert.equal(keyCommand("C", "search", none), null);
  });

  test("close sends a frame for the active chat and keeps its tab until the answer", () => {
    const state = run([ready(4, 9), { type: "activate", conversation: "9" }]);
    const asked = reduce(state, { type: "close", clientId: "c-1" });
    assert.deepEqual(asked.effects, [
      { type: "send", frame: { type: "close", conversation: 9, client_id: "c-1" } },
    ]);
    assert.deepEqual(tabs(asked), ["4", "9"]);
    const empty = initialState();
    assert.equal(reduce(empty, { type: "close", clientId: "c-2" }), empty);
  });

  test("the ack removes the tab, activates its neighbour and unsubscribes", () => {
    let state = run([ready(4, 9, 12), { type: "activate", conversation: "9" }]);
    state = reduce(state, { type: "ack", kind: "close", client_id: "c-1", id: 9 });
    assert.deepEqual(tabs(state), ["4", "12"]);
    assert.equal(state.activeKey, "12");
    assert.deepEqual(state.effects, [{ type: "unsubscribe", conversation: 9 }]);
    state = run(
      [
        { type: "closed", conversation: 12 },
        { type: "closed", conversation: 4 },
      ],
      state,
    );
    assert.deepEqual(tabs(state), []);
    assert.equal(state.activeKey, null);
  });

  test("closing elsewhere removes a background tab; a repeat changes nothing", () => {
    const state = run([ready(4, 9), { type: "closed", conversation: 9 }]);
    assert.deepEqual(tabs(state), ["4"]);
    assert.equal(state.activeKey, "4");
    assert.equal(reduce(state, { type: "closed", conversation: 9 }), state);
  });

  test("a closed conversation's state opens no tab, even the one the page was opened on", () => {
    const state = run([
      { type: "focus", conversation: 7 },
      { type: "state", conversation: { id: 7, status: "closed" }, messages: [] },
    ]);
    assert.deepEqual(tabs(state), []);
    assert.equal(state.activeKey, null);
  });
});
