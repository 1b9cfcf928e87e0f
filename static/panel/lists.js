// The two lists of templates: the active conversation's ranked suggestions and the search
// results, drawn from the state (reduce.js). Text only: see the note in dom.js.

import { el } from "./dom.js";
import { formatProbability, splitPlaceholders } from "./protocol.js";
import { activeConversation, visibleSuggestions } from "./state.js";
import { renderFields } from "./views.js";

const WAITING_TEXT = "Waiting for a customer message…";
const NO_SUGGESTIONS_TEXT = "No suggestions in this conversation — search still works";

/** `onPick(list, index)` runs when an item is clicked, `onReject(index)` when its "not this
 * one" button is. */
export function renderSuggestions(dom, state, onPick, onReject) {
  const conversation = activeConversation(state);
  const frame = visibleSuggestions(conversation);
  const list = dom.suggestions;
  dom.suggestionsEmpty.hidden = !(conversation && !conversation.suggestions);
  dom.suggestionsEmpty.textContent =
    conversation?.suggestionsEnabled === false ? NO_SUGGESTIONS_TEXT : WAITING_TEXT;
  if (!frame) {
    list.replaceChildren();
    list.hidden = true;
    dom.noConfident.hidden = true;
    return;
  }
  const confident = frame.items.some((item) => item.confident);
  dom.noConfident.hidden = confident;
  list.hidden = false;
  // Which list is on screen, for tests and for anyone reading the DOM.
  list.dataset.seq = String(frame.seq);
  list.dataset.suggestion = String(frame.suggestion);
  list.classList.toggle("dimmed", !confident);
  list.replaceChildren(
    ...frame.items.map((item, index) =>
      renderItem(item, index, {
        highlighted: index === conversation.highlight,
        picked: conversation.picks.get(item.key),
        onPick: () => onPick("suggestions", index),
        onReject: onReject && (() => onReject(index)),
      }),
    ),
  );
}

export function renderSearch(dom, state, onPick) {
  const search = state.search;
  const list = dom.searchResults;
  const shown = search.shownFor !== null;
  dom.searchEmpty.hidden = !(shown && search.items.length === 0);
  list.hidden = !shown || search.items.length === 0;
  if (!shown) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(
    ...search.items.map((item, index) => {
      const li = renderItem(item, index, {
        highlighted: index === search.highlight,
        picked: search.picks.get(item.key),
        onPick: () => onPick("search", index),
      });
      li.classList.add("search-result");
      return li;
    }),
  );
}

function renderItem(item, index, { highlighted, picked, onPick, onReject }) {
  const li = el("li", "suggestion");
  li.dataset.key = item.key;
  li.dataset.rank = String(index + 1);
  if (item.locale) li.dataset.locale = item.locale;
  li.classList.toggle("confident", Boolean(item.confident));
  li.classList.toggle("already-sent", Boolean(item.already_sent));
  li.classList.toggle("highlighted", highlighted);
  const rejected = picked === "rejected";
  li.classList.toggle("picked", Boolean(picked) && !rejected);
  li.classList.toggle("rejected", rejected);
  li.classList.toggle("saved", picked === "saved");
  if (highlighted) li.setAttribute("aria-current", "true");

  const head = el("div", "suggestion-head");
  head.append(el("span", "rank", index + 1));
  head.append(el("span", "title", item.title || item.key));
  const probability = formatProbability(item.probability);
  if (probability) {
    const node = el("span", "probability", probability);
    node.title = "Calibrated probability";
    head.append(node);
  }
  if (item.confident) head.append(el("span", "badge badge-confident", "confident"));
  if (item.already_sent) head.append(el("span", "badge badge-sent", "already sent"));
  if (item.fallback) {
    // No text in the conversation's language: the key's own text, in its locale.
    const badge = el("span", "badge badge-fallback", `${String(item.locale).toUpperCase()} text`);
    badge.title = "This template has no text in the conversation's language yet";
    head.append(badge);
  }
  if (rejected) head.append(el("span", "pick-state", "not this one"));
  else if (picked) head.append(el("span", "pick-state", picked === "saved" ? "saved" : "copied"));
  if (onReject && !rejected) {
    // Feedback for the ranker's review, not a pick: the click must not insert the template.
    const button = el("button", "reject", "✕");
    button.type = "button";
    button.title = "Not this one (x)";
    button.setAttribute("aria-label", `Not this one: ${item.title || item.key}`);
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      onReject();
    });
    head.append(button);
  }
  li.append(head, renderBody(item.body), ...renderFields(item));
  li.addEventListener("click", onPick);
  return li;
}

/** A body with its unfilled `[[name]]` markers wrapped in <mark>, built as text nodes only. */
function renderBody(body) {
  const p = el("p", "body");
  for (const part of splitPlaceholders(body)) {
    if (part.placeholder) {
      const mark = el("mark", "unfilled", part.text);
      mark.title = `Fill in ${part.name}`;
      p.append(mark);
    } else {
      p.append(document.createTextNode(part.text));
    }
  }
  return p;
}
