// The background service worker: the only part that talks to the backend's REST API with the
// agent's token. It routes between the content scripts (which read helpdesk pages) and the side
// panel (which frames the backend's agent panel), and remembers each tab's conversation.
//
// Its memory may be dropped whenever Chrome stops an idle worker: nothing here is the source of
// truth. Sending a message again is safe (the backend stores a client id once), and a side panel
// that asks about a tab the worker forgot makes the tab's content script read the page again.

import "./adapters/core.js";
import "./adapters/demo.js";
import "./adapters/generic.js";
import "./adapters/registry.js";
import { loadSettings } from "./settings.js";

const A = globalThis.AssistAdapters;
const CONTENT_FILES = [
  "adapters/core.js",
  "adapters/demo.js",
  "adapters/generic.js",
  "adapters/registry.js",
  "adapters/reply.js",
  "content.js",
];
const RETRY_MS = 5_000;

// tabId -> {status: "ok" | "unreadable" | "none" | "error", conversation?, externalId?,
//            customerName?, reason?}
const tabs = new Map();
// "channel\u0000externalId" -> backend conversation id
const conversations = new Map();
// backend conversation id -> Set of message ids already stored
const stored = new Map();
// backend conversation id -> {key, text, pick}: the last template inserted; the next agent
// reply stored carries its pick reference (docs/protocol.md), edited or not
const lastPicks = new Map();
// backend conversation id -> the language the helpdesk's page last gave for it, as sent
const languages = new Map();
// tabId -> the promise of the sync in progress, so one tab's messages go out in order
const syncs = new Map();

