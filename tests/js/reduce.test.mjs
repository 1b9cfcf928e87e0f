// node --test tests/js/  (node's own runner; no npm packages)
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { reduce } from "../../static/panel/reduce.js";
import {
  activeConversation,
  conversationLabel,
  initialState,
  listItems,
  visibleSuggestions,
} from "../../static/panel/state.js";

const item = (key, extra = {}) => ({
  key,
  title: key,
  body: `Text of ${key}`,
  probability: 0.5,
  confident: false,
  ...extra,
});

/** A `suggestions` frame for `conversation`; its suggestion id is seq * 10. */
const suggestions = (conversation, seq, keys, extra = {}) => ({
  type: "suggestions",
  conversation,
  suggestion: seq * 10,
  seq,
  message: null,
  items: keys.map((key, index) => item(key, { confident: index === 0 && extra.confident })),
  ...extra,
});

const ready = (...ids) => ({
  type: "ready",
  user: "ann",
  conversations: ids.map((id) => ({ id, external_id: `ext-${id}`, customer_name: null })),
});

const results = (requestId, keys) => ({
  type: "search_results",
  request_id: requestId,
  items: keys.map((key) => item(key, { probability: null })),
});

function run(events, state = initialState()) {
  return events.reduce((current, event) => reduce(current, event), state);
}

const pick = (list, index, clientId, now = 0) => ({ type: "pick", list, index, clientId, now });
const conversation = (state, id) => state.conversations.get(String(id));
const sent = (state) => state.effects.filter((e) => e.type === "send").map((e) => e.frame);

describe("conversations and tabs", () => {
  test("ready opens a tab per conversation, subscribes to each, and activates the first", () => {
    const state = reduce(initialState(), ready(4, 9));
    assert.deepEqual([...state.conversations.keys()], ["4", "9"]);
    assert.equal(state.activeKey, "4");
    assert.deepEqual(state.effects, [
      { type: "subscribe", conversation: 4 },
      { type: "subscribe", conversation: 9 },
    ]);
    assert.equal(conversationLabel(conversation(state, 9)), "ext-9");
  });

  test("the conversation the page was opened on stays active after ready", () => {
    const focused = reduce(initialState(), { type: "focus", conversation: 9 });
    assert.deepEqual(focused.effects, [{ type: "subscribe", conversation: 9 }]);
    const state = reduce(focused, ready(4, 9));
    assert.equal(state.activeKey, "9");
    assert.deepEqual([...state.conversations.keys()], ["9", "4"]);
  });

  test("tabs switch by key and cycle both ways, wrapping around", () => {
    let state = reduce(initialState(), ready(1, 2, 3));
    state = reduce(state, { type: "activate", conversation: "2" });
    assert.equal(state.activeKey, "2");
    state = reduce(state, { type: "cycle_tab", step: 1 });
    assert.equal(state.activeKey, "3");
    state = reduce(state, { type: "cycle_tab", step: 1 });
    assert.equal(state.activeKey, "1");
    state = reduce(state, { type: "cycle_tab", step: -1 });
    assert.equal(state.activeKey, "3");
  });

  test("activating the active tab or an unknown one changes nothing", () => {
    const state = reduce(initialState(), ready(1, 2));
    assert.equal(reduce(state, { type: "activate", conversation: "1" }), state);
    assert.equal(reduce(state, { type: "activate", conversation: "7" }), state);
    assert.equal(reduce(initialState(), { type: "cycle_tab", step: 1 }).activeKey, null);
  });

  test("a list for a background tab marks it unseen until the tab is opened", () => {
    let state = run([ready(1, 2), suggestions(2, 1, ["a"])]);
    assert.equal(conversation(state, 2).unseen, true);
    assert.equal(conversation(state, 1).unseen, false);
    state = reduce(state, suggestions(1, 1, ["b"]));
    assert.equal(conversation(state, 1).unseen, false, "the active tab is seen");
    state = reduce(state, { type: "activate", conversation: "2" });
    assert.equal(conversation(state, 2).unseen, false);
  });

  test("a state frame fills in a conversation and activates it when none is", () => {
    const state = reduce(initialState(), {
      type: "state",
      conversation: { id: 5, external_id: "T-5", customer_name: "Jo", status: "open" },
      messages: [{ id: 1, role: "customer", text: "hi" }],
      suggestions: null,
      assist_available: true,
      suggestions_enabled: false,
    });
    const five = conversation(state, 5);
    assert.equal(state.activeKey, "5");
    assert.equal(conversationLabel(five), "Jo");
    assert.equal(five.status, "open");
    assert.equal(five.suggestionsEnabled, false);
    assert.deepEqual(five.messages, [{ id: 1, role: "customer", text: "hi" }]);
    assert.equal(reduce(state, { type: "state", conversation: null }), state);
  });
});

