// The content script: reads the open conversation from the helpdesk page with the adapter the
// background chose, reports it (the background sends new messages to the backend), and puts a
// picked template into the reply box at the cursor. It never sends a reply on its own, never
// sees the agent's token, and sends nothing when it cannot read the page.
//
// In the reply box (adapters/reply.js): an insert for another conversation than the page shows
// is refused with a notice; a template goes in with a space beside the text around it and its
// first unfilled [[field]] selected; Tab / Shift+Tab move between fields (text boxes and
// contenteditable editors alike); and sending a reply that still holds one asks first, unless
// the page asks by itself (`data-asks-before-unfilled` on its reply box).

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

  const isTextBox = (box) => box instanceof HTMLTextAreaElement || box instanceof HTMLInputElement;
  let approved = null; // the reply text the agent agreed to send with unfilled fields

  /** A notice on the page itself, where the agent is looking. Text only. */
  function notify(text) {
    const note = document.createElement("div");
    note.setAttribute("role", "alert");
    note.dataset.assistNotice = "";
    note.textContent = `Agent assist: ${text}`;
    note.style.cssText =
      "position:fixed;bottom:1rem;right:1rem;z-index:2147483647;max-width:24rem;" +
      "padding:.6rem .8rem;background:#b42318;color:#fff;border-radius:6px;" +
      "font:14px system-ui,sans-serif;box-shadow:0 2px 8px rgb(0 0 0 / 30%)";
    document.body.append(note);
    setTimeout(() => note.remove(), 6_000);
  }

  /** The reply's text before and after the cursor (all of it before, when the cursor is not in
   * the box: insertAtCursor then appends). */
  function textAround(box) {
    if (isTextBox(box)) {
      const start = box.selectionStart ?? box.value.length;
      return [box.value.slice(0, start), box.value.slice(box.selectionEnd ?? start)];
    }
    const selection = document.getSelection();
    if (!selection.rangeCount || !box.contains(selection.anchorNode)) return [box.innerText, ""];
    const range = selection.getRangeAt(0);
    const before = document.createRange();
    before.selectNodeContents(box);
    before.setEnd(range.startContainer, range.startOffset);
    const after = document.createRange();
    after.selectNodeContents(box);
    after.setStart(range.endContainer, range.endOffset);
    return [before.toString(), after.toString()];
  }

  /** A contenteditable box's text as Range.toString() reads it (its text nodes in order), with
   * where each node starts in it, so that a place in the text maps back to the DOM. */
  function editableText(box) {
    const nodes = [];
    let text = "";
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      nodes.push({ node, start: text.length });
      text += node.data;
    }
    return { text, nodes };
  }

  function domPlace(nodes, offset) {
    const at = nodes.findLast((entry) => entry.start <= offset) ?? nodes[0];
    return [at.node, offset - at.start];
  }

  /** The selection in the reply box as offsets into its text: [start, end], or null. */
  function selectionOffsets(box) {
    if (isTextBox(box)) return [box.selectionStart, box.selectionEnd];
    const selection = document.getSelection();
    if (!selection.rangeCount || !box.contains(selection.anchorNode)) return null;
    const range = selection.getRangeAt(0);
    const before = document.createRange();
    before.selectNodeContents(box);
    before.setEnd(range.startContainer, range.startOffset);
    const start = before.toString().length;
    return [start, start + range.toString().length];
  }

  /** Selects the next (`step` 1) or previous (-1) unfilled [[field]] from the selection, or
   * from `from`; with `within`, only one that lies inside [from, within]. In a text box or a
   * contenteditable editor alike. Returns whether it selected one. */
  function selectField(box, step, { from = null, within = null } = {}) {
    const offsets = from === null ? selectionOffsets(box) : [from, from];
    if (!offsets) return false;
    const [start, end] = offsets;
    const editable = isTextBox(box) ? null : editableText(box);
    const text = editable ? editable.text : box.value;
    const field = A.nextField(text, start, end, step);
    if (!field || (within !== null && (field.start < start || field.end > within))) return false;
    if (!editable) {
      box.setSelectionRange(field.start, field.end);
      return true;
    }
    const range = document.createRange();
    range.setStart(...domPlace(editable.nodes, field.start));
    range.setEnd(...domPlace(editable.nodes, field.end));
    const selection = document.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }

  function insert(text, key, pick, externalId) {
    // The page may have switched chats since the background last read it: look again now.
    if (externalId != null) {
      const shown = A.readConversation(document, site, location);
      if (shown.ok && shown.conversationId !== String(externalId)) {
        const reason = "the helpdesk shows another conversation now";
        notify(`not inserted: ${reason}.`);
        return { ok: false, reason };
      }
    }
    const box = A.findReplyBox(document, site);
    if (!box) return { ok: false, reason: "cannot find the reply box on this page" };
    const [before, after] = textAround(box);
    const piece = A.separated(before, text, after);
    if (!A.insertAtCursor(box, piece)) return { ok: false, reason: "the reply box is not editable" };
    // The first unfilled field of what went in, selected: the agent types its value.
    const end = selectionOffsets(box)?.[1];
    if (end !== undefined) selectField(box, 1, { from: end - piece.length, within: end });
    // Tells the helpdesk page which template went in (the demo records it with the reply).
    box.dispatchEvent(
      new CustomEvent("assist:inserted", {
        bubbles: true,
        detail: JSON.stringify({ key, text, pick }),
      }),
    );
    return { ok: true };
  }

  chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if (site === null) {
      // Just loaded (the agent switched chats a moment ago): answer once the background has
      // said which site this is, rather than drop the request.
      started.then(() => handle(message, sendResponse));
      return true; // sendResponse is called later
    }
    handle(message, sendResponse);
    return false;
  });

  function handle(message, sendResponse) {
    if (message?.type === "assist:read") {
      report(true);
      sendResponse({ ok: Boolean(site) });
    } else if (message?.type === "assist:insert" && site) {
      const { text, key, pick, externalId } = message;
      sendResponse(insert(String(text ?? ""), key ?? null, pick ?? null, externalId ?? null));
    } else if (message?.type === "assist:switch" && site) {
      const externalId = String(message.externalId ?? "");
      const shown = A.readConversation(document, site, location);
      // Already there: clicking its link again would only reload the chat.
      if (shown.ok && shown.conversationId === externalId) sendResponse({ ok: true });
      else sendResponse(A.switchConversation(document, site, externalId));
    } else {
      sendResponse(undefined);
    }
  }

  /** Before a reply with an unfilled [[field]] goes: ask, and stop it unless the agent agrees. */
  function guardSend(event, box) {
    // A page that asks by itself says so on its reply box (the demo helpdesk does).
    if (box.hasAttribute("data-asks-before-unfilled")) return;
    const text = isTextBox(box) ? box.value : box.innerText;
    const question = A.unfilledQuestion(text);
    if (!question || approved === text) return;
    // The browser's own dialog: modal, keyboard-driven, read by screen readers.
    if (window.confirm(question)) {
      approved = text; // the click's own submit must not ask again
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    box.focus();
    selectField(box, 1, { from: 0 });
  }

  function replyBox() {
    return site ? A.findReplyBox(document, site) : null;
  }

  document.addEventListener(
    "keydown",
    (event) => {
      const box = replyBox();
      if (!box || event.target !== box || event.altKey || event.metaKey) return;
      if (event.key === "Tab" && !event.ctrlKey) {
        // Only while a field is left: otherwise Tab moves the focus on, as the page expects.
        if (selectField(box, event.shiftKey ? -1 : 1)) event.preventDefault();
      } else if (event.key === "Enter" && event.ctrlKey) {
        guardSend(event, box);
      }
    },
    true,
  );
  document.addEventListener(
    "submit",
    (event) => {
      const box = replyBox();
      if (box && event.target.contains(box)) guardSend(event, box);
    },
    true,
  );
  document.addEventListener(
    "click",
    (event) => {
      const box = replyBox();
      const selector = site?.sendButton || "button[type=submit], input[type=submit]";
      const button = box && event.target.closest?.(selector);
      if (button && (site.sendButton || button.form?.contains(box))) guardSend(event, box);
    },
    true,
  );

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

  // Settles (never rejects) once `site` is known, or known to be none.
  const started = start().catch(() => {});
})();
