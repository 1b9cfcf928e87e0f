// Reading a helpdesk conversation out of its page, configured by CSS selectors.
//
// Loaded as a classic script (content scripts cannot be ES modules) into the content script's
// isolated world, the background worker, the options page and the tests; everything hangs off
// globalThis.AssistAdapters. Pure functions of (document, config, location): no network here.
//
// readConversation(document, config, location) returns
//   {ok: true, conversationId, customerName, channel, language, messages: [{id, role, text}]}
// or {ok: false, code: "no_conversation" | "unreadable", reason}: when the page does not look
// like the configuration says, the extension reports that and sends nothing, rather than guess.

(() => {
  const A = (globalThis.AssistAdapters ??= {});

  /** 64-bit string hash (two 32-bit FNV-1a style lanes) as 16 hex chars; sync, so it works on
   * plain-HTTP pages too, where crypto.subtle does not exist. Stable across browsers. */
  A.hash64 = (text) => {
    let h1 = 0x811c9dc5;
    let h2 = 0x9e3779b9;
    for (let i = 0; i < text.length; i += 1) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    const hex = (n) => (n >>> 0).toString(16).padStart(8, "0");
    return hex(h1) + hex(h2);
  };

  /** The client id of a message that has no id of its own on the page: the same message read
   * again (or by another tab) gets the same id, so the backend stores it once. */
  A.messageKey = (conversationId, position, role, text) =>
    `g1-${A.hash64(JSON.stringify([String(conversationId), position, role, text]))}`;

  const normalise = (text) => String(text ?? "").replace(/\s+/g, " ").trim();

  function select(root, selector, what) {
    try {
      return root.querySelector(selector);
    } catch {
      throw new Error(`${what}: ${JSON.stringify(selector)} is not a valid CSS selector`);
    }
  }

  function selectAll(root, selector, what) {
    try {
      return [...root.querySelectorAll(selector)];
    } catch {
      throw new Error(`${what}: ${JSON.stringify(selector)} is not a valid CSS selector`);
    }
  }

  function matches(element, selector, what) {
    try {
      return element.matches(selector) || element.querySelector(selector) !== null;
    } catch {
      throw new Error(`${what}: ${JSON.stringify(selector)} is not a valid CSS selector`);
    }
  }

  /** A value spec: "css" (the element's text), {selector, attribute?}, or {url: "regex"} (the
   * first group of a regular expression over the page URL). Returns "" when absent. */
  A.readValue = (document, spec, location, what) => {
    if (!spec) return "";
    if (typeof spec === "string") spec = { selector: spec };
    if (spec.url) {
      const match = new RegExp(spec.url).exec(String(location?.href ?? ""));
      return match ? normalise(match[1] ?? match[0]) : "";
    }
    const element = select(document, spec.selector, what);
    if (!element) return "";
    return normalise(spec.attribute ? element.getAttribute(spec.attribute) : element.textContent);
  };

  function readMessages(list, config, conversationId) {
    const messages = [];
    const seen = new Set();
    const elements = selectAll(list, config.message, "message");
    for (const [index, element] of elements.entries()) {
      const position = index + 1;
      const isCustomer = matches(element, config.role.customer, "role.customer");
      const isAgent = matches(element, config.role.agent, "role.agent");
      if (isCustomer === isAgent) {
        const which = isCustomer ? "both" : "neither";
        throw new Unreadable(`message ${position} matches ${which} of the role selectors`);
      }
      const role = isCustomer ? "customer" : "agent";
      const textNode = config.text ? select(element, config.text, "text") : element;
      const text = normalise(textNode?.textContent);
      if (!textNode || !text) throw new Unreadable(`message ${position} has no text`);
      let id;
      if (config.messageId) {
        id = normalise(element.getAttribute(config.messageId.attribute));
        if (!id || id.length > 64) throw new Unreadable(`message ${position} has no usable id`);
        if (seen.has(id)) throw new Unreadable(`message ${position} repeats the id ${id}`);
        seen.add(id);
      } else {
        id = A.messageKey(conversationId, position, role, text);
      }
      messages.push({ id, role, text });
    }
    return messages;
  }

  class Unreadable extends Error {}

  // A language tag as the server takes it (assist/languages.py): "es", "pt-BR", "zh-Hant".
  const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/;

  /** The conversation's language as the helpdesk shows it (the optional `language` value spec,
   * e.g. {"selector": ".ticket", "attribute": "lang"}), or "" when not set or not a tag: the
   * helpdesk's word overrides the server's detection, so only a well-formed one is sent. */
  A.readLanguage = (document, config, location) => {
    const value = A.readValue(document, config.language, location, "language");
    return LANGUAGE_TAG.test(value) ? value : "";
  };

  A.readConversation = (document, config, location = globalThis.location) => {
    try {
      const conversationId = A.readValue(
        document,
        config.conversationId,
        location,
        "conversationId",
      );
      const list = select(document, config.messageList, "messageList");
      if (!conversationId && !list) {
        return { ok: false, code: "no_conversation", reason: "no conversation is open" };
      }
      if (!conversationId) throw new Unreadable("the conversation id is not on the page");
      if (conversationId.length > 200) throw new Unreadable("the conversation id is too long");
      if (!list) throw new Unreadable("the message list is not on the page");
      const messages = readMessages(list, config, conversationId);
      if (messages.length === 0 && normalise(list.textContent)) {
        throw new Unreadable("the message list has text but no element matches the message selector");
      }
      return {
        ok: true,
        conversationId,
        customerName: A.readValue(document, config.customerName, location, "customerName").slice(
          0,
          200,
        ),
        channel: config.channel || "chat",
        language: A.readLanguage(document, config, location),
        messages,
      };
    } catch (error) {
      return { ok: false, code: "unreadable", reason: error.message };
    }
  };

  /** The reply box, or null. */
  A.findReplyBox = (document, config) => {
    try {
      return document.querySelector(config.replyBox);
    } catch {
      return null;
    }
  };

  /** Inserts `text` at the cursor of a textarea, text input or contenteditable element,
   * replacing the selection, as if typed: an input event follows. Never submits anything. */
  A.insertAtCursor = (box, text) => {
    const document = box.ownerDocument;
    const view = document.defaultView;
    if (box instanceof view.HTMLTextAreaElement || box instanceof view.HTMLInputElement) {
      const start = box.selectionStart ?? box.value.length;
      const end = box.selectionEnd ?? start;
      box.setRangeText(text, start, end, "end");
      box.dispatchEvent(new view.InputEvent("input", { bubbles: true, inputType: "insertText" }));
      return true;
    }
    if (box.isContentEditable) {
      const selection = document.getSelection();
      // The agent's cursor, if it is in the editor; else the end (focus alone would put the
      // caret at the start).
      const inside = selection.rangeCount > 0 && box.contains(selection.anchorNode);
      box.focus();
      if (!inside) {
        const range = document.createRange();
        range.selectNodeContents(box);
        range.collapse(false);
        selection.removeAllRanges();
        selection.addRange(range);
      }
      // execCommand keeps the editor's undo stack and its own input handling.
      if (document.execCommand("insertText", false, text)) return true;
      const range = selection.getRangeAt(0);
      range.deleteContents();
      range.insertNode(document.createTextNode(text));
      range.collapse(false);
      box.dispatchEvent(new view.InputEvent("input", { bubbles: true, inputType: "insertText" }));
      return true;
    }
    return false;
  };

  /** Opens conversation `externalId` in the page, where the site says how (`switchTo`):
   * {selector} with `{id}` (the link to click) or {url} with `{id}` (the page to open).
   * Returns {ok} or {ok: false, reason}. */
  A.switchConversation = (document, config, externalId) => {
    const spec = config.switchTo;
    if (!spec) return { ok: false, reason: "this helpdesk cannot be switched from the panel" };
    const id = String(externalId);
    if (spec.url) {
      document.defaultView.location.assign(spec.url.replaceAll("{id}", encodeURIComponent(id)));
      return { ok: true };
    }
    const escaped = id.replace(/["\\]/g, "\\$&");
    const link = select(document, spec.selector.replaceAll("{id}", escaped), "switchTo");
    if (!link) return { ok: false, reason: `the helpdesk does not list conversation ${id}` };
    link.click();
    return { ok: true };
  };

  const REQUIRED = ["conversationId", "messageList", "message", "replyBox"];

  /** What is wrong with a site configuration (an empty list when nothing is). */
  A.validateSite = (site, document = globalThis.document) => {
    const errors = [];
    if (!site || typeof site !== "object" || Array.isArray(site)) return ["a site must be an object"];
    const name = site.name || "(unnamed)";
    if (!Array.isArray(site.matches) || site.matches.length === 0) {
      errors.push(`${name}: "matches" must list URL patterns such as "https://desk.example.com/*"`);
    } else {
      for (const pattern of site.matches) {
        if (!A.patternOrigin(pattern)) errors.push(`${name}: bad URL pattern ${JSON.stringify(pattern)}`);
      }
    }
    for (const key of REQUIRED) if (!site[key]) errors.push(`${name}: "${key}" is required`);
    if (!site.role?.customer || !site.role?.agent) {
      errors.push(`${name}: "role" needs a "customer" and an "agent" selector`);
    }
    if (site.messageId && !site.messageId.attribute) {
      errors.push(`${name}: "messageId" needs an "attribute"`);
    }
    if (site.channel && (typeof site.channel !== "string" || site.channel.length > 32)) {
      errors.push(`${name}: "channel" must be a string of at most 32 characters`);
    }
    const selectors = [site.messageList, site.message, site.replyBox, site.text, site.role?.customer,
      site.role?.agent];
    for (const spec of [site.conversationId, site.customerName, site.language]) {
      if (typeof spec === "string") selectors.push(spec);
      else if (spec?.selector) selectors.push(spec.selector);
      else if (spec?.url) {
        try {
          new RegExp(spec.url);
        } catch {
          errors.push(`${name}: ${JSON.stringify(spec.url)} is not a valid regular expression`);
        }
      }
    }
    if (document) {
      for (const selector of selectors.filter((s) => typeof s === "string" && s)) {
        try {
          document.createDocumentFragment().querySelector(selector);
        } catch {
          errors.push(`${name}: ${JSON.stringify(selector)} is not a valid CSS selector`);
        }
      }
    }
    return errors;
  };

  /** "https://desk.example.com/*" -> "https://desk.example.com/*" as a permission origin, or
   * null when the pattern is not scheme://host/path. */
  A.patternOrigin = (pattern) => {
    const match = /^(https?):\/\/([^/]+)\//.exec(String(pattern));
    return match ? `${match[1]}://${match[2]}/*` : null;
  };

  /** Whether `url` matches an extension match pattern such as "https://*.example.com/app/*".
   * As in Chrome, a pattern without a port matches every port. */
  A.urlMatches = (pattern, url) => {
    const match = /^(\*|https?):\/\/([^/]+)(\/.*)$/.exec(String(pattern));
    if (!match) return false;
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    const [, scheme, hostPattern, pathPattern] = match;
    if (scheme === "*" ? !["http:", "https:"].includes(parsed.protocol) : `${scheme}:` !== parsed.protocol) {
      return false;
    }
    const [hostOnly, port] = hostPattern.split(/:(?=\d+$)/);
    if (port && parsed.port !== port) return false;
    const host = parsed.hostname;
    const hostOk = hostOnly === "*" || (hostOnly.startsWith("*.")
      ? host === hostOnly.slice(2) || host.endsWith(hostOnly.slice(1))
      : host === hostOnly);
    const escaped = pathPattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return hostOk && new RegExp(`^${escaped}$`).test(parsed.pathname + parsed.search);
  };
})();