describe("suggestion lists", () => {
  test("a newer list replaces the one shown; an older or equal seq does not", () => {
    let state = run([ready(1), suggestions(1, 2, ["a", "b"])]);
    assert.deepEqual(listItems(state, "suggestions").map((i) => i.key), ["a", "b"]);

    for (const seq of [1, 2]) {
      assert.equal(reduce(state, suggestions(1, seq, ["old"])), state, `seq ${seq} is not newer`);
    }
    state = reduce(state, suggestions(1, 3, ["c"]));
    assert.deepEqual(listItems(state, "suggestions").map((i) => i.key), ["c"]);
    assert.equal(conversation(state, 1).suggestions.seq, 3);
  });

  test("a list for a conversation that is not ours is ignored", () => {
    const state = reduce(initialState(), ready(1));
    assert.equal(reduce(state, suggestions(2, 1, ["a"])), state);
  });

  test("the state frame's list counts only when it is newer too", () => {
    let state = run([ready(1), suggestions(1, 4, ["new"])]);
    const older = suggestions(1, 3, ["old"]);
    state = reduce(state, { type: "state", conversation: { id: 1 }, suggestions: older });
    assert.equal(conversation(state, 1).suggestions.seq, 4);
  });

  test("the first item is highlighted only when it is confident", () => {
    const unsure = run([ready(1), suggestions(1, 1, ["a", "b"])]);
    assert.equal(conversation(unsure, 1).highlight, -1);
    const sure = reduce(unsure, suggestions(1, 2, ["a", "b"], { confident: true }));
    assert.equal(conversation(sure, 1).highlight, 0);
  });

  test("the highlight moves within the list and stops at its ends", () => {
    let state = run([ready(1), suggestions(1, 1, ["a", "b", "c"])]);
    const move = (step) => {
      state = reduce(state, { type: "move_highlight", list: "suggestions", step });
    };
    move(-1);
    assert.equal(conversation(state, 1).highlight, 2, "up from nothing starts at the bottom");
    move(1);
    move(1);
    assert.equal(conversation(state, 1).highlight, 2);
    move(-1);
    assert.equal(conversation(state, 1).highlight, 1);
    const empty = reduce(initialState(), ready(1));
    assert.equal(reduce(empty, { type: "move_highlight", list: "suggestions", step: 1 }), empty);
  });

  test("dismissing hides the list and tells the server; the next list shows again", () => {
    let state = run([ready(1), suggestions(1, 1, ["a"])]);
    state = reduce(state, { type: "dismiss", clientId: "d1" });
    assert.deepEqual(sent(state), [
      { type: "dismiss", conversation: 1, suggestion: 10, client_id: "d1" },
    ]);
    assert.equal(visibleSuggestions(conversation(state, 1)), null);
    const again = { type: "dismiss", clientId: "d2" };
    assert.equal(reduce(state, again), state, "nothing left to dismiss");
    state = reduce(state, suggestions(1, 2, ["b"]));
    assert.equal(visibleSuggestions(conversation(state, 1)).seq, 2);
  });

  test("a list answering a message the panel has not seen asks for the state once", () => {
    let state = run([ready(1), { type: "state", conversation: { id: 1 }, messages: [] }]);
    state = reduce(state, suggestions(1, 1, ["a"], { message: 77 }));
    assert.deepEqual(state.effects, [{ type: "refresh", conversation: 1 }]);
    state = reduce(state, suggestions(1, 2, ["a"], { message: 77 }));
    assert.deepEqual(state.effects, [], "asked already");
    const known = {
      type: "state",
      conversation: { id: 1 },
      messages: [{ id: 78, role: "customer", text: "x" }],
    };
    state = reduce(reduce(state, known), suggestions(1, 3, ["a"], { message: 78 }));
    assert.deepEqual(state.effects, []);
  });

  test("shown stamps each list once, when it is first drawn", () => {
    let state = run([ready(1), suggestions(1, 1, ["a"])]);
    state = reduce(state, { type: "shown", now: 100 });
    assert.equal(conversation(state, 1).shownAt, 100);
    assert.equal(reduce(state, { type: "shown", now: 200 }), state);
    state = reduce(state, suggestions(1, 2, ["b"]));
    assert.equal(conversation(state, 1).shownAt, null, "a new list starts its own clock");
  });
});

