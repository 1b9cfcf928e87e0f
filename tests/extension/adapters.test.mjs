// The extension's pure helpers under node (no DOM): ids, URL matching, the registry and site
// validation. The readers themselves run on saved pages in Chromium (test_adapters.py).
// Run: node --test tests/extension/

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import vm from "node:vm";

const ROOT = new URL("../../static/extension/", import.meta.url);

function load() {
  const context = vm.createContext({ URL });
  for (const file of ["adapters/core.js", "adapters/demo.js", "adapters/generic.js", "adapters/registry.js"]) {
    vm.runInContext(readFileSync(new URL(file, ROOT), "utf8"), context, { filename: file });
  }
  return context.AssistAdapters;
}

const A = load();
// Values from the vm context have that realm's prototypes: compare them as plain data.
const plain = (value) => JSON.parse(JSON.stringify(value));

const SITE = {
  name: "Acme",
  matches: ["https://desk.acme.test/tickets/*"],
  channel: "acme",
  conversationId: { url: "/tickets/(\\d+)" },
  messageList: ".thread",
  message: ".item",
  role: { customer: ".from-requester", agent: ".from-staff" },
  replyBox: "#reply",
};

test("message keys are stable and depend on conversation, position, role and text", () => {
  const key = A.messageKey("T-1", 1, "customer", "hello");
  assert.match(key, /^g1-[0-9a-f]{16}$/);
  assert.ok(key.length <= 64);
  assert.equal(A.messageKey("T-1", 1, "customer", "hello"), key);
  const others = [
    A.messageKey("T-2", 1, "customer", "hello"),
    A.messageKey("T-1", 2, "customer", "hello"),
    A.messageKey("T-1", 1, "agent", "hello"),
    A.messageKey("T-1", 1, "customer", "hello!"),
  ];
  assert.equal(new Set([key, ...others]).size, 5);
  // Pinned, so a change of the hash (which would re-send every message once) is deliberate.
  assert.equal(A.hash64(""), "811c9dc59e3779b9");
});

test("match patterns: scheme, host wildcards, any port unless one is given, path", () => {
  assert.ok(A.urlMatches("https://desk.acme.test/*", "https://desk.acme.test/x?y=1"));
  assert.ok(!A.urlMatches("https://desk.acme.test/*", "http://desk.acme.test/x"));
  assert.ok(A.urlMatches("*://desk.acme.test/*", "http://desk.acme.test/"));
  assert.ok(A.urlMatches("https://*.acme.test/*", "https://a.b.acme.test/"));
  assert.ok(A.urlMatches("https://*.acme.test/*", "https://acme.test/"));
  assert.ok(!A.urlMatches("https://*.acme.test/*", "https://evilacme.test/"));
  assert.ok(A.urlMatches("http://127.0.0.1/*", "http://127.0.0.1:9000/demo/"));
  assert.ok(!A.urlMatches("http://127.0.0.1:8000/*", "http://127.0.0.1:9000/demo/"));
  assert.ok(A.urlMatches("https://desk.acme.test/tickets/*", "https://desk.acme.test/tickets/7"));
  assert.ok(!A.urlMatches("https://desk.acme.test/tickets/*", "https://desk.acme.test/admin"));
  assert.ok(!A.urlMatches("not a pattern", "https://desk.acme.test/"));
});

test("the registry picks the demo on the backend, a configured site, or nothing", () => {
  const settings = { backendUrl: "http://127.0.0.1:8000", sites: [SITE] };
  assert.equal(A.chooseAdapter("http://127.0.0.1:8000/demo/helpdesk/?c=3", settings).kind, "demo");
  assert.equal(
    A.chooseAdapter("http://127.0.0.1:8000/demo/helpdesk/customer/abc/", settings),
    null,
    "the customer's window is not the agent's helpdesk",
  );
  assert.equal(A.chooseAdapter("http://127.0.0.1:9999/demo/helpdesk/", settings), null);
  const generic = A.chooseAdapter("https://desk.acme.test/tickets/42", settings);
  assert.equal(generic.kind, "generic");
  assert.equal(generic.site.name, "Acme");
  assert.equal(A.chooseAdapter("https://mail.acme.test/", settings), null);
  const broken = { ...SITE, replyBox: undefined };
  assert.equal(A.chooseAdapter("https://desk.acme.test/tickets/42", { sites: [broken] }), null);
});

test("site validation names what is missing", () => {
  assert.deepEqual(plain(A.validateSite(SITE, null)), []);
  assert.deepEqual(plain(A.validateSite(A.DEMO_SITE, null)).filter((e) => !e.includes("matches")), []);
  const errors = A.validateSite({ name: "X", matches: ["desk"], role: {} }, null);
  assert.ok(errors.some((e) => e.includes("bad URL pattern")));
  assert.ok(errors.some((e) => e.includes('"replyBox" is required')));
  assert.ok(errors.some((e) => e.includes('"role" needs')));
  assert.deepEqual(plain(A.validateSite([], null)), ["a site must be an object"]);
  assert.ok(A.validateSite({ ...SITE, conversationId: { url: "(" } }, null)[0].includes("regular"));
});

test("permissions asked for are exactly the configured helpdesk origins", () => {
  const other = { ...SITE, matches: ["https://desk.acme.test/admin/*", "https://chat.acme.test/*"] };
  assert.deepEqual(plain(A.siteOrigins([SITE, other])), [
    "https://desk.acme.test/*",
    "https://chat.acme.test/*",
  ]);
});

test("the helpdesk's language is read only when configured and only as a language tag", () => {
  const at = (href) => ({ href });
  const site = { ...SITE, language: { url: "[?&]lang=([^&#]+)" } };
  assert.equal(A.readLanguage(null, site, at("https://desk.acme.test/tickets/7?lang=es")), "es");
  assert.equal(A.readLanguage(null, site, at("https://desk.acme.test/tickets/7?lang=pt-BR")), "pt-BR");
  // Anything else is not the helpdesk's word on a language: nothing is sent, detection decides.
  for (const odd of ["spanish-please", "e", "es_ES", "%3Cscript%3E", ""]) {
    assert.equal(A.readLanguage(null, site, at(`https://desk.acme.test/tickets/7?lang=${odd}`)), "", odd);
  }
  assert.equal(A.readLanguage(null, SITE, at("https://desk.acme.test/tickets/7?lang=es")), "");
  const errors = A.validateSite({ ...SITE, language: { url: "(" } }, null);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /not a valid regular expression/);
});
