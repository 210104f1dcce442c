// A form posted after the session expired (staff/drafts.py): fill its values into
// the form on this page that posts to the same path, and put the "Not saved yet"
// banner above it. Without such a form the banner keeps its list of values open.
(function () {
  "use strict";
  var data = document.getElementById("draft-data");
  var notice = document.getElementById("draft");
  if (!data || !notice) {
    return;
  }
  var draft;
  try {
    draft = JSON.parse(data.textContent);
  } catch (error) {
    return;
  }
  var where = document.getElementById("draft-where");
  var list = document.getElementById("draft-values");
  // Left as the page made them: the new form's own CSRF token and nonce, and what
  // a draft never holds (passwords, files).
  var SKIP = ["hidden", "password", "file", "submit", "button", "reset", "image"];

  function pathOf(form) {
    var action = form.getAttribute("action") || window.location.href;
    return new URL(action, window.location.href).pathname;
  }

  var form = null;
  for (var i = 0; i < document.forms.length; i += 1) {
    var candidate = document.forms[i];
    if (candidate.method.toLowerCase() === "post" && pathOf(candidate) === draft.path) {
      form = candidate;
      break;
    }
  }
  if (!form) {
    where.textContent =
      "Your session ended before this form was saved, and this page no longer " +
      "has that form. What you had entered is listed below: enter it again where " +
      "it belongs.";
    return;
  }

  var values = {};
  draft.fields.forEach(function (pair) {
    if (!Object.prototype.hasOwnProperty.call(values, pair[0])) {
      values[pair[0]] = [];
    }
    values[pair[0]].push(pair[1]);
  });

  function changed(element) {
    element.dispatchEvent(new Event("input", { bubbles: true }));
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  var next = {}; // per name: the next value for a repeated text field
  var first = null; // focused, so Enter submits this form, not the page's autofocus
  Array.prototype.forEach.call(form.elements, function (element) {
    var name = element.name;
    var type = (element.type || "").toLowerCase();
    if (!name || SKIP.indexOf(type) !== -1) {
      return;
    }
    first = first || element;
    var posted = values[name];
    if (type === "checkbox") {
      // A box left unticked is not posted at all.
      element.checked = !!posted && posted.indexOf(element.value) !== -1;
      changed(element);
      return;
    }
    if (!posted) {
      return;
    }
    if (type === "radio") {
      element.checked = posted.indexOf(element.value) !== -1;
    } else if (element.tagName === "SELECT" && element.multiple) {
      Array.prototype.forEach.call(element.options, function (option) {
        option.selected = posted.indexOf(option.value) !== -1;
      });
    } else {
      var n = next[name] || 0;
      if (n >= posted.length) {
        return;
      }
      element.value = posted[n];
      next[name] = n + 1;
    }
    changed(element);
  });

  where.textContent =
    "Your session ended before this form was saved. The form below is filled in " +
    "with what you had entered.";
  list.open = false;
  form.parentNode.insertBefore(notice, form);
  notice.classList.add("draft-filled");
  if (first) {
    first.focus();
  }
  notice.scrollIntoView({ block: "start" });
})();
