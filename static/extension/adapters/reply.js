// The reply box's rules for inserted templates, shared by the extension's content script and the
// demo helpdesk (which loads this file as a classic script): a second template goes in beside the
// first with a space, Tab and Shift+Tab jump between the unfilled `[[field]]` markers the server
// leaves (templates_app/placeholders.py), and a reply that still holds one asks before it goes.
//
// Pure functions of strings and offsets (no DOM), hanging off globalThis.AssistAdapters like the
// other adapter files, so tests/extension/ runs them under node.

(() => {
  const A = (globalThis.AssistAdapters ??= {});

  const MARKER = /\[\[([a-z_][a-z0-9_]*)\]\]/g;

  /** Every unfilled marker in `text`: [{name, start, end}], in order. */
  A.unfilledFields = (text) =>
    [...String(text).matchAll(MARKER)].map((m) => ({
      name: m[1],
      start: m.index,
      end: m.index + m[0].length,
    }));

  /** The marker Tab (`step` 1) or Shift+Tab (`step` -1) moves to from the selection
   * [`start`, `end`), wrapping around; null when there is none (Tab then leaves the box). */
  A.nextField = (text, start, end, step) => {
    const fields = A.unfilledFields(text);
    if (fields.length === 0) return null;
    if (step > 0) return fields.find((f) => f.start >= end) ?? fields[0];
    return fields.findLast((f) => f.end <= start) ?? fields[fields.length - 1];
  };

  /** `text` as it goes in between `before` and `after` (the reply's text on either side of the
   * cursor): with a space where it would otherwise touch a word. */
  A.separated = (before, text, after) => {
    const lead = before && !/\s$/.test(before) && !/^\s/.test(text) ? " " : "";
    const trail = after && !/^\s/.test(after) && !/\s$/.test(text) ? " " : "";
    return lead + text + trail;
  };

  /** The question to ask before sending `text`, or null when no field is left unfilled. */
  A.unfilledQuestion = (text) => {
    const names = [...new Set(A.unfilledFields(text).map((f) => f.name))];
    if (names.length === 0) return null;
    const list = names.map((name) => `[[${name}]]`).join(", ");
    return `The reply still has ${names.length === 1 ? "an unfilled field" : "unfilled fields"}: ${list}. Send it anyway?`;
  };
})();
