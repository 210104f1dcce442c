// The draw screen's results arrive with the page, and a live region announces only
// what changes in it: once the page has loaded, put the results' words into the
// (empty) region so a screen reader reads them out.
document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("draw-announce");
  const words = region && region.dataset.say;
  if (words) {
    window.setTimeout(() => { region.textContent = words; }, 250);
  }
});
