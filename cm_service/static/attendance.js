// Attendance pages, progressively enhanced: without this script every field shows
// and each member is marked one by one; the forms post the same either way.
"use strict";

// "Mark everyone attended": members still marked Absent become Attended; a mark
// already chosen (Late, Excused) stays.
const markAll = document.getElementById("mark-all");
if (markAll) {
  markAll.hidden = false;
  markAll.addEventListener("click", () => {
    for (const member of document.querySelectorAll(".roster .member fieldset")) {
      const absent = member.querySelector('input[type="radio"][value=""]');
      const attended = member.querySelector('input[type="radio"][value="attended"]');
      if (absent && attended && absent.checked) attended.checked = true;
    }
  });
}

// The single check-in: how an off-site meeting was confirmed matters only for
// off-site session types, so the questions show only for those.
const sessionType = document.getElementById("a-session_type");
const offSite = document.getElementById("a-offsite");
if (sessionType && offSite) {
  const types = offSite.dataset.types.split(" ");
  const show = () => {
    // Kept visible while it shows an error, so the message is never hidden.
    offSite.hidden = !types.includes(sessionType.value) && !offSite.querySelector(".error");
    offSite.disabled = offSite.hidden; // a hidden answer is not sent either
  };
  show();
  sessionType.addEventListener("change", show);
}
