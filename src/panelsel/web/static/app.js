// panelsel serve: the quota form's live verdict. Without this script the "Check" button
// does the same by reloading the page.
(function () {
  "use strict";
  var form = document.getElementById("quota-form");
  if (!form || !window.fetch) { return; }
  var target = document.getElementById("verdict");
  var timer = null;
  var asked = 0;
  // Select and Compare wait while the verdict says the quotas cannot be met (or a value
  // is not a number); the server refuses such a run anyway, with the same message.
  function blockIfNeeded() {
    var state = document.getElementById("verdict-state");
    var blocked = !!state && state.getAttribute("data-blocked") === "yes";
    ["select", "compare"].forEach(function (id) {
      var button = document.getElementById(id);
      if (button) { button.disabled = blocked; }
    });
    var note = document.getElementById("select-blocked");
    if (note) { note.hidden = !blocked; }
  }
  function check() {
    var mine = ++asked;
    var data = new FormData(form);
    fetch(form.getAttribute("data-check"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) { if (mine === asked) { target.innerHTML = html; blockIfNeeded(); } })
      .catch(function () { /* the Check button still works */ });
  }
  form.addEventListener("input", function (event) {
    if (!event.target.classList.contains("num") && event.target.id !== "panel_size") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  });
}());
