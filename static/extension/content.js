// The content script: reads the open conversation from the helpdesk page with the adapter the
// background chose, reports it (the background sends new messages to the backend), and puts a
// picked template into the reply box at the cursor. It never sends a reply on its own, never
// sees the agent's token, and sends nothing when it cannot read the page.

(() => {
  if (globalThis.__assistContentScript) return; // injected twice (manifest + registration)
  globalThis.__assistContentScript = true;
  const A = globalThis.AssistAdapters;
  const SETTLE_MS = 250;
  let site = null;
  let lastReport = "";
  let timer = null;

  function report(force = false) {
    if (!site) return;
    const result = A.readConversation(document, site, location);
    const key = JSON.stringify(result);
    if (!force && key === lastReport) return;
    lastReport = key;
    chrome.runtime.sendMessage({ type: "assist:conversation", result }).catch(() => {
      lastReport = ""; // the background was restarting: report again on the next change
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => report(), SETTLE_MS);
  }

  function insert(text, key) {
    const box = A.findReplyBox(document, site);
    if (!box) return { ok: false, reason: "cannot find the reply box on this page" };
    if (!A.insertAtCursor(box, text)) return { ok: false, reason: "the reply box is not editable" };
    // Tells the helpdesk page which template went in (the demo records it with the reply).
    box.dispatchEvent(
      new CustomEvent("assist:inserted", { bubbles: true, detail: JSON.stringify({ key, text }) }),
    );
    return { ok: true };
  }

  chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (message?.type === "assist:read") {
      report(true);
      sendResponse({ ok: Boolean(site) });
    } else if (message?.type === "assist:insert" && site) {
      sendResponse(insert(String(message.text ?? ""), message.key ?? null));
    }
  });

  async function start() {
    const answer = await chrome.runtime.sendMessage({ type: "assist:hello", url: location.href });
    site = answer?.site ?? null;
    if (!site) return; // not a page the agent configured
    new MutationObserver(schedule).observe(document.documentElement, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["data-role", "data-message-id", "data-external-id", "class"],
    });
    // Single-page helpdesks switch conversations without a load.
    window.addEventListener("popstate", schedule);
    window.addEventListener("hashchange", schedule);
    report(true);
  }

  start().catch(() => {});
})();
