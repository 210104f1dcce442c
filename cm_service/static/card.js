// The portal card's Print button: shown only when this script runs (Ctrl+P works
// without it). No inline script: the CSP allows only files from 'self'.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print-card");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