describe("picks", () => {
  const showing = () =>
    run([ready(1), suggestions(1, 1, ["a", "b"]), { type: "shown", now: 1_000 }]);

  test("a pick is marked, logged with its rank and time to pick, and saved by its ack", () => {
    let state = reduce(showing(), pick("suggestions", 1, "p1", 2_500.4));
    assert.deepEqual(sent(state), [
      {
        type: "pick",
        conversation: 1,
        suggestion: 10,
        template: "b",
        rank: 2,
        action: "inserted",
        client_id: "p1",
        time_to_pick_ms: 1_500,
      },
    ]);
    assert.equal(conversation(state, 1).picks.get("b"), "picked");
    assert.equal(conversation(state, 1).highlight, 1);
    assert.deepEqual(conversation(state, 1).lastPick, {
      key: "b",
      text: "Text of b",
      pick: { client_id: "p1", template: "b", suggestion: 10 },
    });

    state = reduce(state, { type: "ack", kind: "pick", client_id: "p1", id: 5 });
    assert.equal(conversation(state, 1).picks.get("b"), "saved");
    assert.equal(state.pendingPicks.size, 0);
    assert.deepEqual(state.effects, []);

    state = reduce(state, pick("suggestions", 1, "p2", 3_000));
    assert.equal(conversation(state, 1).picks.get("b"), "saved", "picking again keeps it saved");
  });

  test("an ack for an unknown pick changes nothing", () => {
    const state = showing();
    assert.equal(reduce(state, { type: "ack", kind: "pick", client_id: "nope", id: 1 }), state);
  });

  test("a pick the server asks to resend keeps its mark until its ack", () => {
    let state = reduce(showing(), pick("suggestions", 0, "p1"));
    for (const code of ["unavailable", "rate_limited"]) {
      state = reduce(state, { type: "error", code, detail: "", client_id: "p1" });
      assert.equal(conversation(state, 1).picks.get("a"), "picked", code);
      assert.equal(state.pendingPicks.size, 1);
    }
    state = reduce(state, { type: "ack", kind: "pick", client_id: "p1", id: 5 });
    assert.equal(conversation(state, 1).picks.get("a"), "saved");
  });

  test("a refused pick loses its mark", () => {
    let state = reduce(showing(), pick("suggestions", 0, "p1"));
    state = reduce(state, { type: "error", code: "not_found", detail: "gone", client_id: "p1" });
    assert.equal(conversation(state, 1).picks.has("a"), false);
    assert.equal(state.pendingPicks.size, 0);
  });

  test("the ack of a pick on a list since replaced marks nothing on the new one", () => {
    let state = reduce(showing(), pick("suggestions", 0, "p1"));
    state = reduce(state, suggestions(1, 2, ["a", "c"]));
    assert.equal(conversation(state, 1).picks.size, 0, "a new list starts unpicked");
    state = reduce(state, { type: "ack", kind: "pick", client_id: "p1", id: 5 });
    assert.equal(conversation(state, 1).picks.size, 0);
    assert.equal(state.pendingPicks.size, 0);
  });

  test("an item that is not on screen cannot be picked", () => {
    const state = showing();
    assert.equal(reduce(state, pick("suggestions", 2, "p")), state);
    const dismissed = reduce(state, { type: "dismiss", clientId: "d" });
    assert.equal(reduce(dismissed, pick("suggestions", 0, "p")), dismissed);
  });
});

