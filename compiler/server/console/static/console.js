// The console's progressive enhancements; every page works without this file.
// Served by polc serve itself (CSP script-src 'self'): no inline script, nothing from elsewhere.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Filter the scopes table as the operator types (the form still filters on the server by GET).
  for (const input of document.querySelectorAll("input[data-live-filter]")) {
    const table = document.getElementById(input.dataset.liveFilter);
    const empty = document.getElementById(input.dataset.liveFilter + "-empty");
    if (!table) continue;
    const rows = Array.from(table.querySelectorAll("tbody tr[data-filter]"));
    const apply = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows) {
        const text = row.dataset.filter;
        const match = words.every((w) => text.includes(w));
        row.hidden = !match;
        if (match) shown += 1;
      }
      if (empty) empty.hidden = shown > 0 || rows.length === 0;
    };
    input.addEventListener("input", apply);
  }

  // A copy button beside every command and the checkpoint.
  for (const block of document.querySelectorAll("pre.copyable")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", async () => {
      const text = block.textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch (err) {
        const range = document.createRange();
        range.selectNodeContents(block);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
    block.insertAdjacentElement("beforebegin", button);
  }
});
