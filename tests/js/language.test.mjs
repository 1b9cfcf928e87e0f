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