describe("search", () => {
  test("a query is sent for the active conversation and only its answer is shown", () => {
    let state = reduce(initialState(), ready(3));
    state = reduce(state, { type: "query", query: "card", requestId: "r1" });
    assert.deepEqual(sent(state), [
      { type: "search", query: "card", request_id: "r1", conversation: 3 },
    ]);
    state = reduce(state, { type: "query", query: "card lost", requestId: "r2" });
    assert.equal(reduce(state, results("r1", ["stale"])), state, "an older request's answer");
    state = reduce(state, results("r2", ["lost_card"]));
    assert.equal(state.search.shownFor, "r2");
    assert.deepEqual(listItems(state, "search").map((i) => i.key), ["lost_card"]);
  });

  test("an empty query clears the results and sends nothing", () => {
    let state = run([
      { type: "query", query: "card", requestId: "r1" },
      results("r1", ["a"]),
      { type: "pick_on_arrival", value: true },
    ]);
    state = reduce(state, { type: "query", query: "", requestId: "r2" });
    assert.deepEqual(state.effects, []);
    assert.deepEqual(
      [state.search.query, state.search.requestId, state.search.shownFor, state.search.items],
      ["", null, null, []],
    );
    assert.equal(state.search.pickOnArrival, false);
  });

  test("a search pick without a conversation is marked but logged nowhere", () => {
    let state = run([{ type: "query", query: "card", requestId: "r1" }, results("r1", ["a", "b"])]);
    state = reduce(state, pick("search", 1, "p1"));
    assert.equal(state.search.picks.get("b"), "picked");
    assert.equal(state.search.highlight, 1);
    assert.deepEqual(state.effects, []);
    assert.equal(state.pendingPicks.size, 0);
  });

  test("a search pick in a conversation is logged without rank and saved by its ack", () => {
    let state = run([
      ready(3),
      { type: "query", query: "card", requestId: "r1" },
      results("r1", ["a"]),
      { type: "shown", now: 10 },
      pick("search", 0, "p1", 30),
    ]);
    assert.deepEqual(sent(state), [
      {
        type: "pick",
        conversation: 3,
        suggestion: null,
        template: "a",
        rank: null,
        action: "inserted",
        client_id: "p1",
        time_to_pick_ms: 20,
      },
    ]);
    state = reduce(state, { type: "ack", kind: "pick", client_id: "p1", id: 9 });
    assert.equal(state.search.picks.get("a"), "saved");
  });
});

describe("degraded mode", () => {
  test("the server's status switches availability", () => {
    let state = run([ready(1)]);
    state = reduce(state, { type: "status", assist_available: false });
    assert.equal(state.assistAvailable, false);
    state = reduce(state, { type: "status", assist_available: true });
    assert.equal(state.assistAvailable, true);
    assert.equal(reduce(state, { type: "status" }), state);
    assert.equal(reduce(state, { type: "status", assist_available: true }), state);
  });

  test("a list means available again", () => {
    const down = { type: "status", assist_available: false };
    const state = run([ready(1), down, suggestions(1, 1, ["a"])]);
    assert.equal(state.assistAvailable, true);
  });

  test("a retriable error keeps a pick pending; a final one unmarks it", () => {
    let state = run([ready(1), suggestions(1, 1, ["a"]), pick("suggestions", 0, "p1")]);
    const retried = reduce(state, { type: "error", code: "unavailable", detail: "", client_id: "p1" });
    assert.equal(retried, state);
    state = reduce(state, { type: "error", code: "invalid", detail: "", client_id: "p1" });
    assert.equal(conversation(state, 1).picks.get("a"), undefined);
    assert.equal(state.pendingPicks.has("p1"), false);
  });
});

