// The options page: the assist server's URL, the agent's token (pasted, or obtained by signing
// in), and the generic adapter's site configurations. Host permissions for a non-local server or
// a helpdesk are asked for here, on the click that saves them (Chrome requires a user gesture).

import { DEFAULT_BACKEND, loadSettings, normaliseBackend } from "./settings.js";

const A = globalThis.AssistAdapters;
const byId = (id) => document.getElementById(id);
const LOOPBACK = ["127.0.0.1", "localhost"];

function status(id, text, kind = "") {
  byId(id).textContent = text;
  byId(id).dataset.kind = kind;
}

/** Asks for host permission on `origins` (match patterns) the extension does not have yet. */
async function ensureOrigins(origins) {
  const needed = [];
  for (const origin of origins) {
    if (!(await chrome.permissions.contains({ origins: [origin] }))) needed.push(origin);
  }
  return needed.length === 0 || chrome.permissions.request({ origins: needed });
}

function backendPermission(backendUrl) {
  const url = new URL(backendUrl);
  return LOOPBACK.includes(url.hostname) ? [] : [`${url.origin}/*`];
}

/** Checks the token against the server: 200 on the conversation list means it works. */
async function checkToken(backendUrl, token) {
  try {
    const response = await fetch(`${backendUrl}/api/conversations?status=open&limit=1`, {
      credentials: "omit",
      headers: { Authorization: `Token ${token}`, Accept: "application/json" },
    });
    if (response.ok) return ["Saved. The token works: open a conversation in your helpdesk.", "ok"];
    if (response.status === 401) return ["Saved, but the server rejects this token.", "error"];
    return [`Saved, but the server answered HTTP ${response.status}.`, "error"];
  } catch {
    return [`Saved, but ${backendUrl} cannot be reached.`, "error"];
  }
}

async function saveServer(event) {
  event.preventDefault();
  const backendUrl = normaliseBackend(byId("backend").value);
  if (!backendUrl) return status("server-status", "Enter an http(s) URL.", "error");
  // First, while the click still counts as a user gesture.
  if (!(await ensureOrigins(backendPermission(backendUrl)))) {
    return status("server-status", `Not saved: permission for ${backendUrl} was refused.`, "error");
  }
  const token = byId("token").value.trim();
  await chrome.storage.local.set({ backendUrl, token });
  if (!token) return status("server-status", "Saved. Now set your token.", "error");
  status("server-status", ...(await checkToken(backendUrl, token)));
}

async function signOut() {
  const { backendUrl, token } = await loadSettings();
  if (token) {
    // Revokes it on the server too; the local copy goes whatever the answer.
    await fetch(`${backendUrl}/api/tokens/current`, {
      method: "DELETE",
      credentials: "omit",
      headers: { Authorization: `Token ${token}` },
    }).catch(() => {});
  }
  await chrome.storage.local.remove("token");
  byId("token").value = "";
  status("server-status", "Signed out.", "ok");
}

function csrfFrom(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  return doc.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
}

/** Signs in through the server's login form, then asks POST /api/tokens for a token. Both are
 * CSRF-protected, so the server must list this extension's origin in CSRF_TRUSTED_ORIGINS. */
async function signIn(event) {
  event.preventDefault();
  const backendUrl = normaliseBackend(byId("backend").value) || DEFAULT_BACKEND;
  if (!(await ensureOrigins(backendPermission(backendUrl)))) {
    return status("login-status", `Permission for ${backendUrl} was refused.`, "error");
  }
  status("login-status", "Signing in…");
  try {
    const loginUrl = `${backendUrl}/accounts/login/`;
    const form = await fetch(loginUrl, { credentials: "include" });
    const csrf = csrfFrom(await form.text());
    const login = await fetch(loginUrl, {
      method: "POST",
      credentials: "include",
      headers: { "X-CSRFToken": csrf },
      body: new URLSearchParams({
        csrfmiddlewaretoken: csrf,
        username: byId("username").value,
        password: byId("password").value,
      }),
    });
    // A failed login shows the form again; a successful one redirects away from it.
    if (!login.ok || new URL(login.url).pathname === "/accounts/login/") {
      throw new Error(login.status === 403 ? "the server refused this origin (CSRF)" : "wrong username or password");
    }
    const fresh = csrfFrom(await (await fetch(loginUrl, { credentials: "include" })).text()) || csrf;
    const issued = await fetch(`${backendUrl}/api/tokens`, {
      method: "POST",
      credentials: "include",
      headers: { "X-CSRFToken": fresh, Accept: "application/json" },
    });
    const body = await issued.json().catch(() => ({}));
    if (!issued.ok || !body.token) throw new Error(body.detail || `HTTP ${issued.status}`);
    await chrome.storage.local.set({ backendUrl, token: body.token });
    byId("token").value = body.token;
    byId("password").value = "";
    status("login-status", "Signed in: the token is saved.", "ok");
  } catch (error) {
    status("login-status", `Not signed in: ${error.message}. Paste a token instead.`, "error");
  }
}

function parseSites() {
  let sites;
  try {
    sites = JSON.parse(byId("sites").value || "[]");
  } catch (error) {
    return { errors: [`not valid JSON: ${error.message}`] };
  }
  if (!Array.isArray(sites)) return { errors: ["the sites must be a JSON list [...]"] };
  return { sites, errors: sites.flatMap((site) => A.validateSite(site, document)) };
}

async function saveSites(event) {
  event.preventDefault();
  const { sites, errors } = parseSites();
  if (errors.length) return status("sites-status", errors.join("\n"), "error");
  if (!(await ensureOrigins(A.siteOrigins(sites)))) {
    return status("sites-status", "Not saved: the helpdesk permission was refused.", "error");
  }
  await chrome.storage.local.set({ sites });
  status("sites-status", `Saved ${sites.length} site(s). Reload the helpdesk tabs.`, "ok");
}

/** Runs the configured reader on an open helpdesk tab and shows what it finds, sending nothing. */
async function testSite() {
  const { sites, errors } = parseSites();
  if (errors.length) return status("sites-status", errors.join("\n"), "error");
  const tab = (await chrome.tabs.query({})).find((t) => t.url && A.siteFor(t.url, sites));
  const site = tab ? A.siteFor(tab.url, sites) : null;
  if (!site) return status("sites-status", "No open tab fits a site's \"matches\".", "error");
  try {
    const [{ result }] = await chrome.scripting.executeScript({
      target: { tabId: tab.id },
      files: ["adapters/core.js"],
    }).then(() =>
      chrome.scripting.executeScript({
        target: { tabId: tab.id },
        func: (config) => globalThis.AssistAdapters.readConversation(document, config, location),
        args: [site],
      }),
    );
    status(
      "sites-status",
      result.ok
        ? `Read conversation ${result.conversationId} (${result.customerName || "no name"}): ${result.messages.length} messages.`
        : `Cannot read the conversation: ${result.reason}.`,
      result.ok ? "ok" : "error",
    );
  } catch (error) {
    status("sites-status", `Cannot test that tab: ${error.message}`, "error");
  }
}

async function main() {
  const settings = await loadSettings();
  byId("backend").value = settings.backendUrl;
  byId("token").value = settings.token;
  byId("sites").value = JSON.stringify(settings.sites, null, 2);
  byId("own-origin").textContent = location.origin;
  byId("server-form").addEventListener("submit", saveServer);
  byId("sign-out").addEventListener("click", signOut);
  byId("login-form").addEventListener("submit", signIn);
  byId("sites-form").addEventListener("submit", saveSites);
  byId("test-site").addEventListener("click", testSite);
}

main();
