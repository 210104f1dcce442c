// Print buttons (the portal card, a prize receipt): shown only when this script runs
// (Ctrl+P works without it). No inline script: the CSP allows only files from 'self'.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("#print-card, [data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
