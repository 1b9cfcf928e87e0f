// node --test tests/js/  (node's own runner; no npm packages)
// The conversation's language in the panel's state: from `state`, `suggestions` and `language`
// frames (docs/protocol.md).
import assert from "node:assert/strict";
import { test } from "node:test";

import { reduce } from "../../static/panel/reduce.js";
import { activeConversation, initialState } from "../../static/panel/state.js";

const spanish = { code: "es", source: "detected", in_model: false };

function opened(language) {
  return reduce(initialState(), {
    type: "state",
    conversation: { id: 7, external_id: "tkt-7", customer_name: "Lucía", status: "open", language },
    messages: [],
    suggestions: null,
    assist_available: true,
    suggestions_enabled: true,
  });
}

test("the state frame's language is kept with its conversation", () => {
  assert.deepEqual(activeConversation(opened(spanish)).language, spanish);
});

test("a suggestions frame brings the language it was rendered in", () => {
  const german = { code: "de", source: "agent", in_model: false };
  const state = reduce(opened(spanish), {
    type: "suggestions",
    conversation: 7,
    suggestion: 10,
    seq: 1,
    message: null,
    language: german,
    items: [{ key: "a", title: "A", body: "b", locale: "en", fallback: true, confident: false }],
  });
  assert.deepEqual(activeConversation(state).language, german);
});

test("a language frame changes it; one for another conversation changes nothing", () => {
  const state = opened(spanish);
  const english = { code: "en", source: "agent", in_model: true };
  const changed = reduce(state, { type: "language", conversation: 7, language: english });
  assert.deepEqual(activeConversation(changed).language, english);
  assert.equal(reduce(state, { type: "language", conversation: 8, language: english }), state);
});

const listed = (seq, language, body, extra = {}) => ({
  type: "suggestions",
  conversation: 7,
  suggestion: seq * 10,
  seq,
  message: null,
  language,
  items: [{ key: "a", title: "A", body, locale: language.code, fallback: false, confident: false }],
  ...extra,
});

test("the list on screen sent again in another language shows the new texts, keeping picks", () => {
  const english = { code: "en", source: "detected", in_model: true };
  let state = reduce(opened(english), listed(1, english, "We blocked it."));
  state = reduce(state, { type: "shown", now: 5 });
  state = reduce(state, { type: "pick", list: "suggestions", index: 0, clientId: "p1", now: 9 });
  const before = activeConversation(state);

  // The agent chose Spanish: the server sends the same list (same seq) rendered in it.
  const spanishChoice = { code: "es", source: "agent", in_model: false };
  state = reduce(state, listed(1, spanishChoice, "La hemos bloqueado."));
  const after = activeConversation(state);
  assert.equal(after.suggestions.items[0].body, "La hemos bloqueado.");
  assert.deepEqual(after.language, spanishChoice);
  assert.deepEqual([...after.picks], [...before.picks]);
  assert.equal(after.shownAt, before.shownAt);

  // The same list again in the same language (a resend) changes nothing; an older one neither.
  assert.equal(reduce(state, listed(1, spanishChoice, "La hemos bloqueado.")), state);
  assert.equal(reduce(state, listed(0, english, "Old")), state);
});

test("a state frame after a reconnect brings the list in the language chosen meanwhile", () => {
  const english = { code: "en", source: "detected", in_model: true };
  const german = { code: "de", source: "helpdesk", in_model: false };
  const state = reduce(opened(english), listed(2, english, "We blocked it."));
  const next = reduce(state, {
    type: "state",
    conversation: { id: 7, status: "open", language: german },
    messages: [],
    suggestions: listed(2, german, "Wir haben sie gesperrt."),
  });
  assert.equal(activeConversation(next).suggestions.items[0].body, "Wir haben sie gesperrt.");
});