describe("reduce", () => {
  test("never changes the state it is given", () => {
    const events = [
      { type: "focus", conversation: 2 },
      ready(1, 2),
      suggestions(2, 1, ["a", "b"], { message: 5 }),
      { type: "shown", now: 1 },
      { type: "move_highlight", list: "suggestions", step: 1 },
      pick("suggestions", 0, "p1", 2),
      { type: "ack", kind: "pick", client_id: "p1", id: 1 },
      { type: "query", query: "card", requestId: "r1" },
      results("r1", ["c"]),
      pick("search", 0, "p2", 3),
      { type: "error", code: "invalid", detail: "", client_id: "p2" },
      { type: "dismiss", clientId: "d1" },
      { type: "cycle_tab", step: 1 },
      { type: "status", assist_available: false },
      { type: "clear_search" },
    ];
    let state = initialState();
    for (const event of events) {
      const before = structuredClone(state);
      const next = reduce(state, event);
      assert.deepEqual(state, before, `${event.type} changed its input`);
      assert.notEqual(next, state, `${event.type} should have changed something`);
      state = next;
    }
    assert.equal(activeConversation(state).id, 1);
  });

  test("effects belong to the change that asked for them", () => {
    let state = run([ready(1), suggestions(1, 1, ["a", "b"])]);
    state = reduce(state, pick("suggestions", 0, "p1"));
    assert.equal(state.effects.length, 1);
    state = reduce(state, { type: "move_highlight", list: "suggestions", step: 1 });
    assert.deepEqual(state.effects, []);
  });

  test("frames the panel does not handle change nothing", () => {
    const state = reduce(initialState(), ready(1));
    assert.equal(reduce(state, { type: "pong" }), state);
    assert.equal(reduce(state, { type: "constructor" }), state);
  });
});

describe("not this one", () => {
  const showing = () =>
    run([ready(1), suggestions(1, 1, ["a", "b"]), { type: "shown", now: 1_000 }]);
  const reject = (index, clientId, now = 0) => ({ type: "reject", index, clientId, now });

  test("a rejection is marked at once, sent as a rejected pick and kept by its ack", () => {
    let state = reduce(showing(), reject(1, "r1", 1_800));
    assert.deepEqual(sent(state), [
      {
        type: "pick",
        conversation: 1,
        suggestion: 10,
        template: "b",
        rank: 2,
        action: "rejected",
        client_id: "r1",
        time_to_pick_ms: 800,
      },
    ]);
    assert.equal(conversation(state, 1).picks.get("b"), "rejected");
    assert.equal(conversation(state, 1).lastPick, null); // nothing went into the reply
    state = reduce(state, { type: "ack", kind: "reject", client_id: "r1", id: 7 });
    assert.equal(conversation(state, 1).picks.get("b"), "rejected");
    assert.equal(state.pendingPicks.size, 0);
  });

  test("a refused rejection takes its mark back; a second one of the same item sends nothing", () => {
    let state = reduce(showing(), reject(0, "r1"));
    assert.equal(reduce(state, reject(0, "r2")), state);
    state = reduce(state, { type: "error", code: "stale", detail: "replaced", client_id: "r1" });
    assert.equal(conversation(state, 1).picks.has("a"), false);
  });

  test("nothing to reject without a list on screen or past its end", () => {
    const none = run([ready(1)]);
    assert.equal(reduce(none, reject(0, "r1")), none);
    const shown = showing();
    assert.equal(reduce(shown, reject(5, "r1")), shown);
  });

  test("a new list clears the marks of the old one", () => {
    let state = reduce(showing(), reject(0, "r1"));
    state = reduce(state, suggestions(1, 2, ["a", "c"]));
    assert.equal(conversation(state, 1).picks.size, 0);
  });
});
