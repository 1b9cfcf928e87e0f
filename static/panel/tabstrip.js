// The tab strip at side-panel width: as many whole tabs as fit, the active one always among
// them, and the rest in a "+N more" menu (a <select>: keyboards and screen readers know it).
// A tab is never cut at the strip's edge. Runs after renderTabs (views.js) has drawn them all.

import { el } from "./dom.js";

/**
 * Hides the tabs that do not fit in `strip` and lists them in `menu`, the strip's sibling.
 * It measures the drawn tabs: call it after every renderTabs and when the strip is resized.
 */
export function fitTabs(strip, menu) {
  const tabs = [...strip.querySelectorAll(".tab")];
  for (const tab of tabs) tab.hidden = false;
  menu.hidden = true;
  if (tabs.length === 0 || strip.scrollWidth <= strip.clientWidth) {
    menu.replaceChildren();
    return;
  }
  menu.hidden = false; // first, so that the strip's width below is what is left beside it
  const style = getComputedStyle(strip);
  const gap = Number.parseFloat(style.columnGap) || 0;
  const room =
    strip.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
  const widths = tabs.map((tab) => tab.offsetWidth);
  const active = Math.max(
    0,
    tabs.findIndex((tab) => tab.classList.contains("active")),
  );

  // The active tab, then the others in strip order while they fit.
  const shown = new Set([active]);
  let used = widths[active];
  for (let index = 0; index < tabs.length; index += 1) {
    if (shown.has(index)) continue;
    if (used + gap + widths[index] > room) break;
    shown.add(index);
    used += gap + widths[index];
  }
  const hidden = tabs.filter((_, index) => !shown.has(index));
  for (const tab of hidden) tab.hidden = true;

  const label = el("option", "", `+${hidden.length} more`);
  label.value = "";
  label.disabled = true;
  label.selected = true;
  const options = hidden.map((tab) => {
    // The name alone (the tab's first text), with a dot when it has new suggestions.
    const name = tab.firstChild?.textContent ?? tab.textContent;
    const option = el("option", "", tab.classList.contains("unseen") ? `• ${name}` : name);
    option.value = tab.dataset.conversation;
    return option;
  });
  menu.replaceChildren(label, ...options);
  menu.setAttribute("aria-label", `${hidden.length} more open chats`);
}
