// The protocol builder, progressively enhanced. Without this script every field
// shows, and "Preview costs" previews; the form works the same either way.
"use strict";

// Show only the fields of the schedule type chosen (a hidden field is still
// posted, and the server ignores what the type does not use).
function showFieldsOf(select) {
  const schedule = select.closest("fieldset.schedule");
  for (const field of schedule.querySelectorAll("[data-types]")) {
    field.hidden = !field.dataset.types.split(" ").includes(select.value);
  }
}

for (const select of document.querySelectorAll(".builder .schedule-type select")) {
  showFieldsOf(select);
  select.addEventListener("change", () => showFieldsOf(select));
}

// A live preview: a second after the last edit, post the form as "Preview costs"
// would and put the costs it shows in place. Nothing is saved by a preview.
const form = document.querySelector("form.builder");
const status = document.getElementById("preview-status");
let timer = null;
let latest = 0;

async function refreshPreview() {
  const request = ++latest;
  const data = new FormData(form);
  data.set("preview", "1");
  let response;
  try {
    response = await fetch(form.action, { method: "POST", body: data });
  } catch {
    return; // offline or the server is away: the button still works
  }
  if (request !== latest) return; // a later edit has its own preview coming
  const shown = document.getElementById("preview-result");
  if (!response.ok) {
    if (shown) shown.remove(); // its costs are of a form that is no longer there
    status.textContent = "Preview waits for the form to be valid: press Preview costs to see what to fix.";
    return;
  }
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("preview-result");
  if (!fresh) return; // not the builder (a login page after a time-out)
  if (shown) shown.replaceWith(fresh);
  else form.querySelector(".builder-actions").before(fresh);
  status.textContent = "Preview updated.";
}

function previewSoon() {
  clearTimeout(timer);
  timer = setTimeout(refreshPreview, 1000);
}

if (form && status) {
  form.addEventListener("input", previewSoon);
  form.addEventListener("change", previewSoon);
}
