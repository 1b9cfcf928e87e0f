// The side panel: frames the backend's agent panel on the conversation that the followed tab
// shows, hands it the agent's token once it says it is ready, and passes its picks to that tab's
// content script, which puts the text into the reply box.
//
// It follows the active tab of its window. `sidepanel.html?tab=ID` pins it to one tab instead
// (a popped-out panel, and how the browser tests drive it: Chrome cannot open a side panel
// headless).

import { loadSettings } from "./settings.js";

const byId = (id) => document.getElementById(id);
const pinnedTab = Number(new URLSearchParams(location.search).get("tab")) || null;

let settings = null;
let windowId = null;
let tabId = null;
let shownConversation = null;
let panelReady = false; // the framed panel said `assist:panel-ready` and has its token

function notice(text, kind = "") {
  byId("notice").textContent = text;
  byId("notice").dataset.kind = kind;
}

function result(text, kind = "") {
  byId("result").textContent = text;
  byId("result").dataset.kind = kind;
}

function showPanel(conversation) {
  const frame = byId("panel");
  if (shownConversation !== conversation) {
    shownConversation = conversation;
    result("");
    if (panelReady) {
      // The panel is up: it switches its tab in place. Reloading it would drop its socket and
      // any key the agent presses while the new page loads.
      const origin = new URL(settings.backendUrl).origin;
      frame.contentWindow.postMessage({ type: "assist:activate", conversation }, origin);
    } else {
      const url = new URL("/panel/", settings.backendUrl);
      url.searchParams.set("conversation", String(conversation));
      url.searchParams.set("embed", "1");
      frame.src = url.href; // the token never goes in the URL: see onFrameMessage
    }
  }
  frame.hidden = false;
}

function hidePanel() {
  byId("panel").hidden = true;
}

function render(state) {
  if (!state) return;
  switch (state.status) {
    case "ok":
      notice("");
      showPanel(state.conversation);
      break;
    case "pending":
      notice("Reading the conversation…");
      break;
    case "unreadable":
      hidePanel();
      notice(`Cannot read the conversation on this page: ${state.reason}.`, "error");
      break;
    case "error":
      notice(state.reason, "error");
      if (state.conversation) showPanel(state.conversation);
      else hidePanel();
      break;
    default:
      hidePanel();
      notice("Open a conversation in your helpdesk to see suggestions.");
  }
}

async function follow(id) {
  tabId = id;
  if (tabId == null) return render({ status: "none" });
  render(await chrome.runtime.sendMessage({ type: "assist:get-state", tabId }));
}

function onFrameMessage(event) {
  const frame = byId("panel");
  if (event.source !== frame.contentWindow) return;
  if (event.origin !== new URL(settings.backendUrl).origin) return;
  const data = event.data;
  if (data?.type === "assist:active" && data.conversation != null) {
    // The agent switched tabs in the panel: the helpdesk shows that chat too, where it can.
    chrome.runtime
      .sendMessage({ type: "assist:switch", tabId, conversation: data.conversation })
      .then((answer) => {
        if (!answer?.ok) result(`The helpdesk did not switch: ${answer?.reason ?? "no answer"}.`);
      });
  } else if (data?.type === "assist:panel-ready") {
    frame.contentWindow.postMessage({ type: "assist:auth", token: settings.token }, event.origin);
    panelReady = true;
    // The helpdesk may have switched chats while this page loaded.
    if (shownConversation !== null) {
      frame.contentWindow.postMessage(
        { type: "assist:activate", conversation: shownConversation },
        event.origin,
      );
    }
  } else if (data?.type === "assist:pick" && typeof data.text === "string") {
    chrome.runtime
      .sendMessage({
        type: "assist:insert",
        tabId,
        conversation: data.conversation,
        key: data.key,
        text: data.text,
        pick: data.pick ?? null,
      })
      .then((answer) =>
        answer?.ok
          ? result("Inserted into the reply box: review it, then send.")
          : result(`Not inserted: ${answer?.reason ?? "no answer"}.`, "error"),
      );
  }
}

/** A keyboard shortcut pressed in the helpdesk tab (manifest.json "commands"), for the panel. */
function passCommand(command) {
  const frame = byId("panel");
  if (frame.hidden || !frame.contentWindow || typeof command !== "string") return;
  if (command === "focus-panel") {
    window.focus();
    frame.focus();
  }
  const origin = new URL(settings.backendUrl).origin;
  frame.contentWindow.postMessage({ type: "assist:command", command }, origin);
}

async function main() {
  settings = await loadSettings();
  byId("open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
  if (!settings.token) {
    notice("Set the assist server and your token in the extension's options first.", "error");
    byId("open-options").hidden = false;
    return;
  }
  window.addEventListener("message", onFrameMessage);
  chrome.runtime.onMessage.addListener((message) => {
    if (message?.type === "assist:tab-state" && message.tabId === tabId) render(message.state);
    if (message?.type === "assist:command" && (message.tabId ?? tabId) === tabId) {
      passCommand(message.command);
    }
    if (message?.type === "assist:active-tab" && !pinnedTab && message.windowId === windowId) {
      follow(message.tabId);
    }
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && (changes.token || changes.backendUrl)) location.reload();
  });
  windowId = (await chrome.windows.getCurrent()).id;
  if (pinnedTab) return follow(pinnedTab);
  const [active] = await chrome.tabs.query({ active: true, windowId });
  return follow(active?.id ?? null);
}

main();
