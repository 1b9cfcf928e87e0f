// node --test tests/extension/  The reply box's rules for inserted templates (adapters/reply.js):
// a space between two, Tab between unfilled fields, a question before sending one.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import vm from "node:vm";

const file = new URL("../../static/extension/adapters/reply.js", import.meta.url);
const context = vm.createContext({});
vm.runInContext(readFileSync(file, "utf8"), context, { filename: "adapters/reply.js" });
const A = context.AssistAdapters;
const plain = (value) => JSON.parse(JSON.stringify(value));

test("a second template goes in with a space, never glued to a word", () => {
  assert.equal(A.separated("Hi Jo.", "Your card is frozen.", ""), " Your card is frozen.");
  assert.equal(A.separated("Hi Jo. ", "Your card is frozen.", ""), "Your card is frozen.");
  assert.equal(A.separated("Hi Jo.\n", "Thanks", ""), "Thanks");
  assert.equal(A.separated("", "Thanks", "Bye"), "Thanks ");
  assert.equal(A.separated("", "Thanks", ""), "Thanks");
});

test("unfilled fields in order, and only well-formed markers", () => {
  const text = "Refund of [[amount]] within [[days]] days; [[Not A Field]] [[amount]]";
  assert.deepEqual(plain(A.unfilledFields(text).map((f) => f.name)), ["amount", "days", "amount"]);
  assert.deepEqual(plain(A.unfilledFields("nothing to fill")), []);
});

test("Tab and Shift+Tab move between fields and wrap around", () => {
  const text = "a [[x]] b [[y]] c";
  const x = { name: "x", start: 2, end: 7 };
  const y = { name: "y", start: 10, end: 15 };
  assert.deepEqual(plain(A.nextField(text, 0, 0, 1)), x);
  assert.deepEqual(plain(A.nextField(text, 2, 7, 1)), y); // from x, selected
  assert.deepEqual(plain(A.nextField(text, 10, 15, 1)), x); // wraps
  assert.deepEqual(plain(A.nextField(text, 10, 15, -1)), x);
  assert.deepEqual(plain(A.nextField(text, 2, 7, -1)), y); // wraps back
  assert.equal(A.nextField("no fields", 0, 0, 1), null); // Tab leaves the box
});

test("sending asks only while a field is unfilled, naming each once", () => {
  assert.equal(A.unfilledQuestion("All filled in."), null);
  const question = A.unfilledQuestion("[[days]] days, [[days]] again, [[amount]]");
  assert.match(question, /unfilled fields: \[\[days\]\], \[\[amount\]\]\. Send it anyway\?/);
});
