// The protocol builder, progressively: show only the fields of the schedule type
// chosen. Without this script every field shows and the form works the same (a
// hidden field is still posted, and the server ignores what the type does not use).
"use strict";

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