class BackendError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const { backendUrl, token } = await loadSettings();
  if (!token) throw new BackendError(401, "not signed in: set a token in the options");
  let response;
  try {
    response = await fetch(`${backendUrl}${path}`, {
      method,
      // The token only: no cookies, so no CSRF and no confusion with a browser session.
      credentials: "omit",
      headers: {
        Authorization: `Token ${token}`,
        Accept: "application/json",
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new BackendError(0, `cannot reach ${backendUrl}`);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new BackendError(response.status, data.detail || `HTTP ${response.status}`);
  return data;
}

function explain(error) {
  if (error.status === 401) return "Not signed in: open the extension's options and set your token.";
  if (error.status === 403) return `Not allowed: ${error.message}`;
  if (error.status === 0) return `The assist server is unreachable (${error.message}).`;
  return `The assist server refused: ${error.message}`;
}

async function setTabState(tabId, state) {
  tabs.set(tabId, state);
  const bad = state.status === "unreadable" || state.status === "error";
  await chrome.action.setBadgeText({ tabId, text: bad ? "!" : "" }).catch(() => {});
  await chrome.action
    .setTitle({
      tabId,
      title: bad ? `Agent assist: ${state.reason}` : "Agent assist",
    })
    .catch(() => {});
  chrome.runtime.sendMessage({ type: "assist:tab-state", tabId, state }).catch(() => {});
}

async function backendConversation(result) {
  const key = `${result.channel}\u0000${result.conversationId}`;
  if (!conversations.has(key)) {
    const body = {
      external_id: result.conversationId,
      channel: result.channel,
      customer_name: result.customerName || "",
    };
    if (result.language) body.language = result.language;
    const conversation = await api("/api/conversations", { method: "POST", body });
    conversations.set(key, conversation.id);
    // What the server already holds as the helpdesk's word (an existing conversation keeps its own).
    const told = conversation.language_source === "helpdesk" ? conversation.language : "";
    languages.set(conversation.id, told);
  }
  const id = conversations.get(key);
  // The helpdesk changed the conversation's language on the page: its word overrides detection.
  if (result.language && languages.get(id) !== result.language) {
    await api(`/api/conversations/${id}`, { method: "PATCH", body: { language: result.language } });
    languages.set(id, result.language);
  }
  return id;
}

/** Stores the conversation's messages the backend does not have from us yet, in page order. */
async function sync(tabId, result) {
  if (!result?.ok) {
    const status = result?.code === "no_conversation" ? "none" : "unreadable";
    const reason = result?.reason || "unknown";
    await setTabState(tabId, { status, reason });
    return;
  }
  let conversation;
  try {
    conversation = await backendConversation(result);
    await setTabState(tabId, {
      status: "ok",
      conversation,
      externalId: result.conversationId,
      customerName: result.customerName,
    });
    const done = stored.get(conversation) ?? new Set();
    stored.set(conversation, done);
    for (const message of result.messages) {
      if (done.has(message.id)) continue;
      const body = { role: message.role, text: message.text, client_id: message.id };
      const fields = replyFields(lastPicks.get(conversation), message);
      if (fields) {
        Object.assign(body, fields);
        lastPicks.delete(conversation);
      }
      await api(`/api/conversations/${conversation}/messages`, { method: "POST", body });
      done.add(message.id);
    }
  } catch (error) {
    if (error.status === 0 || error.status >= 500) {
      // Try again soon: the page may not change by itself, so the content script would not.
      setTimeout(() => {
        chrome.tabs.sendMessage(tabId, { type: "assist:read" }).catch(() => {});
      }, RETRY_MS);
    }
    await setTabState(tabId, {
      status: "error",
      conversation,
      externalId: result.conversationId,
      customerName: result.customerName,
      reason: explain(error),
    });
  }
}

/** What a new message read from the page carries about the last insert, or null: an agent
 * reply after a pick carries the pick (edited or not); without one (an older panel), only a
 * reply that is exactly the inserted text names its template. */
function replyFields(lastPick, message) {
  if (message.role !== "agent" || !lastPick) return null;
  if (lastPick.pick) return { pick: lastPick.pick };
  if (lastPick.text.trim() === message.text.trim()) return { template: lastPick.key };
  return null;
}

function queueSync(tabId, result) {
  const previous = syncs.get(tabId) ?? Promise.resolve();
  const next = previous.then(() => sync(tabId, result));
  syncs.set(tabId, next);
  return next;
}

async function stateOf(tabId) {
  if (tabs.has(tabId)) return tabs.get(tabId);
  // Forgotten (a restarted worker) or never read: ask the tab's content script, if it has one.
  const answer = await chrome.tabs.sendMessage(tabId, { type: "assist:read" }).catch(() => null);
  if (!answer?.ok) return { status: "none", reason: "not a helpdesk page" };
  await (syncs.get(tabId) ?? Promise.resolve());
  return tabs.get(tabId) ?? { status: "pending" };
}

async function insert({ tabId, conversation, key, text, pick }) {
  const state = tabs.get(tabId);
  if (!state || state.status === "none" || state.status === "unreadable") {
    return { ok: false, reason: "this tab shows no conversation the extension can read" };
  }
  if (conversation != null && String(state.conversation) !== String(conversation)) {
    return { ok: false, reason: "the tab shows another conversation now" };
  }
  const answer = await chrome.tabs
    // The content script checks again that the page still shows this conversation.
    .sendMessage(tabId, { type: "assist:insert", text, key, pick, externalId: state.externalId })
    .catch(() => ({ ok: false, reason: "the helpdesk tab is not reachable (reload it)" }));
  if (answer?.ok && key) lastPicks.set(state.conversation, { key, text, pick: pick ?? null });
  return answer ?? { ok: false, reason: "no answer from the helpdesk tab" };
}

const SWITCH_ATTEMPTS = 10;
const SWITCH_RETRY_MS = 200;

/** The agent switched tabs in the panel: the helpdesk tab opens that conversation, where its
 * adapter knows how (`switchTo`, docs/extension.md). */
async function switchConversation({ tabId, conversation }) {
  // No shortcut on this tab's last reported conversation: the page may have switched since
  // (two quick tab switches in the panel), and then "already there" would lose the second. The
  // content script looks at the page itself.
  let externalId = null;
  for (const [key, id] of conversations) {
    if (String(id) === String(conversation)) externalId = key.split("\u0000")[1];
  }
  if (externalId === null) {
    try {
      externalId = (await api(`/api/conversations/${Number(conversation)}`)).external_id;
    } catch (error) {
      return { ok: false, reason: explain(error) };
    }
  }
  // A page that is still loading (the previous switch) has no content script to answer yet:
  // ask again for a moment before giving up.
  for (let attempt = 0; attempt < SWITCH_ATTEMPTS; attempt += 1) {
    if (attempt) await new Promise((resolve) => setTimeout(resolve, SWITCH_RETRY_MS));
    const answer = await chrome.tabs
      .sendMessage(tabId, { type: "assist:switch", externalId })
      .catch(() => null);
    if (answer) return answer;
  }
  return { ok: false, reason: "the helpdesk tab is not reachable (reload it)" };
}

// The keyboard shortcuts of manifest.json ("commands"), which work while the helpdesk tab has
// the focus: the side panel hands them to the panel (keys.js, remoteCommand).
chrome.commands.onCommand.addListener((command, tab) => {
  if (command === "focus-panel" && tab?.id != null) {
    chrome.sidePanel.open({ tabId: tab.id }).catch(() => {}); // a shortcut is a user gesture
  }
  chrome.runtime
    .sendMessage({ type: "assist:command", command, tabId: tab?.id ?? null })
    .catch(() => {}); // no side panel open: nothing to do
});

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const fromTab = sender.tab?.id;
  const handle = async () => {
    switch (message?.type) {
      case "assist:hello": {
        const adapter = A.chooseAdapter(message.url, await loadSettings());
        return { site: adapter?.site ?? null, kind: adapter?.kind ?? null };
      }
      case "assist:conversation":
        if (fromTab === undefined) return null;
        queueSync(fromTab, message.result);
        return { ok: true };
      case "assist:get-state":
        return stateOf(message.tabId);
      case "assist:insert":
        return insert(message);
      case "assist:switch":
        return switchConversation(message);
      default:
        return undefined;
    }
  };
  handle().then(sendResponse, (error) => sendResponse({ ok: false, reason: String(error) }));
  return true; // answered asynchronously
});

chrome.tabs.onActivated.addListener(({ tabId, windowId }) => {
  chrome.runtime.sendMessage({ type: "assist:active-tab", tabId, windowId }).catch(() => {});
});
chrome.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === "loading" && change.url) tabs.delete(tabId);
});
chrome.tabs.onRemoved.addListener((tabId) => {
  tabs.delete(tabId);
  syncs.delete(tabId);
});

/** Content scripts for the configured sites and for the demo helpdesk on a non-local backend.
 * Only origins the agent granted (in the options page) are registered. */
async function registerContentScripts() {
  const { backendUrl, sites } = await loadSettings();
  const wanted = [...A.siteOrigins(sites)];
  const backend = new URL(backendUrl);
  if (!["127.0.0.1", "localhost"].includes(backend.hostname)) {
    wanted.push(`${backend.origin}/demo/helpdesk/*`);
  }
  const matches = [];
  for (const pattern of wanted) {
    const origin = A.patternOrigin(pattern);
    if (origin && (await chrome.permissions.contains({ origins: [origin] }))) {
      matches.push(pattern);
    }
  }
  const existing = await chrome.scripting.getRegisteredContentScripts({ ids: ["sites"] });
  if (existing.length) await chrome.scripting.unregisterContentScripts({ ids: ["sites"] });
  if (matches.length) {
    await chrome.scripting.registerContentScripts([
      { id: "sites", matches, js: CONTENT_FILES, runAt: "document_idle", persistAcrossSessions: true },
    ]);
  }
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  if (changes.token || changes.backendUrl) conversations.clear();
  if (changes.backendUrl || changes.sites) registerContentScripts().catch(console.warn);
});
chrome.permissions.onAdded.addListener(() => registerContentScripts().catch(console.warn));
chrome.permissions.onRemoved.addListener(() => registerContentScripts().catch(console.warn));
chrome.runtime.onInstalled.addListener(() => {
  chrome.sidePanel.setPanelBehavior({ openPanelOnActionClick: true }).catch(() => {});
  registerContentScripts().catch(console.warn);
});
